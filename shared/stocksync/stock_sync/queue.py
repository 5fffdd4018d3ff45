"""The stock queue side of the submitter: one coalesced run per SQS batch and whatever else waits on
the queue, and the verdict per message. A message whose listings hit a throttled or failing channel
goes back to the queue with a delay (ChangeMessageVisibility), never dropped.

The event source hands over at most 10 messages (it has no batching window, so a sale is not held
back); the function then takes what else is waiting itself, so a burst of 1,000 sales is still one
run, one bulk call per channel. Messages name items, never quantities: a message run twice (SQS
delivers at least once, and may hand a message to the event source and to the drain) does no harm."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from stocksync.core.aws import client
from stocksync.core.chunks import batched
from stocksync.core.messages import SQS_BATCH, StockChange, parse_stock_change
from stocksync.core.observability import METRIC_CHANGE_TO_SUBMISSION_SECONDS, logger, publish
from stocksync.stock_sync.submitter import StockSubmitter, SyncOutcome

MAX_VISIBILITY_S = 900  # a throttled message is back within 15 minutes at the latest
MIN_VISIBILITY_S = 5
# What one run takes from the queue besides its event's batch: a burst of 1,000 sales, within a few
# seconds of receives (SQS answers one in about 10 ms), so the batch's own changes are not held back
# long and the run stays well inside the function's 60 s.
DRAIN_MAX_MESSAGES = 1000
DRAIN_MAX_S = 3.0


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


@dataclass(frozen=True)
class ReceivedAttributes:
    sent_timestamp: str


@dataclass(frozen=True)
class ReceivedMessage:
    """A message the function took from the queue itself, read as the event's records are."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: ReceivedAttributes

    @classmethod
    def of(cls, message: dict[str, Any]) -> ReceivedMessage:
        """From a ReceiveMessage answer's message."""
        sent = str((message.get("Attributes") or {}).get("SentTimestamp", ""))
        return cls(message["MessageId"], message["ReceiptHandle"], message.get("Body", ""), ReceivedAttributes(sent))


class QueueDrain(Protocol):
    """What else waits on the stock queue: taken by the run, and deleted by it once done with."""

    def receive(self) -> Sequence[QueueRecord]: ...

    def delete(self, records: Sequence[QueueRecord]) -> None: ...


class SqsQueueDrain:
    """Receives what is visible on the queue, 10 at a time without waiting, until an answer is empty
    or the caps are reached; the messages stay in flight (the queue's visibility timeout) until
    deleted, delayed, or their time is up."""

    def __init__(self, queue_url: str, *, max_messages: int = DRAIN_MAX_MESSAGES, max_seconds: float = DRAIN_MAX_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.queue_url, self.max_messages, self.max_seconds, self.clock = queue_url, max_messages, max_seconds, clock

    def receive(self) -> list[ReceivedMessage]:
        received: list[ReceivedMessage] = []
        deadline = self.clock() + self.max_seconds
        while len(received) < self.max_messages and self.clock() < deadline:
            try:
                answer = client("sqs").receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=min(SQS_BATCH, self.max_messages - len(received)),
                    WaitTimeSeconds=0, MessageSystemAttributeNames=["SentTimestamp"])
            except Exception:  # the batch goes on alone; what waits comes with the next invocation
                logger.warning("Receiving the waiting stock messages failed", exc_info=True)
                return received
            messages = answer.get("Messages") or []
            if not messages:
                return received
            received.extend(ReceivedMessage.of(message) for message in messages)
        # Messages may still be waiting: they go with the next invocation (one more call per channel).
        logger.info("Stock queue drain stopped at its cap", extra={"drained": len(received)})
        return received

    def delete(self, records: Sequence[QueueRecord]) -> None:
        entries = [{"Id": str(n), "ReceiptHandle": record.receipt_handle} for n, record in enumerate(records)]
        for batch in batched(entries, SQS_BATCH):
            answer = client("sqs").delete_message_batch(QueueUrl=self.queue_url, Entries=batch)
            if answer.get("Failed"):  # it comes back and is reconciled again: harmless
                logger.warning("Delete refused", extra={"failed": answer["Failed"]})


def run_stock_batch(records: Sequence[QueueRecord], submitter: StockSubmitter, delayer: VisibilityDelayer, *,
                    drain: QueueDrain | None = None, clock: Callable[[], float] = time.time) -> BatchVerdict:
    """Coalesce every readable message of the batch, and what `drain` takes from the queue besides,
    into one reconciliation.

    The batch's records get their verdict from the returned BatchVerdict (Powertools' partial batch
    response). The drained messages are settled here, as the event source settles the batch: done
    ones deleted, ones to retry delayed like the batch's, unreadable ones left alone (they come back
    at the queue's visibility timeout and reach the dead-letter queue by its redrive policy). If the
    run raises, nothing is deleted: every message comes back."""
    extra = list(drain.receive()) if drain is not None else []
    everything = [*records, *extra]
    messages: dict[str, StockChange] = {}
    unreadable: dict[str, str] = {}
    for record in everything:
        try:
            messages[record.message_id] = parse_stock_change(record.body)
        except (ValueError, ValidationError) as exc:
            unreadable[record.message_id] = str(exc)[:300]
    outcome = submitter.reconcile(messages) if messages else SyncOutcome()
    sent = [at for record in everything if record.message_id in messages and (at := _sent_at_ms(record)) is not None]
    if (outcome.sent or outcome.pending) and sent:
        # How long the oldest change of the run (a sale, a count) waited to reach the channels.
        publish(METRIC_CHANGE_TO_SUBMISSION_SECONDS, max(clock() - min(sent) / 1000, 0.0), MetricUnit.Seconds)
    waits = [(record, outcome.retry[record.message_id]) for record in everything
             if record.message_id in outcome.retry]
    if waits:
        delayer.delay(waits)
    done = [record for record in extra if record.message_id in messages and record.message_id not in outcome.retry]
    if drain is not None and done:
        drain.delete(done)
    logger.info("Stock batch", extra={"messages": len(records), "drained": len(extra), "sent": outcome.sent,
                                      "unchanged": outcome.unchanged, "errors": outcome.errors, "retry": len(waits)})
    return BatchVerdict(outcome, unreadable)


def _sent_at_ms(record: QueueRecord) -> int | None:
    """When SQS took the message; None when the record does not say (a metric never fails a batch)."""
    try:
        return int(record.attributes.sent_timestamp)
    except (KeyError, TypeError, ValueError):
        return None
