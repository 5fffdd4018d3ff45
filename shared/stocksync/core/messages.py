"""What goes on the stock queue: names of what to reconcile, never quantities.

The stock submitter (a later function) reads the current availability when it runs, so late,
duplicated or reordered messages do no harm.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Protocol

from pydantic import BaseModel, Field

from stocksync.core.aws import client

MAX_IDS_PER_MESSAGE = 100
SQS_BATCH = 10


class StockChange(BaseModel):
    """Reconcile these items on these channels. Empty `channel_ids` = every channel;
    `all_items` = every item of the named channels (a channel's locations changed, or it was enabled)."""

    reason: str
    item_ids: list[str] = Field(default_factory=list)
    channel_ids: list[str] = Field(default_factory=list)
    all_items: bool = False


class StockChangePublisher(Protocol):
    def publish(self, changes: Iterable[StockChange]) -> None: ...


class SqsStockQueue:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def publish(self, changes: Iterable[StockChange]) -> None:
        entries = [
            {"Id": str(index), "MessageBody": part.model_dump_json()}
            for index, part in enumerate(_split(changes))
        ]
        for start in range(0, len(entries), SQS_BATCH):
            batch = entries[start : start + SQS_BATCH]
            response = client("sqs").send_message_batch(QueueUrl=self.queue_url, Entries=batch)
            if response.get("Failed"):
                raise RuntimeError(f"stock queue refused {len(response['Failed'])} messages: {response['Failed']}")


class RecordingQueue:
    """A publisher that keeps what it was given: for tests and for callers that batch messages."""

    def __init__(self) -> None:
        self.changes: list[StockChange] = []

    def publish(self, changes: Iterable[StockChange]) -> None:
        self.changes.extend(changes)


def _split(changes: Iterable[StockChange]) -> Iterable[StockChange]:
    for change in changes:
        ids = sorted(set(change.item_ids))
        if len(ids) <= MAX_IDS_PER_MESSAGE:
            yield change.model_copy(update={"item_ids": ids})
            continue
        for start in range(0, len(ids), MAX_IDS_PER_MESSAGE):
            yield change.model_copy(update={"item_ids": ids[start : start + MAX_IDS_PER_MESSAGE]})


def parse_stock_change(body: str) -> StockChange:
    return StockChange.model_validate(json.loads(body))

