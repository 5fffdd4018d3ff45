"""Catalogue ingestion: S3 ObjectCreated notifications and load fan-out tasks from the ingest queue.

Each record is one notification (start a load) or one task (read a byte range, apply a partition).
A record that fails for good (a file we cannot read, a bug) fails its load at once and is not
retried; a transient failure goes back to the queue after a back-off (partial batch failure), and
fails the load on the queue's last receive. Loads are idempotent on the object's bucket, key,
version/ETag and S3 sequencer, so a duplicate or retried record loads once.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.catalogue.ingest_messages import handle_ingest_record
from stocksync.core.messages import INGEST_MAX_RECEIVES, Delivery, visibility_changer
from stocksync.core.observability import logger, metrics, tracer
from stocksync.core.settings import CatalogueIngestSettings
from stocksync.wiring import wiring

processor = BatchProcessor(event_type=EventType.SQS)
app = partial(wiring, CatalogueIngestSettings)  # this function's objects, built on first use
app()  # a missing variable fails the cold start, naming it


def ingest(record: SQSRecord) -> None:
    loads = handle_ingest_record(app().catalogue_loader, record.body,
                                 Delivery.of(record.raw_event.get("attributes"), INGEST_MAX_RECEIVES),
                                 visibility_changer(app().settings.ingest_queue_url, record.receipt_handle))
    logger.info("ingest record handled", extra={"load_ids": loads})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> Mapping[str, Any]:
    return process_partial_response(event=event, record_handler=ingest, processor=processor, context=context)
