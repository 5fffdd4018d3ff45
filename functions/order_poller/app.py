"""Order poller: on its one-minute EventBridge schedule, every enabled channel whose cadence is due
(the adapter's `order_poll_minutes`, within the channel API's rate limits) downloads the orders that
changed since its last window, page by page, and imports them (allocate / release / ship).

Channels that push order changes (Amazon ORDER_CHANGE) are subscribed to the order notification
queue on their first tick; the poll is then their safety net. Doubled ticks are harmless.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.settings import OrderPollerSettings
from stocksync.wiring import wiring

app = partial(wiring, OrderPollerSettings)  # this function's objects, built on first use
app()  # a missing variable fails the cold start, naming it
# The local stack runs its schedules faster than AWS (STOCKSYNC_SCHEDULE_SPEEDUP) and each channel's
# order cadence with them; AWS never sets this, so there it is 1.
CADENCE_SPEEDUP = float(os.environ.get("ORDER_POLL_SPEEDUP") or 1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes = app().order_poller(cadence_speedup=CADENCE_SPEEDUP).tick()
    logger.info("Order poller tick", extra={"outcomes": outcomes})
    return {"channels": outcomes}
