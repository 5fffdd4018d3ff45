"""What our queues carry, and the one way we put messages on them.

Stock-queue messages name what to reconcile, never quantities: the stock submitter reads current
availability when it runs, so late, duplicated or reordered messages do no harm. The other queues'
messages are just as idempotent: a mapping message names a channel (and the load that asked), a job
message a job and where to resume it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from pydantic import BaseModel, Field

from stocksync.core.aws import client
from stocksync.core.chunks import batched

MAX_IDS_PER_MESSAGE = 100
SQS_BATCH = 10  # SendMessageBatch / ChangeMessageVisibilityBatch take at most 10 entries
SQS_MAX_DELAY_S = 900


class StockChange(BaseModel):
    """Reconcile these items on these channels. Empty `channel_ids` = every channel;
    `all_items` = every item of the named channels (a channel's locations changed, or it was enabled)."""

    reason: str
    item_ids: list[str] = Field(default_factory=list)
    channel_ids: list[str] = Field(default_factory=list)
    all_items: bool = False


class MappingMessage(BaseModel):
    """What the mapping queue carries: auto-link this channel (after a load, or asked by the seller)."""

    channel_id: str = Field(min_length=1)
    load_id: str | None = None
    reason: str = "requested"
    job_id: str | None = None


class JobMessage(BaseModel):
    """What the jobs queue carries: which job to (continue to) run. `payload` says where to resume."""

    job_id: str
    kind: str
    payload: dict[str, Any] = Field(default_factory=dict)


def parse_stock_change(body: str) -> StockChange:
    return StockChange.model_validate(json.loads(body))


def parse_mapping_message(body: str) -> MappingMessage:
    return MappingMessage.model_validate(json.loads(body))


def parse_job_message(body: str) -> JobMessage:
    return JobMessage.model_validate(json.loads(body))


class SqsSender:
    """Puts messages on one queue, ten to a request; a message the queue refuses raises, naming the queue."""

    def __init__(self, queue_url: str, name: str) -> None:
        self.queue_url, self.name = queue_url, name

    def send(self, bodies: Iterable[BaseModel], *, delay_seconds: int = 0) -> None:
        delay = min(max(delay_seconds, 0), SQS_MAX_DELAY_S)
        for batch in batched(bodies, SQS_BATCH):
            entries = [{"Id": str(n), "MessageBody": body.model_dump_json(exclude_none=True), "DelaySeconds": delay}
                       for n, body in enumerate(batch)]
            answer = client("sqs").send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if answer.get("Failed"):
                raise RuntimeError(f"the {self.name} refused {len(answer['Failed'])} messages: {answer['Failed']}")


class StockChangePublisher(Protocol):
    def publish(self, changes: Iterable[StockChange]) -> None: ...


class SqsStockQueue:
    def __init__(self, queue_url: str) -> None:
        self.sender = SqsSender(queue_url, "stock queue")

    def publish(self, changes: Iterable[StockChange]) -> None:
        self.sender.send(_split(changes))


class RecordingQueue:
    """A publisher that keeps what it was given: for tests and for callers that batch messages."""

    def __init__(self) -> None:
        self.changes: list[StockChange] = []

    def publish(self, changes: Iterable[StockChange]) -> None:
        self.changes.extend(changes)


class MappingQueue(Protocol):
    def send(self, message: MappingMessage) -> None: ...


class SqsMappingQueue:
    def __init__(self, queue_url: str) -> None:
        self.sender = SqsSender(queue_url, "mapping queue")

    def send(self, message: MappingMessage) -> None:
        self.sender.send([message])


class JobQueue:
    """Sends job messages; a worker may send its own job again with a new payload to continue it."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        self.sender = SqsSender(queue_url, "jobs queue")

    def send(self, message: JobMessage, *, delay_seconds: int = 0) -> None:
        self.sender.send([message], delay_seconds=delay_seconds)


def _split(changes: Iterable[StockChange]) -> Iterator[StockChange]:
    for change in changes:
        for ids in batched(sorted(set(change.item_ids)), MAX_IDS_PER_MESSAGE) if change.item_ids else [[]]:
            yield change.model_copy(update={"item_ids": ids})
