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

from stocksync.core.jobs import JobQueue
from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.runtime import bind_table_from_settings
from stocksync.core.secrets import SecretsManagerStore
from stocksync.stock_sync.queue import SqsVisibilityDelayer, run_stock_batch
from stocksync.stock_sync.rate_limit import TableRateLimiter
from stocksync.stock_sync.scheduled import run_scheduled_sync
from stocksync.stock_sync.submitter import StockSubmitter

processor = BatchProcessor(event_type=EventType.SQS)
QUEUE_MAX_WAIT_S = 1.0


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = bind_table_from_settings()
    # A channel whose budget is spent for longer than a moment (Mirakl: one offers update a minute)
    # gets its listings back on the queue with that delay; waiting for it here would hold up every
    # other channel of the batch, and the next sale behind it.
    submitter = StockSubmitter(SecretsManagerStore(), rate_limiter=TableRateLimiter(max_wait_s=QUEUE_MAX_WAIT_S))
    if "Records" not in event:  # the EventBridge schedule
        return run_scheduled_sync(submitter, time_left=lambda: context.get_remaining_time_in_millis() / 1000,
                                  job_queue=JobQueue(settings.jobs_queue_url))
    records = [SQSRecord(raw) for raw in event["Records"]]
    verdict = run_stock_batch(records, submitter, SqsVisibilityDelayer(settings.stock_queue_url))
    return process_partial_response(event=event, record_handler=verdict.check, processor=processor, context=context)
