"""The stock queue side of the submitter: one coalesced run per SQS batch, and the verdict per
message for Powertools' partial batch response. A message whose listings hit a throttled or
failing channel goes back to the queue with a delay (ChangeMessageVisibility), never dropped."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from stocksync.core.aws import client
from stocksync.core.chunks import batched
from stocksync.core.messages import SQS_BATCH, StockChange, parse_stock_change
from stocksync.core.observability import METRIC_CHANGE_TO_SUBMISSION_SECONDS, logger, publish
from stocksync.stock_sync.submitter import StockSubmitter, SyncOutcome

MAX_VISIBILITY_S = 900  # a throttled message is back within 15 minutes at the latest
MIN_VISIBILITY_S = 5


class QueueRecordAttributes(Protocol):
    @property
    def sent_timestamp(self) -> str: ...  # epoch milliseconds, when the message was sent


class QueueRecord(Protocol):
    @property
    def message_id(self) -> str: ...

    @property
    def receipt_handle(self) -> str: ...

    @property
    def body(self) -> str: ...

    @property
    def attributes(self) -> QueueRecordAttributes: ...


class RetryLater(Exception):
    """Fails one record of the batch: its listings go again after the delay."""


@dataclass
class BatchVerdict:
    outcome: SyncOutcome
    unreadable: dict[str, str] = field(default_factory=dict)

    def check(self, record: QueueRecord) -> None:
        """Powertools' record handler: raise to return this record to the queue."""
        if record.message_id in self.unreadable:
            raise ValueError(f"unreadable stock message: {self.unreadable[record.message_id]}")
        if record.message_id in self.outcome.retry:
            raise RetryLater(f"retry in {self.outcome.retry[record.message_id]:.0f}s")


class VisibilityDelayer(Protocol):
    def delay(self, records: Sequence[tuple[QueueRecord, float]]) -> None: ...


class SqsVisibilityDelayer:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def delay(self, records: Sequence[tuple[QueueRecord, float]]) -> None:
        entries = [{"Id": str(n), "ReceiptHandle": record.receipt_handle,
                    "VisibilityTimeout": int(min(max(wait, MIN_VISIBILITY_S), MAX_VISIBILITY_S))}
                   for n, (record, wait) in enumerate(records)]
        for batch in batched(entries, SQS_BATCH):
            answer = client("sqs").change_message_visibility_batch(QueueUrl=self.queue_url, Entries=batch)
            if answer.get("Failed"):  # the message comes back at the queue's own timeout instead
                logger.warning("Visibility change refused", extra={"failed": answer["Failed"]})


def run_stock_batch(records: Sequence[QueueRecord], submitter: StockSubmitter, delayer: VisibilityDelayer, *,
                    clock: Callable[[], float] = time.time) -> BatchVerdict:
    """Coalesce every readable message of the batch into one reconciliation."""
    messages: dict[str, StockChange] = {}
    unreadable: dict[str, str] = {}
    for record in records:
        try:
            messages[record.message_id] = parse_stock_change(record.body)
        except (ValueError, ValidationError) as exc:
            unreadable[record.message_id] = str(exc)[:300]
    outcome = submitter.reconcile(messages) if messages else SyncOutcome()
    sent = [at for record in records if record.message_id in messages and (at := _sent_at_ms(record)) is not None]
    if (outcome.sent or outcome.pending) and sent:
        # How long the oldest change of the batch (a sale, a count) waited to reach the channels.
        publish(METRIC_CHANGE_TO_SUBMISSION_SECONDS, max(clock() - min(sent) / 1000, 0.0), MetricUnit.Seconds)
    waits = [(record, outcome.retry[record.message_id]) for record in records if record.message_id in outcome.retry]
    if waits:
        delayer.delay(waits)
    logger.info("Stock batch", extra={"messages": len(records), "sent": outcome.sent, "unchanged": outcome.unchanged,
                                      "errors": outcome.errors, "retry": len(waits)})
    return BatchVerdict(outcome, unreadable)


def _sent_at_ms(record: QueueRecord) -> int | None:
    """When SQS took the message; None when the record does not say (a metric never fails a batch)."""
    try:
        return int(record.attributes.sent_timestamp)
    except (KeyError, TypeError, ValueError):
        return None
