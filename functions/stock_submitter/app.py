"""Stock submitter: on the stock queue, brings every linked listing of the named items to its target
quantity, per channel in bulk calls (the event's batch and whatever else waits on the queue, in one
run); on its 15-minute schedule, runs the scheduled sync.

A message whose channel throttled or failed goes back to the queue with a delay (partial batch
failure); everything it names is recomputed from the current stock when it comes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.settings import StockSubmitterSettings
from stocksync.stock_sync.queue import run_stock_batch
from stocksync.stock_sync.scheduled import run_scheduled_sync
from stocksync.wiring import wiring

processor = BatchProcessor(event_type=EventType.SQS)
app = partial(wiring, StockSubmitterSettings)  # this function's objects, built on first use
app()  # a missing variable fails the cold start, naming it


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    wired = app()
    if "Records" not in event:  # the EventBridge schedule
        def time_left() -> float:
            return context.get_remaining_time_in_millis() / 1000

        return run_scheduled_sync(wired.queue_submitter, time_left=time_left, handover=wired.sync_handover)
    records = [SQSRecord(raw) for raw in event["Records"]]
    verdict = run_stock_batch(records, wired.queue_submitter, wired.visibility_delayer, drain=wired.stock_queue_drain)
    return process_partial_response(event=event, record_handler=verdict.check, processor=processor, context=context)
