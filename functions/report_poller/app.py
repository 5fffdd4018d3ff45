"""Report poller: on each EventBridge schedule tick, every enabled channel the schedule serves takes
one step of its catalogue retrieval (request / poll / download to the bucket).

Schedules (template.yaml) pass {"schedule": "frequent"} every 5 minutes (Amazon, eBay, Magento,
Pixmania, websites, and any forced Rakuten refresh) or {"schedule": "rakuten"} every 30 minutes.
Every step is idempotent: a retried or doubled tick never requests two reports or writes two documents.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from stocksync.catalogue.documents import CatalogueBucket
from stocksync.catalogue.retrieval import FREQUENT, CatalogueRequests
from stocksync.channels.store import ChannelStore
from stocksync.core.automation_log import AutomationLog
from stocksync.core.messages import SqsStockQueue
from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.runtime import bind_table_from_settings
from stocksync.core.secrets import SecretsManagerStore
from stocksync.inventory.locations import Locations


class PollerEvent(BaseModel):
    schedule: str = FREQUENT


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = bind_table_from_settings()
    tick = PollerEvent.model_validate({k: v for k, v in (event or {}).items() if k == "schedule"})
    credentials = SecretsManagerStore()
    channels = ChannelStore(SqsStockQueue(settings.stock_queue_url), credentials, Locations(), settings.secrets_prefix)
    requests = CatalogueRequests(channels, credentials, CatalogueBucket(settings.catalogue_bucket), AutomationLog())
    outcomes = requests.tick(tick.schedule)
    logger.info("Report poller tick", extra={"schedule": tick.schedule, "outcomes": outcomes})
    return {"schedule": tick.schedule, "channels": outcomes}
