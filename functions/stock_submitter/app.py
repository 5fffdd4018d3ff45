"""Stock submitter: on the stock queue, brings every linked listing of the named items to its target
quantity, per channel in bulk calls; on its 15-minute schedule, runs the scheduled sync.

A message whose channel throttled or failed goes back to the queue with a delay (partial batch
failure); everything it names is recomputed from the current stock when it comes back.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.jobs import JobQueue
from stocksync.observability import logger, metrics, tracer
from stocksync.runtime import bind_table_from_settings
from stocksync.secrets import SecretsManagerStore
from stocksync.stock_sync.queue import SqsVisibilityDelayer, run_stock_batch
from stocksync.stock_sync.rate_limit import TableRateLimiter
from stocksync.stock_sync.scheduled import run_scheduled_sync
from stocksync.stock_sync.submitter import StockSubmitter

processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = bind_table_from_settings()
    submitter = StockSubmitter(SecretsManagerStore(), rate_limiter=TableRateLimiter())
    if "Records" not in event:  # the EventBridge schedule
        return run_scheduled_sync(submitter, time_left=lambda: context.get_remaining_time_in_millis() / 1000,
                                  job_queue=JobQueue(settings.jobs_queue_url))
    records = [SQSRecord(raw) for raw in event["Records"]]
    verdict = run_stock_batch(records, submitter, SqsVisibilityDelayer(settings.stock_queue_url))
    return process_partial_response(event=event, record_handler=verdict.check, processor=processor, context=context)
