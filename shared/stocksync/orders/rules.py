"""Pure order rules: what a download (or a re-link) of an order does to each line and to stock.

No AWS here. The importer reads the stored order, the links and kit parts, calls `plan_order`, and
writes the plan in one transaction.

Rules:
- Status: a stored SHIPPED order stays SHIPPED (a later cancel is a refund: its units are not put
  back, the order is flagged `cancelled_after_shipping` for the seller to restock by hand); a stored
  CANCELLED order stays CANCELLED. Otherwise the download's status wins.
- A line holds stock through its `parts` (item, units per line unit) at its `location_id`, both frozen
  when it first holds any (so releases are exact even if the listing is re-linked or the kit changes).
- OPEN: allocated = quantity (mapped lines). SHIPPED: allocated = 0, taken = quantity, once.
  CANCELLED: allocated = 0. Orders fulfilled by the channel (FBA) never hold anything.
- An unmapped line of an OPEN order is indexed under its SKU so a later link finds it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from stocksync.channels.order_side import OrderStatus

StockKey = tuple[str, str]  # (item id, location id)


@dataclass(frozen=True)
class Part:
    item_id: str
    per_unit: int


@dataclass(frozen=True)
class IncomingLine:
    line_id: str
    sku: str
    sku_key: str
    quantity: int
    title: str = ""
    unit_price: str | None = None


@dataclass(frozen=True)
class StoredLine(IncomingLine):
    """A line as the order record keeps it: what the channel said, with its link and what it holds."""

    item_id: str | None = None  # the linked item (a kit's own id for a kit)
    location_id: str | None = None
    parts: tuple[Part, ...] = ()
    allocated: int = 0  # line units allocated now
    taken: int = 0  # line units taken out of the stock level

    @property
    def holds(self) -> bool:
        return self.allocated > 0 or self.taken > 0

    def as_map(self) -> dict[str, Any]:
        return {"line_id": self.line_id, "sku": self.sku, "sku_key": self.sku_key, "quantity": self.quantity,
                "title": self.title, "unit_price": self.unit_price, "item_id": self.item_id,
                "location_id": self.location_id, "allocated": self.allocated, "taken": self.taken,
                "parts": [{"item_id": part.item_id, "per_unit": part.per_unit} for part in self.parts]}

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> StoredLine:
        return cls(line_id=str(raw["line_id"]), sku=str(raw["sku"]), sku_key=str(raw["sku_key"]),
                   quantity=int(raw.get("quantity") or 0), title=str(raw.get("title") or ""),
                   unit_price=raw.get("unit_price"), item_id=raw.get("item_id"),
                   location_id=raw.get("location_id"), allocated=int(raw.get("allocated") or 0),
                   taken=int(raw.get("taken") or 0),
                   parts=tuple(Part(str(p["item_id"]), int(p["per_unit"])) for p in raw.get("parts") or ()))


@dataclass(frozen=True)
class StoredOrder:
    status: OrderStatus
    fulfilled_by_channel: bool
    lines: tuple[StoredLine, ...]
    cancelled_after_shipping: bool = False


@dataclass
class Plan:
    status: OrderStatus
    lines: list[StoredLine]
    cancelled_after_shipping: bool
    allocated: dict[StockKey, int] = field(default_factory=dict)  # allocated += per (item, location)
    level: dict[StockKey, int] = field(default_factory=dict)  # level += per (item, location) (shipping: < 0)
    unmapped_keys: set[str] = field(default_factory=set)  # SKU keys to index (open orders' unmapped lines)

    @property
    def stock_keys(self) -> set[StockKey]:
        return set(self.allocated) | set(self.level)

    @property
    def touched_items(self) -> set[str]:
        return {item_id for item_id, _location in self.stock_keys}


def effective_status(stored: StoredOrder | None, incoming: OrderStatus) -> tuple[OrderStatus, bool]:
    """The status to keep, and whether a shipped order was cancelled after shipping."""
    if stored is None or stored.status == OrderStatus.OPEN:
        return incoming, False
    if stored.status == OrderStatus.SHIPPED:
        return OrderStatus.SHIPPED, stored.cancelled_after_shipping or incoming == OrderStatus.CANCELLED
    return stored.status, stored.cancelled_after_shipping


def plan_order(stored: StoredOrder | None, status: OrderStatus, fulfilled_by_channel: bool,
               incoming: Sequence[IncomingLine], *, links: Mapping[str, str | None],
               parts: Mapping[str, tuple[Part, ...]], location_id: str) -> Plan:
    """The order's lines after this download, and the stock deltas that take it there.

    `links` maps a SKU key to the linked item (None/absent = unlinked), `parts` an item to what one
    unit of it is made of (itself, or a kit's leaf components); an item absent from `parts` is gone.
    """
    new_status, cancelled_after_shipping = effective_status(stored, status)
    fba = bool(stored.fulfilled_by_channel if stored else fulfilled_by_channel)
    before = {line.line_id: line for line in (stored.lines if stored else ())}
    lines: list[StoredLine] = []
    seen: set[str] = set()
    for line in incoming:
        if line.line_id in seen:
            continue  # a channel listing one line twice: the first one counts
        seen.add(line.line_id)
        old = before.get(line.line_id) or StoredLine(line.line_id, line.sku, line.sku_key, 0)
        lines.append(_next_line(old, replace(old, sku=line.sku, sku_key=line.sku_key, quantity=max(line.quantity, 0),
                                             title=line.title, unit_price=line.unit_price),
                                new_status, fba, links=links, parts=parts, location_id=location_id))
    for line_id, old in before.items():
        if line_id not in seen:  # gone from the channel's order: nothing of it is wanted any more
            lines.append(_next_line(old, replace(old, quantity=0), new_status, fba, links=links, parts=parts,
                                    location_id=location_id))
    plan = Plan(new_status, lines, cancelled_after_shipping)
    allocated: dict[StockKey, int] = defaultdict(int)
    level: dict[StockKey, int] = defaultdict(int)
    for line in lines:
        previous = before.get(line.line_id)
        for key, units in _holding(line, "allocated").items():
            allocated[key] += units
        for key, units in _holding(line, "taken").items():
            level[key] -= units
        if previous is not None:
            for key, units in _holding(previous, "allocated").items():
                allocated[key] -= units
            for key, units in _holding(previous, "taken").items():
                level[key] += units
        if new_status == OrderStatus.OPEN and is_unmapped(line, fba):
            plan.unmapped_keys.add(line.sku_key)
    plan.allocated = {key: units for key, units in allocated.items() if units}
    plan.level = {key: units for key, units in level.items() if units}
    return plan


def is_unmapped(line: StoredLine, fulfilled_by_channel: bool) -> bool:
    return not fulfilled_by_channel and line.item_id is None and line.quantity > 0


def unmapped_keys_of(order: StoredOrder) -> set[str]:
    if order.status != OrderStatus.OPEN:
        return set()
    return {line.sku_key for line in order.lines if is_unmapped(line, order.fulfilled_by_channel)}


def _next_line(old: StoredLine, line: StoredLine, status: OrderStatus, fba: bool, *,
               links: Mapping[str, str | None], parts: Mapping[str, tuple[Part, ...]], location_id: str) -> StoredLine:
    if not old.holds:  # nothing frozen yet: follow the listing's current link
        item_id = links.get(line.sku_key)
        if item_id is not None and item_id not in parts:
            item_id = None  # linked to an item that no longer exists
        line = replace(line, item_id=item_id, parts=parts.get(item_id, ()) if item_id and not fba else (),
                       location_id=location_id if item_id and not fba else None)
    stockable = bool(line.parts) and not fba
    if status == OrderStatus.OPEN:
        return replace(line, allocated=line.quantity if stockable else 0)
    if status == OrderStatus.SHIPPED:
        taken = line.taken if line.taken > 0 else (line.quantity if stockable else 0)
        return replace(line, allocated=0, taken=taken)
    return replace(line, allocated=0)


def _holding(line: StoredLine, kind: str) -> dict[StockKey, int]:
    units = getattr(line, kind)
    if not units or not line.location_id:
        return {}
    held: dict[StockKey, int] = defaultdict(int)
    for part in line.parts:
        held[(part.item_id, line.location_id)] += part.per_unit * units
    return held


def merge_parts(pieces: Iterable[tuple[str, int]]) -> tuple[Part, ...]:
    """(item, units) pieces as parts, one per item, in a stable order."""
    merged: dict[str, int] = defaultdict(int)
    for item_id, units in pieces:
        merged[item_id] += units
    return tuple(Part(item_id, units) for item_id, units in sorted(merged.items()))
