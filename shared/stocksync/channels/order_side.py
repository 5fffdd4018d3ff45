"""The order half of a channel adapter: what the order poller and the notification path drive.

  orders_configured()                    -> bool       (the account has what order download needs)
  fetch_orders(updated_after, page)      -> OrderPage  (orders changed after a time, page by page)
  fetch_order(order_id)                  -> ChannelOrder | None  (one order: what a notification names)
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
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
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
    # Nothing else: what a notification says of the order is a hint to fetch it, never content to
    # allocate from. Anyone who can reach the queue could word it, and a summary words a revision
    # otherwise than the order API (Amazon's shows a cancelled item as 0 units, searchOrders keeps
    # quantityOrdered): two sources of one revision would fight.


@dataclass(frozen=True)
class OrderPage:
    orders: list[ChannelOrder]
    next_page: str | None = None  # pass back as `page` to continue the same window; None = done


class OrderSide:
    """Mixed into ChannelAdapter. `order_poll_minutes` is the cadence the channel's rate limits allow."""

    order_poll_minutes: ClassVar[int] = 5
    # The shortest interval between downloads the channel's documented rate sustains: a faster schedule
    # (the local stack's speed-up) never polls more often than this.
    order_poll_floor_s: ClassVar[float] = 0.0
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


# --- helpers the adapters' order sides share -------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """A channel's timestamp as an aware UTC datetime: ISO 8601 with `Z` or an offset, or Magento's
    `YYYY-MM-DD HH:MM:SS` (UTC). None for an empty or unreadable value."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value or "").strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def required_time(value: Any, what: str) -> datetime:
    """`parse_time`, refusing a document without the time (an order's revision rests on it)."""
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(f"{what} has no readable time: {value!r}")
    return parsed


def iso_z(moment: datetime, *, millis: bool = False) -> str:
    """UTC ISO 8601 with `Z` (`2026-01-02T03:04:05Z`, or `.000Z` with `millis`)."""
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    if millis:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value: Any) -> Decimal | None:
    """A price as the channel sends it (number or string) as a Decimal; None when absent or unreadable."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def units(value: Any) -> int:
    """A quantity (Magento sends `1.0000`) as whole units, never below 0."""
    try:
        return max(int(Decimal(str(value or 0))), 0)
    except (InvalidOperation, ValueError):
        return 0


def is_not_found(error: Exception) -> bool:
    """A channel error that is the channel's 404 (an order lookup that finds nothing)."""
    details = getattr(error, "details", None)
    return isinstance(details, dict) and details.get("status") == 404


def contract_order(document: Any, statuses: dict[str, OrderStatus], label: str, *,
                   cancelled_field: bool = False) -> ChannelOrder:
    """An order of our own contracts (docs/channels/rakuten.md, generic.md): `order_id`, `status`,
    `created_at`, `updated_at`, `currency`, `total`, `buyer_name`, and `lines` of `line_id`, `sku`,
    `title`, `quantity` and `unit_price` (and, with `cancelled_field`, `quantity_cancelled` taken
    off the quantity). Raises ValueError when the document is not one."""
    if not isinstance(document, dict):
        raise ValueError(f"{label} answered an order that is not an object")
    order_id = str(document.get("order_id") or "")
    word = str(document.get("status") or "").lower()
    if not order_id or word not in statuses:
        raise ValueError(f"{label} answered order {order_id or '?'} with an unknown status {word!r}")
    lines = tuple(
        ChannelOrderLine(line_id=str(line.get("line_id") or ""), sku=str(line.get("sku") or ""),
                         quantity=max(units(line.get("quantity"))
                                      - (units(line.get("quantity_cancelled")) if cancelled_field else 0), 0),
                         title=str(line.get("title") or ""), unit_price=money(line.get("unit_price")))
        for line in document.get("lines") or [] if isinstance(line, dict))
    return ChannelOrder(
        order_id=order_id, status=statuses[word], fulfilled_by_channel=False,
        updated_at=required_time(document.get("updated_at"), f"{label} order {order_id}"), lines=lines,
        placed_at=parse_time(document.get("created_at")), currency=document.get("currency") or None,
        total=money(document.get("total")), buyer_name=str(document.get("buyer_name") or ""), channel_status=word,
    )
