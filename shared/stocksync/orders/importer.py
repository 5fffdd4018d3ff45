"""Orders in: apply a channel's order download to our stock, exactly once. Uses AWS (the table).

One download is ONE transaction: the order record (conditioned on the version read, so an older or a
repeated download, or a racing duplicate, changes nothing), the stock levels it moves (ADD on
`allocated` / `level`, each conditioned on the version read and bumping it, so StockBook's optimistic
writes and other imports see the change), a history entry per level taken by shipping, and the index
of the open order's unmapped lines. A lost race reads everything again and retries.

Announcing: the committed order keeps the items it changed in `pending_announce`; they go on the
stock queue after the commit and are then removed from the set. A crash in between leaves them
there, and any later download of the same order (the poller's overlap, an SQS retry, a duplicate)
announces them again before anything else.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from stocksync.channels.order_side import ChannelOrder, OrderStatus
from stocksync.core import db
from stocksync.core.db import (
    ChannelRecord,
    ListingRecord,
    OrderRecord,
    StockHistoryRecord,
    StockLevelRecord,
    UnmappedLineRecord,
)
from stocksync.core.errors import Conflict, NotFound
from stocksync.core.messages import StockChange, StockChangePublisher
from stocksync.core.observability import logger
from stocksync.inventory.items import Inventory
from stocksync.inventory.locations import Locations
from stocksync.inventory.rules import normalize_sku
from stocksync.mapping.store import listings_by_key
from stocksync.orders.rules import (
    IncomingLine,
    Part,
    Plan,
    StockKey,
    StoredLine,
    StoredOrder,
    is_unmapped,
    merge_parts,
    plan_order,
    unmapped_keys_of,
)

MAX_ATTEMPTS = 25
BACKOFF_S = 0.01
MAX_TRANSACTION_OPS = 100
MAX_KIT_DEPTH = 10


class OrderTooLarge(Conflict):
    """The order moves more stock records than one transaction may write (100 operations)."""

    code = "order_too_large"


class _LostRace(Exception):
    """Another writer changed the order or a stock level first: read again."""


@dataclass(frozen=True)
class ImportOutcome:
    order_id: str
    outcome: str  # created | updated | duplicate | older | relinked | unchanged
    items: tuple[str, ...] = ()  # items whose stock this write changed
    oversold: bool = False


class OrderBook:
    def __init__(self, queue: StockChangePublisher, inventory: Inventory, locations: Locations, *,
                 clock: Callable[[], datetime] = db.now) -> None:
        self.queue = queue
        self.inventory = inventory
        self.locations = locations
        self.clock = clock

    # --- entry points ----------------------------------------------------------------------

    def import_order(self, channel: ChannelRecord, order: ChannelOrder) -> ImportOutcome:
        """Apply one download of a channel's order. Idempotent on (channel, order id, revision)."""
        order_id = db.order_id_of(channel.channel_id, order.order_id)
        revision = _utc(order.updated_at)
        incoming = [IncomingLine(line_id=str(line.line_id), sku=line.sku, sku_key=normalize_sku(line.sku),
                                 quantity=int(line.quantity), title=line.title or "",
                                 unit_price=None if line.unit_price is None else str(line.unit_price))
                    for line in order.lines]
        digest = content_digest(order)
        location_id: str | None = None

        def build(stored: OrderRecord | None) -> tuple[OrderRecord, Plan, str] | str:
            nonlocal location_id
            if stored is not None:
                stored_revision = _utc(stored.revision)
                if revision < stored_revision:
                    return "older"
                if revision == stored_revision and stored.content_digest in (None, digest):
                    return "duplicate"
            previous = _stored(stored) if stored else None
            if location_id is None:
                location_id = self.order_location(channel)
            links, parts = self._links(channel.channel_id, previous, incoming)
            plan = plan_order(previous, OrderStatus(order.status), order.fulfilled_by_channel, incoming,
                              links=links, parts=parts, location_id=location_id)
            record = stored or self._new_record(channel, order, order_id, location_id)
            record.revision = revision
            record.content_digest = digest
            record.channel_status = order.channel_status or str(order.status)
            record.currency = order.currency
            record.total = None if order.total is None else str(order.total)
            record.buyer_name = order.buyer_name or ""
            record.reference = dict(order.raw_reference or {})
            return record, plan, "updated" if stored else "created"

        return self._apply(order_id, build)

    def relink(self, channel_id: str, links: Mapping[str, str]) -> list[ImportOutcome]:
        """Listings of a channel were linked (sku key -> item id): re-link and allocate the open orders'
        lines that waited for them. One Query of the channel's unmapped lines; for the lines that match,
        the listings' links as committed (one consistent BatchGet per 100 SKUs, so a link refused or
        changed meanwhile is never taken on trust); then one transaction per order."""
        if not links:
            return []
        return self._relink_rows(channel_id, [row for row in self._unmapped(channel_id) if row.sku_key in links])

    def relink_from_listings(self, channel_id: str) -> list[ImportOutcome]:
        """The poller's safety net: re-link unmapped lines whose listing is linked by now, whatever
        linked it (and even if the link's own re-link call was lost)."""
        return self._relink_rows(channel_id, self._unmapped(channel_id))

    def order_location(self, channel: ChannelRecord) -> str:
        """Where the channel's orders allocate and ship from: its `order_location_id`, else the default."""
        chosen = (channel.settings.as_dict() if channel.settings else {}).get("order_location_id")
        if chosen:
            try:
                return self.locations.get(str(chosen)).location_id
            except NotFound:
                logger.warning("Order location gone; using the default", extra={"channel_id": channel.channel_id})
        return self.locations.default().location_id

    # --- internals -------------------------------------------------------------------------

    def _relink_rows(self, channel_id: str, rows: list[UnmappedLineRecord]) -> list[ImportOutcome]:
        if not rows:
            return []
        keys = sorted({row.sku_key for row in rows})
        links = {key: listing.linked_item_id for key, listing in _listings(channel_id, keys).items()
                 if listing.linked_item_id}
        order_ids = sorted({row.order_id for row in rows if row.sku_key in links})
        return [self._relink_order(order_id, links) for order_id in order_ids]

    def _relink_order(self, order_id: str, links: Mapping[str, str]) -> ImportOutcome:
        def build(stored: OrderRecord | None) -> tuple[OrderRecord, Plan, str] | str:
            if stored is None or stored.status != OrderStatus.OPEN:
                return "unchanged"  # no longer open: its index rows went with the write that closed it
            previous = _stored(stored)
            waiting = {line.sku_key for line in previous.lines if line.item_id is None and line.sku_key in links}
            if not waiting:
                return "unchanged"
            incoming = [IncomingLine(line.line_id, line.sku, line.sku_key, line.quantity, line.title,
                                     line.unit_price) for line in previous.lines]
            wanted = {key: links[key] for key in waiting}
            parts = self._parts(set(wanted.values()))
            plan = plan_order(previous, previous.status, previous.fulfilled_by_channel, incoming, links=wanted,
                              parts=parts, location_id=stored.location_id or self.locations.default().location_id)
            return stored, plan, "relinked"

        return self._apply(order_id, build)

    def _apply(self, order_id: str,
               build: Callable[[OrderRecord | None], tuple[OrderRecord, Plan, str] | str]) -> ImportOutcome:
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, BACKOFF_S * 2 ** min(attempt, 6)))  # noqa: S311 - jitter
            stored = db.get_or_none(OrderRecord, OrderRecord.keys(order_id))
            if stored is not None and stored.pending_announce:
                self._announce(stored)  # a write committed before and not announced: say it now
                stored = db.get_or_none(OrderRecord, OrderRecord.keys(order_id))
            built = build(stored)
            if isinstance(built, str):
                return ImportOutcome(order_id, built)
            record, plan, outcome = built
            try:
                indexed = unmapped_keys_of(_stored(stored)) if stored else set()
                oversold = self._commit(record, plan, was_unmapped=indexed)
            except _LostRace:
                continue
            self._announce(record)
            return ImportOutcome(order_id, outcome, tuple(sorted(plan.touched_items)), oversold)
        raise Conflict("The order's stock is changing too often to apply this download; retry", code="contention")

    def _commit(self, record: OrderRecord, plan: Plan, *, was_unmapped: set[str]) -> bool:
        now = self.clock()
        keys = sorted(plan.stock_keys)
        levels = _levels(keys)
        oversold_at = []
        for key in keys:
            level = levels.get(key)
            after_level = int(level.level if level else 0) + plan.level.get(key, 0)
            after_allocated = int(level.allocated if level else 0) + plan.allocated.get(key, 0)
            if plan.allocated.get(key, 0) > 0 and after_level - after_allocated < 0:
                oversold_at.append({"item_id": key[0], "location_id": key[1],
                                    "available": after_level - after_allocated, "at": now.isoformat()})
        record.lines = [line.as_map() for line in plan.lines]
        record.status = plan.status.value
        record.cancelled_after_shipping = plan.cancelled_after_shipping
        record.unmapped = plan.status != OrderStatus.CANCELLED and any(
            is_unmapped(line, bool(record.fulfilled_by_channel)) for line in plan.lines)
        if oversold_at:
            record.oversold = True
            record.oversold_at = [*(record.oversold_at or []), *oversold_at][-20:]
        record.updated_at = now
        # kits built from the touched items are added when announcing (Inventory.with_kits)
        record.pending_announce = set(record.pending_announce or set()) | plan.touched_items
        added = plan.unmapped_keys - was_unmapped
        removed = was_unmapped - plan.unmapped_keys
        history = [key for key in keys if plan.level.get(key)]
        operations = 1 + len(keys) + len(history) + len(added) + len(removed)
        if operations > MAX_TRANSACTION_OPS:
            raise OrderTooLarge(
                f"Order {record.channel_order_id} moves stock of {len(keys)} item locations: more than one "
                "transaction can write. Split it on the channel or handle it by hand.",
                details={"order_id": record.order_id, "operations": operations})
        try:
            with db.transaction() as tx:
                tx.save(record)  # conditioned on the version read (absent for a new order)
                for key in keys:
                    self._level_write(tx, key, levels.get(key), plan, now)
                for key in history:
                    before = int(levels[key].level) if key in levels else 0
                    change_id = db.new_id()
                    tx.save(StockHistoryRecord(
                        **StockHistoryRecord.keys(key[0], now, change_id), change_id=change_id, item_id=key[0],
                        location_id=key[1], kind="order", level_before=before, level_after=before + plan.level[key],
                        reason=_history_reason(record, plan.level[key]), at=now))
                for sku_key in sorted(added):
                    tx.save(UnmappedLineRecord(**UnmappedLineRecord.keys(record.channel_id, sku_key, record.order_id),
                                               channel_id=record.channel_id, sku_key=sku_key, order_id=record.order_id))
                for sku_key in sorted(removed):
                    tx.delete(UnmappedLineRecord(**UnmappedLineRecord.keys(record.channel_id, sku_key,
                                                                           record.order_id)))
        except TransactWriteError as exc:
            if exc.cancellation_reasons:
                raise _LostRace from exc  # a condition failed or a concurrent transaction conflicted
            raise
        return bool(oversold_at)

    @staticmethod
    def _level_write(tx: db.TransactWrite, key: StockKey, level: StockLevelRecord | None, plan: Plan,
                     now: datetime) -> None:
        allocated, taken = plan.allocated.get(key, 0), plan.level.get(key, 0)
        if level is None:
            tx.save(StockLevelRecord(**StockLevelRecord.keys(*key), item_id=key[0], location_id=key[1], level=taken,
                                     allocated=allocated, updated_at=now))  # version: does not exist yet
            return
        actions: list[Any] = [StockLevelRecord.updated_at.set(now)]
        if allocated:
            actions.append(StockLevelRecord.allocated.add(allocated))
        if taken:
            actions.append(StockLevelRecord.level.add(taken))
        tx.update(level, actions=actions)  # + version == read, version += 1 (pynamodb's VersionAttribute)

    def _announce(self, record: OrderRecord) -> None:
        items = sorted(record.pending_announce or set())
        if not items:
            return
        self.queue.publish([StockChange(reason="order_changed", item_ids=self.inventory.with_kits(items))])
        try:
            record.update(actions=[OrderRecord.pending_announce.delete(set(items))], add_version_condition=False)
        except Exception:  # the announcement went out; a later download announces it once more at worst
            logger.exception("Could not mark an order's stock change announced", extra={"order_id": record.order_id})

    def _new_record(self, channel: ChannelRecord, order: ChannelOrder, order_id: str, location_id: str) -> OrderRecord:
        placed = _utc(order.placed_at or order.updated_at)
        return OrderRecord(**OrderRecord.keys(order_id, channel.channel_id, placed), order_id=order_id,
                           channel_id=channel.channel_id, channel_type=channel.type, channel_order_id=order.order_id,
                           status=OrderStatus(order.status).value, revision=_utc(order.updated_at), placed_at=placed,
                           fulfilled_by_channel=bool(order.fulfilled_by_channel),
                           location_id=None if order.fulfilled_by_channel else location_id,
                           created_at=self.clock())

    def _links(self, channel_id: str, previous: StoredOrder | None,
               incoming: Sequence[IncomingLine]) -> tuple[dict[str, str | None], dict[str, tuple[Part, ...]]]:
        """Current links of the lines that hold nothing yet, and the parts of their items."""
        holding = {line.line_id for line in (previous.lines if previous else ()) if line.holds}
        keys = sorted({line.sku_key for line in incoming if line.line_id not in holding})
        listings = _listings(channel_id, keys)
        links: dict[str, str | None] = {key: listing.linked_item_id for key, listing in listings.items()}
        return links, self._parts({item_id for item_id in links.values() if item_id})

    def _parts(self, item_ids: Iterable[str]) -> dict[str, tuple[Part, ...]]:
        found: dict[str, tuple[Part, ...]] = {}
        for item_id in sorted(set(item_ids)):
            pieces = self._leaves(item_id, 1, 0)
            if pieces is not None:
                found[item_id] = merge_parts(pieces)
        return found

    def _leaves(self, item_id: str, units: int, depth: int) -> list[tuple[str, int]] | None:
        view = self.inventory.find(item_id)
        if view is None or depth > MAX_KIT_DEPTH:
            return None
        if not view.components:
            return [(item_id, units)]
        pieces: list[tuple[str, int]] = []
        for component in view.components:
            below = self._leaves(component.component_id, units * int(component.quantity), depth + 1)
            if below is None:
                return None  # a kit with a missing component cannot be allocated: the line stays unmapped
            pieces.extend(below)
        return pieces

    @staticmethod
    def _unmapped(channel_id: str) -> list[UnmappedLineRecord]:
        return [row for row in UnmappedLineRecord.query(db.unmapped_lines_pk(channel_id), consistent_read=True)
                if isinstance(row, UnmappedLineRecord)]


