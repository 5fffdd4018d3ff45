"""Report poller: on each EventBridge schedule tick, every enabled channel the schedule serves takes
one step of its catalogue retrieval (request / poll / download to the bucket).

Schedules (template.yaml) pass {"schedule": "frequent"} every 5 minutes (Amazon, eBay, Magento,
Pixmania, websites, and any forced Rakuten refresh) or {"schedule": "rakuten"} every 30 minutes.
Every step is idempotent: a retried or doubled tick never requests two reports or writes two documents.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from stocksync.catalogue.retrieval import FREQUENT
from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.settings import ReportPollerSettings
from stocksync.wiring import wiring

app = partial(wiring, ReportPollerSettings)  # this function's objects, built on first use
app()  # a missing variable fails the cold start, naming it


class PollerEvent(BaseModel):
    schedule: str = FREQUENT


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    tick = PollerEvent.model_validate({k: v for k, v in (event or {}).items() if k == "schedule"})
    outcomes = app().catalogue_requests.tick(tick.schedule)
    logger.info("Report poller tick", extra={"schedule": tick.schedule, "outcomes": outcomes})
    return {"schedule": tick.schedule, "channels": outcomes}
