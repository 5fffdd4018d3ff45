"""Auto-mapper: links a channel's unlinked listings to items by SKU (or barcode / ASIN), one channel
per mapping-queue message (sent after each catalogue load and by POST /channels/{id}/mapping/auto-link).

A failing record goes back to the queue (partial batch failure) and, after maxReceiveCount, to the
dead-letter queue. A repeated message is harmless: its run is one job (by job id or load id), and a
run only links listings that are still unlinked.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.core.observability import logger, metrics, tracer
from stocksync.mapping.bulk import handle_mapping_message
from stocksync.mapping.service import MappingMessage
from stocksync.wiring import services

processor = BatchProcessor(event_type=EventType.SQS)


def auto_link(record: SQSRecord) -> None:
    message = MappingMessage.model_validate(json.loads(record.body))
    logger.append_keys(channel_id=message.channel_id, load_id=message.load_id)
    result = handle_mapping_message(services().mapping, message)
    if result is not None:
        logger.info("auto-link run", extra={k: v for k, v in result.items() if k != "ambiguous_listings"})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=auto_link, processor=processor, context=context)
