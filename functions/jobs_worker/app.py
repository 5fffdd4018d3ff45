"""Jobs worker: runs queued jobs (PIM runs, create-all, imports...), one record at a time.

A failed record goes back to the queue (partial batch failure) and, after the queue's
maxReceiveCount, to its dead-letter queue; the job handlers are idempotent on the job id.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.core.jobs import run_job
from stocksync.core.messages import parse_job_message
from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.settings import JobsWorkerSettings
from stocksync.wiring import wiring

processor = BatchProcessor(event_type=EventType.SQS)
app = partial(wiring, JobsWorkerSettings)  # this function's objects, built on first use
app()  # a missing variable fails the cold start, naming it


def run_record(record: SQSRecord, lambda_context: LambdaContext) -> None:
    message = parse_job_message(record.body)
    # The job's keys on its own log lines only, not on the next record's (or, locally, another function's).
    with logger.append_context_keys(job_id=message.job_id, job_kind=message.kind):
        run_job(message, app().job_handlers, time_left=lambda: lambda_context.get_remaining_time_in_millis() / 1000)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> Mapping[str, Any]:
    return process_partial_response(event=event, record_handler=run_record, processor=processor, context=context)