def _stored(record: OrderRecord) -> StoredOrder:
    return StoredOrder(status=OrderStatus(record.status), fulfilled_by_channel=bool(record.fulfilled_by_channel),
                       lines=tuple(StoredLine.of(raw) for raw in record.lines or []),
                       cancelled_after_shipping=bool(record.cancelled_after_shipping))


def _levels(keys: Sequence[StockKey]) -> dict[StockKey, StockLevelRecord]:
    wanted = [(level["PK"], level["SK"]) for level in (StockLevelRecord.keys(*key) for key in keys)]
    return {(record.item_id, record.location_id): record
            for record in StockLevelRecord.batch_get(wanted, consistent_read=True)}


def _listings(channel_id: str, sku_keys: Sequence[str]) -> dict[str, ListingRecord]:
    """The channel's listings of these SKU keys as committed (consistent reads), removed ones left out."""
    return {key: listing for key, listing in listings_by_key(channel_id, sku_keys, consistent_read=True).items()
            if not listing.removed}


def content_digest(order: ChannelOrder) -> str:
    """What a download says that moves stock, as a short digest (line order does not matter)."""
    lines = sorted((str(line.line_id), line.sku, int(line.quantity)) for line in order.lines)
    said = json.dumps([str(order.status), bool(order.fulfilled_by_channel), lines])
    return hashlib.sha256(said.encode()).hexdigest()[:16]


def _history_reason(record: OrderRecord, delta: int) -> str:
    verb = "shipped" if delta < 0 else "returned"
    return f"order {record.channel_order_id} {verb} ({record.channel_type} channel {record.channel_id})"


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
