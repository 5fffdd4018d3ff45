"""Auto-mapper: links a channel's unlinked listings to items by SKU (or barcode / ASIN), one channel
per mapping-queue message (sent after each catalogue load and by POST /channels/{id}/mapping/auto-link).

A run that fails for good (a bug, a refused request) fails its job at once and the record is not
retried; a transient failure goes back to the queue (partial batch failure) and, on maxReceiveCount,
fails the job and goes to the dead-letter queue. A repeated message is harmless: its run is one job
(by job id or load id), and a run only links listings that are still unlinked.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.core.messages import MAPPING_MAX_RECEIVES, Delivery, parse_mapping_message
from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.settings import AutoMapperSettings
from stocksync.mapping.bulk import handle_mapping_delivery
from stocksync.wiring import wiring

processor = BatchProcessor(event_type=EventType.SQS)
app = partial(wiring, AutoMapperSettings)  # this function's objects, built on first use
app()  # a missing variable fails the cold start, naming it


def auto_link(record: SQSRecord) -> None:
    message = parse_mapping_message(record.body)  # an unreadable one raises: back to the queue, as before
    # The record's keys on its own log lines only, not on the next record's (or, locally, another function's).
    with logger.append_context_keys(channel_id=message.channel_id, load_id=message.load_id):
        handle_mapping_delivery(app().mapping, message,
                                Delivery.of(record.raw_event.get("attributes"), MAPPING_MAX_RECEIVES))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> Mapping[str, Any]:
    return process_partial_response(event=event, record_handler=auto_link, processor=processor, context=context)
