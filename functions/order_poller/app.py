"""Order poller: on its one-minute EventBridge schedule, every enabled channel whose cadence is due
(the adapter's `order_poll_minutes`, within the channel API's rate limits) downloads the orders that
changed since its last window, page by page, and imports them (allocate / release / ship).

Channels that push order changes (Amazon ORDER_CHANGE) are subscribed to the order notification
queue on their first tick; the poll is then their safety net. Doubled ticks are harmless.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.secrets import SecretsManagerStore
from stocksync.core.settings import get_settings
from stocksync.orders.poller import OrderPoller
from stocksync.wiring import services


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app, settings = services(), get_settings()
    poller = OrderPoller(app.order_book, SecretsManagerStore(), app.automation_log,
                         notification_queue_arn=settings.order_notification_queue_arn,
                         cadence_speedup=settings.order_poll_speedup)
    outcomes = poller.tick()
    logger.info("Order poller tick", extra={"outcomes": outcomes})
    return {"channels": outcomes}
