"""Helpers of the order tests: a fake channel serving orders from a list, orders, items with stock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from stock_sync_support import listing

from stocksync.api.context import services
from stocksync.channels.base import ChannelThrottled
from stocksync.channels.order_side import (
    ChannelOrder,
    ChannelOrderLine,
    NotifiedOrder,
    OrderPage,
    OrderSide,
    OrderStatus,
)
from stocksync.channels.store import ChannelInput
from stocksync.channels.types import ChannelType
from stocksync.core.db import ChannelRecord
from stocksync.inventory.items import ItemInput
from stocksync.inventory.stock import StockSet

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def order(order_id: str, *lines: tuple[str, int], status: OrderStatus = OrderStatus.OPEN, minute: float = 0,
          fba: bool = False, placed_minute: float | None = None) -> ChannelOrder:
    return ChannelOrder(
        order_id=order_id, status=status, fulfilled_by_channel=fba, updated_at=at(minute),
        placed_at=at(placed_minute if placed_minute is not None else 0),
        lines=tuple(ChannelOrderLine(line_id=f"{order_id}-{n}", sku=sku, quantity=qty, title=sku)
                    for n, (sku, qty) in enumerate(lines)),
        channel_status=str(status),
    )


class FakeOrderChannel(OrderSide):
    """A channel's order side served from a list: orders updated after a time, `page_size` a page."""

    order_poll_minutes = 1

    def __init__(self, orders: Iterable[ChannelOrder] = (), *, page_size: int = 2, notifies: bool = False) -> None:
        self.orders: dict[str, ChannelOrder] = {o.order_id: o for o in orders}
        self.page_size = page_size
        self.calls: list[tuple[datetime, str | None]] = []
        self.throttle_at: set[int] = set()  # the n-th calls (1-based) that are throttled
        self.notifies_orders = notifies  # type: ignore[misc]
        self.subscribed: list[str] = []

    def put(self, *orders: ChannelOrder) -> None:
        for one in orders:
            self.orders[one.order_id] = one

    def orders_configured(self) -> bool:
        return True

    def fetch_orders(self, updated_after: datetime, page: str | None = None) -> OrderPage:
        self.calls.append((updated_after, page))
        if len(self.calls) in self.throttle_at:
            raise ChannelThrottled("the fake channel throttled the account", retry_after=60)
        matching = sorted((o for o in self.orders.values() if o.updated_at > updated_after),
                          key=lambda o: (o.updated_at, o.order_id))
        start = int(page or 0)
        end = start + self.page_size
        return OrderPage(matching[start:end], str(end) if end < len(matching) else None)

    def fetch_order(self, order_id: str) -> ChannelOrder | None:
        return self.orders.get(order_id)

    def ensure_order_notifications(self, destination_arn: str) -> str | None:
        self.subscribed.append(destination_arn)
        return "sub-1"

    @staticmethod
    def notified_orders(message: dict[str, Any]) -> list[NotifiedOrder]:
        payload = message["Payload"]["OrderChangeNotification"]
        return [NotifiedOrder(account_id=payload["SellerId"], order_id=payload["AmazonOrderId"])]


def add_channel(name: str, channel_type: ChannelType = ChannelType.GENERIC, **settings: Any) -> ChannelRecord:
    return services().channels.create(ChannelInput(name=name, type=channel_type, settings=settings or None))


def add_item(sku: str, level: int, location_id: str = "default") -> str:
    app = services()
    item = app.inventory.create(ItemInput(sku=sku, title=sku))
    if level:
        app.stock.set_level(item.item_id, location_id, StockSet(level=level))
    return item.item_id


def link(channel: ChannelRecord, sku: str, item_id: str | None) -> None:
    listing(channel.channel_id, sku, item_id)


def stock(item_id: str, location_id: str = "default") -> tuple[int, int]:
    """(level, allocated) of an item at a location."""
    levels = {s.location_id: s for s in services().stock.levels(item_id)}
    found = levels[location_id]
    return int(found.level), int(found.allocated)


def available(item_id: str) -> dict[str, int]:
    """What each channel may sell of the item."""
    _view, channels, _all = services().stock.availability(item_id)
    return {row.channel.name: row.available for row in channels}
