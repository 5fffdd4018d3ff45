"""The order screens: list and search orders, and one order with its lines. Uses AWS (the table).

Our order id is `db.order_id_of(channel_id, channel order id)`: the same channel order always has
the same id (the first 32 hex digits of a SHA-256 of the two), safe in a URL path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pynamodb.expressions.condition import Condition

from stocksync.channels.order_side import OrderStatus
from stocksync.core import db
from stocksync.core.db import OrderRecord
from stocksync.core.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class OrderFilter:
    channel_id: str | None = None
    status: OrderStatus | None = None
    unmapped: bool | None = None
    oversold: bool | None = None
    placed_from: date | None = None
    placed_to: date | None = None


class OrderQueries:
    def get(self, order_id: str) -> OrderRecord:
        record = db.get_or_none(OrderRecord, OrderRecord.keys(order_id))
        if record is None:
            raise NotFound(f"No order with id {order_id}", details={"order_id": order_id}, code="order_not_found")
        return record

    def list(self, wanted: OrderFilter, *, limit: int, cursor: str | None) -> tuple[list[OrderRecord], str | None]:
        """Newest placed first; one index partition per channel (GSI2) or for every order (GSI1)."""
        if wanted.placed_from and wanted.placed_to and wanted.placed_from > wanted.placed_to:
            raise InvalidInput("placed_from is after placed_to", details={"field": "placed_from"})
        index, partition, sort_key = (
            (OrderRecord.gsi2, db.orders_of_pk(wanted.channel_id), OrderRecord.GSI2SK) if wanted.channel_id
            else (OrderRecord.gsi1, db.ORDERS_PARTITION, OrderRecord.GSI1SK))
        low = wanted.placed_from.isoformat() if wanted.placed_from else None
        high = f"{wanted.placed_to.isoformat()}~" if wanted.placed_to else None
        range_condition: Condition | None = None
        if low and high:
            range_condition = sort_key.between(low, high)
        elif low:
            range_condition = sort_key >= low
        elif high:
            range_condition = sort_key <= high
        results = index.query(partition, range_condition, filter_condition=_filters(wanted), scan_index_forward=False,
                              limit=limit, last_evaluated_key=db.decode_cursor(cursor))
        rows, next_cursor = db.page_of(results, limit)
        return [row for row in rows if isinstance(row, OrderRecord)], next_cursor


def _filters(wanted: OrderFilter) -> Condition | None:
    clauses: list[Condition] = []
    if wanted.status is not None:
        clauses.append(OrderRecord.status == wanted.status.value)
    if wanted.unmapped is not None:
        clauses.append(OrderRecord.unmapped == wanted.unmapped)
    if wanted.oversold is not None:
        clauses.append(OrderRecord.oversold == wanted.oversold)
    return db.all_of(clauses)
