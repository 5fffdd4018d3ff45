"""Order notifications: Amazon's ORDER_CHANGE notifications, delivered to the order notification
queue. Each names an account and an order: the order is fetched and imported at once (the fast path;
the order poller catches anything missed). A record that fails returns to the queue (partial batch
failure); importing is idempotent on the order's revision, so a retry changes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.settings import OrderNotificationsSettings
from stocksync.wiring import wiring

processor = BatchProcessor(event_type=EventType.SQS)
app = partial(wiring, OrderNotificationsSettings)  # this function's objects, built on first use
app()  # a missing variable fails the cold start, naming it


def record_handler(record: SQSRecord) -> None:
    outcomes = app().order_poller().notified(json.loads(record.body))
    logger.info("Order notification", extra={"message_id": record.message_id,
                                              "orders": [(o.order_id, o.outcome) for o in outcomes]})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
