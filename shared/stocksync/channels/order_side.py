"""The order half of a channel adapter: what the order poller and the notification path drive.

  orders_configured()                    -> bool       (the account has what order download needs)
  fetch_orders(updated_after, page)      -> OrderPage  (orders changed after a time, page by page)
  fetch_order(order_id)                  -> ChannelOrder | None  (one order, for a notification)
  ensure_order_notifications(dest_arn)   -> str | None (subscribe the account's order changes to our
                                                        SQS queue once; channels that push only)
  notified_orders(message)               -> list[NotifiedOrder]  (read one pushed notification)

Adapters translate the channel's own order document into ChannelOrder: one status of ours, lines
keyed by the channel SKU, and a revision that orders two downloads of the same order. Everything
about stock (matching lines to items, allocating, releasing) happens in stocksync/orders/, never
in an adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar


class OrderStatus(StrEnum):
    """What an order means for our stock. OPEN allocates, SHIPPED takes the units out of the level
    (and the allocation), CANCELLED releases. Channels' pending/unpaid orders count as OPEN: the
    buyer has the unit, so no other channel may sell it."""

    OPEN = "open"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ChannelOrderLine:
    line_id: str  # the channel's id of the line (Amazon orderItemId, eBay lineItemId, Magento item_id)
    sku: str  # the listing's SKU as the channel spells it
    quantity: int  # units still ordered (cancelled units already taken off)
    title: str = ""
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class ChannelOrder:
    order_id: str  # the channel's order id
    status: OrderStatus
    # Orders the channel fulfils from its own stock (Amazon AFN / FBA) never touch ours.
    fulfilled_by_channel: bool
    # The channel's last-modified time: a download older than the one stored is ignored.
    updated_at: datetime
    lines: tuple[ChannelOrderLine, ...]
    placed_at: datetime | None = None
    currency: str | None = None
    total: Decimal | None = None
    buyer_name: str = ""
    channel_status: str = ""  # the channel's own status word, shown to the seller
    raw_reference: dict[str, Any] = field(default_factory=dict)  # ids the seller may need (marketplace...)


@dataclass(frozen=True)
class NotifiedOrder:
    """What a pushed notification names: whose account (to find our channel) and which order."""

    account_id: str  # Amazon SellerId; matched against the channel's `seller_id` setting
    order_id: str


@dataclass(frozen=True)
class OrderPage:
    orders: list[ChannelOrder]
    next_page: str | None = None  # pass back as `page` to continue the same window; None = done


class OrderSide:
    """Mixed into ChannelAdapter. `order_poll_minutes` is the cadence the channel's rate limits allow."""

    order_poll_minutes: ClassVar[int] = 5
    # True where the channel pushes order changes (Amazon ORDER_CHANGE to SQS): the poller is then
    # the safety net, the notification the fast path.
    notifies_orders: ClassVar[bool] = False

    def orders_configured(self) -> bool:
        return False

    def fetch_orders(self, updated_after: datetime, page: str | None = None) -> OrderPage:
        raise NotImplementedError(f"{type(self).__name__} has no order download")

    def fetch_order(self, order_id: str) -> ChannelOrder | None:
        raise NotImplementedError(f"{type(self).__name__} has no order lookup")

    def ensure_order_notifications(self, destination_arn: str) -> str | None:
        """Subscribe order changes to the SQS queue `destination_arn` (idempotent); None where the
        channel cannot push. Returns the channel's subscription id."""
        return None

    @staticmethod
    def notified_orders(message: dict[str, Any]) -> list[NotifiedOrder]:
        return []
