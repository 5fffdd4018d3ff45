"""Stock levels per item and location, their history, and what is available to each channel."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import TransactWriteError

from stocksync.core import db
from stocksync.core.db import (
    ChannelRecord,
    ItemRecord,
    LocationRecord,
    StockHistoryRecord,
    StockLevelRecord,
    UniqueClaim,
)
from stocksync.core.errors import Conflict
from stocksync.core.messages import StockChange, StockChangePublisher
from stocksync.inventory.items import Inventory, ItemView
from stocksync.inventory.locations import Locations
from stocksync.inventory.rules import available
from stocksync.inventory.stock_tree import stock_nodes

MAX_ATTEMPTS = 12
BACKOFF_S = 0.01
IDEMPOTENCY_CLAIM = "STOCK_CHANGE"
IDEMPOTENCY_WINDOW = timedelta(days=7)
MAX_LEVEL = 10_000_000
# Positions of the operations in a stock change's transaction, to read which condition failed.
_ITEM_CHECK, _LOCATION_CHECK, _LEVEL, _HISTORY, _CLAIM = range(5)


class IdempotencyKeyReused(Conflict):
    """An idempotency key sent again with another change than the one it was first used for."""

    code = "idempotency_key_reused"


class StockSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = Field(ge=0, le=MAX_LEVEL)
    reason: str = Field(default="", max_length=500)


class StockAdjustment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delta: int = Field(ge=-MAX_LEVEL, le=MAX_LEVEL, description="Signed change, e.g. -2 for two units out")
    reason: str = Field(min_length=1, max_length=500)
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=100,
        description="Send the same key when retrying: the adjustment is applied once",
    )


@dataclass(frozen=True)
class StockResult:
    level: StockLevelRecord
    replayed: bool = False


@dataclass(frozen=True)
class ChannelAvailability:
    channel: ChannelRecord
    available: int


class StockBook:
    def __init__(self, queue: StockChangePublisher, inventory: Inventory, locations: Locations) -> None:
        self.queue = queue
        self.inventory = inventory
        self.locations = locations

    def set_level(self, item_id: str, location_id: str, data: StockSet) -> StockResult:
        return self._change(item_id, location_id, kind="set", reason=data.reason,
                            new_level=lambda _before: data.level)

    def adjust(self, item_id: str, location_id: str, data: StockAdjustment) -> StockResult:
        keyed = None if data.idempotency_key is None else KeyedChange(data.idempotency_key, item_id, location_id,
                                                                      data.delta)
        return self._change(item_id, location_id, kind="adjust", reason=data.reason,
                            new_level=lambda before: before + data.delta, keyed=keyed)

    def levels(self, item_id: str) -> list[StockLevelRecord]:
        view = self.inventory.get(item_id)
        by_location = {stock.location_id: stock for stock in view.stock}
        return [
            by_location.get(location.location_id) or _empty_level(item_id, location.location_id)
            for location in self.locations.list()
        ]

    def history(self, item_id: str, *, limit: int, cursor: str | None,
                location_id: str | None = None) -> tuple[list[StockHistoryRecord], str | None]:
        self.inventory.get(item_id)
        at_location = (StockHistoryRecord.location_id == location_id) if location_id else None
        return db.newest_first(StockHistoryRecord, db.history_pk(item_id), limit=limit, cursor=cursor,
                               filter_condition=at_location)

    def availability(self, item_id: str) -> tuple[ItemView, list[ChannelAvailability], int]:
        """The item, what each channel may sell of it, and what all locations hold together."""
        view = self.inventory.get(item_id)
        every_location = [location.location_id for location in self.locations.list()]
        nodes = stock_nodes([item_id], every_location)
        channels = [
            ChannelAvailability(channel, available(item_id, nodes, channel.location_ids))
            for channel in ChannelRecord.gsi1.query(db.CHANNELS_PARTITION)
            if isinstance(channel, ChannelRecord)
        ]
        return view, channels, available(item_id, nodes, every_location)

    # --- internals -------------------------------------------------------------------------

    def _change(self, item_id: str, location_id: str, *, kind: str, reason: str, new_level: Callable[[int], int],
                keyed: KeyedChange | None = None) -> StockResult:
        self.locations.get(location_id)
        item = self.inventory.get(item_id).item
        if item.is_composite:
            raise Conflict(
                "A composite item's stock comes from its components; change theirs instead",
                details={"item_id": item_id}, code="composite_stock",
            )
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, BACKOFF_S * 2**min(attempt, 6)))  # noqa: S311 - jitter
            if keyed and (replayed := self._replayed(keyed, kind)):
                return replayed
            current = db.get_or_none(StockLevelRecord, StockLevelRecord.keys(item_id, location_id))
            stock = current or _empty_level(item_id, location_id)
            before = int(stock.level)
            after = int(new_level(before))
            if after < 0:
                raise Conflict(
                    f"Stock cannot go below 0 (it is {before})",
                    details={"level": before, "requested": after}, code="negative_stock",
                )
            at = db.now()
            stock.level, stock.updated_at = after, at
            change_id = db.new_id()
            entry = StockHistoryRecord(
                **StockHistoryRecord.keys(item_id, at, change_id), change_id=change_id, item_id=item_id,
                location_id=location_id, kind=kind, level_before=before, level_after=after, reason=reason,
            )
            try:
                with db.transaction() as tx:
                    tx.condition_check(ItemRecord, db.item_pk(item_id), "ITEM",
                                       condition=ItemRecord.is_composite == False)  # noqa: E712
                    tx.condition_check(LocationRecord, f"LOCATION#{location_id}", "LOCATION",
                                       condition=LocationRecord.PK.exists())
                    tx.save(stock, condition=None if current else StockLevelRecord.PK.does_not_exist())
                    tx.save(entry)
                    if keyed:
                        tx.save(keyed.claim(change_id, expires_at=at + IDEMPOTENCY_WINDOW),
                                condition=UniqueClaim.PK.does_not_exist())
            except TransactWriteError as exc:
                failed = dict(enumerate(db.failed_conditions(exc)))
                if keyed and failed.get(_CLAIM):
                    continue  # the same key committed meanwhile: the next pass tells a retry from a reuse
                if failed.get(_ITEM_CHECK) or failed.get(_LOCATION_CHECK):
                    raise Conflict("The item or location changed while stock was being set; retry") from exc
                continue  # someone else changed this stock level first: read it again
            self._announce(item_id, kind)
            return StockResult(stock)
        raise Conflict("The stock level is changing too often to apply this; retry", code="contention")

    def _replayed(self, keyed: KeyedChange, kind: str) -> StockResult | None:
        """The answer to a change whose key was used before: the same change is a retry (applied
        already: answered again, and announced again in case the first call failed to), another
        change is refused, saying what the key was used for. None when the key is new."""
        claim = db.get_or_none(UniqueClaim, keyed.claim_keys())
        if claim is None:
            return None
        used_for = KeyedChange.used_for(claim)
        if used_for != keyed.described():
            raise IdempotencyKeyReused(
                f"Idempotency key {keyed.key!r} was used for another stock change ({_describe(used_for)}); "
                "send a new key for a new change",
                details={"idempotency_key": keyed.key, "used_for": used_for, "requested": keyed.described()})
        self._announce(keyed.item_id, kind)
        return StockResult(self._current(keyed.item_id, keyed.location_id), replayed=True)

    def _announce(self, item_id: str, kind: str) -> None:
        """Name the item and every kit built from it on the stock queue. Runs after the commit: if
        it fails the request fails, and the caller's retry (same level, or same idempotency key)
        sends it again."""
        self.queue.publish([StockChange(reason=f"stock_{kind}", item_ids=self.inventory.with_kits([item_id]))])

    def _current(self, item_id: str, location_id: str) -> StockLevelRecord:
        current = db.get_or_none(StockLevelRecord, StockLevelRecord.keys(item_id, location_id))
        return current or _empty_level(item_id, location_id)


@dataclass(frozen=True)
class KeyedChange:
    """A stock change sent with an idempotency key. The key is scoped to what the change names (the
    item and the location): the same key at another location is another change. Its claim keeps
    the change it was used for, so a reuse for a different one can say which."""

    key: str
    item_id: str
    location_id: str
    delta: int

    def claim_keys(self) -> db.Keys:
        return UniqueClaim.keys(IDEMPOTENCY_CLAIM, f"{self.item_id}#{self.location_id}#{self.key}")

    def described(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "location_id": self.location_id, "delta": self.delta}

    def claim(self, change_id: str, *, expires_at: Any) -> UniqueClaim:
        # owner_id holds the change as JSON: the claim record has no other field to keep it in
        owner = json.dumps({"change_id": change_id, **self.described()}, separators=(",", ":"))
        return UniqueClaim(**self.claim_keys(), owner_id=owner, expires_at=expires_at)

    @staticmethod
    def used_for(claim: UniqueClaim) -> dict[str, Any]:
        try:
            owner = json.loads(claim.owner_id)
        except ValueError:
            owner = None
        if not isinstance(owner, dict):
            return {}
        return {name: owner.get(name) for name in ("item_id", "location_id", "delta")}


def _describe(change: dict[str, Any]) -> str:
    if not change:
        return "a change it does not describe"
    return f"delta {change['delta']} at location {change['location_id']}"


def _empty_level(item_id: str, location_id: str) -> StockLevelRecord:
    """A location that never had stock of the item: 0, never updated."""
    return StockLevelRecord(**StockLevelRecord.keys(item_id, location_id), item_id=item_id,
                            location_id=location_id, level=0, allocated=0, updated_at=None)

