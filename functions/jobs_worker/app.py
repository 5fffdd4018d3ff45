"""Jobs worker: runs queued jobs (PIM runs, create-all, imports...), one record at a time.

A job that fails for good (bad input, a refused request, a bug) is failed at once and its record
not retried; a transient failure goes back to the queue after a back-off (partial batch failure) and,
on the queue's maxReceiveCount, fails the job and goes to the dead-letter queue. The job handlers are
idempotent on the job id.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.core.jobs import Jobs, run_job_delivery
from stocksync.core.messages import JOBS_MAX_RECEIVES, Delivery, parse_job_message, visibility_changer
from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.settings import JobsWorkerSettings
from stocksync.wiring import wiring

processor = BatchProcessor(event_type=EventType.SQS)
app = partial(wiring, JobsWorkerSettings)  # this function's objects, built on first use
app()  # a missing variable fails the cold start, naming it


def run_record(record: SQSRecord, lambda_context: LambdaContext) -> None:
    try:
        message = parse_job_message(record.body)
    except ValueError:  # no job to run or to fail, now or on any retry: dropped, with the reason logged
        logger.exception("Unreadable jobs message dropped", extra={"body": record.body[:500]})
        return
    # The job's keys on its own log lines only, not on the next record's (or, locally, another function's).
    with logger.append_context_keys(job_id=message.job_id, job_kind=message.kind):
        run_job_delivery(message, app().job_handlers,
                         lambda: lambda_context.get_remaining_time_in_millis() / 1000,
                         delivery=Delivery.of(record.raw_event.get("attributes"), JOBS_MAX_RECEIVES),
                         retry_later=visibility_changer(app().settings.jobs_queue_url, record.receipt_handle),
                         jobs=Jobs())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> Mapping[str, Any]:
    return process_partial_response(event=event, record_handler=run_record, processor=processor, context=context)
