"""/orders: orders downloaded from every channel, their lines, links, allocations and flags."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from stocksync.api.context import services
from stocksync.api.models import OrderOut, OrderPage, OrderRow
from stocksync.api.params import Cursor, Limit, OrderId
from stocksync.channels.order_side import OrderStatus
from stocksync.orders.service import OrderFilter

router = Router()

@router.get("/orders", tags=["Orders"], summary="List and search orders, newest placed first")
def list_orders(
    *,
    limit: Limit = 50,
    cursor: Cursor = None,
    channel_id: Annotated[str | None, Query(min_length=1, max_length=64, description="One channel's orders")] = None,
    status: Annotated[OrderStatus | None, Query(description="open, shipped or cancelled")] = None,
    unmapped: Annotated[bool | None, Query(description="true: only orders with a line not linked to an item")] = None,
    oversold: Annotated[bool | None, Query(description="true: only orders that allocated more than was available")]
    = None,
    placed_from: Annotated[date | None, Query(description="Placed on or after this day (UTC)")] = None,
    placed_to: Annotated[date | None, Query(description="Placed on or before this day (UTC)")] = None,
) -> OrderPage:
    wanted = OrderFilter(channel_id=channel_id, status=status, unmapped=unmapped, oversold=oversold,
                         placed_from=placed_from, placed_to=placed_to)
    rows, next_cursor = services().orders.list(wanted, limit=limit, cursor=cursor)
    return OrderPage(orders=[OrderRow.of(row) for row in rows], next_cursor=next_cursor)


@router.get("/orders/<order_id>", tags=["Orders"], summary="An order with its lines, their links and allocations")
def get_order(order_id: OrderId) -> OrderOut:
    return OrderOut.of(services().orders.get(order_id))
