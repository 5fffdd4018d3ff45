"""PIM schedule: queues a run of every enabled sync profile (products updated since its last success)."""

from __future__ import annotations

from functools import partial

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.settings import PimSyncSettings
from stocksync.wiring import wiring

app = partial(wiring, PimSyncSettings)  # this function's objects, built on first use
app()  # a missing variable fails the cold start, naming it


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict:
    jobs = app().pim_runs.schedule(event.get_id)
    logger.info("PIM runs queued", extra={"runs": len(jobs)})
    return {"queued": [job.job_id for job in jobs]}
