"""A bespoke website speaking our documented contract (docs/channels/generic.md). Catalogue:
GET {base_url}/stocksync/v1/listings?page=N&per_page=M until `has_more` is false, into the
normalized listings CSV.

Orders: GET {base_url}/stocksync/v1/orders?updated_after=...&page=N&per_page=M until `has_more` is
false; GET .../orders/{order_id} for one. Status words are ours: open, shipped, cancelled.

Auth: every request carries X-Stocksync-Timestamp and X-Stocksync-Signature, an HMAC-SHA256 with
the channel's api_key over timestamp, method, path with query, and the body's SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from stocksync.channels.base import (
    ChannelNotConfigured,
    ChannelRejected,
    ItemReply,
    Listing,
    PagedListingsAdapter,
    QuantityResult,
    QuantityUpdate,
    batch_results,
    shown_state,
)
from stocksync.channels.order_side import (
    ChannelOrder,
    OrderPage,
    OrderStatus,
    contract_order,
    iso_z,
)

PER_PAGE = 200
ORDERS_PER_PAGE = 100
ORDER_STATUSES = {"open": OrderStatus.OPEN, "shipped": OrderStatus.SHIPPED, "cancelled": OrderStatus.CANCELLED}
MAX_PAGES = 100_000  # a site that always says has_more must not keep us forever


class GenericAdapter(PagedListingsAdapter):
    label = "Website"
    bulk_size: ClassVar[int] = 100
    batches_at_once: ClassVar[int] = 4
    rate: ClassVar[tuple[float, int]] = (5.0, 10)

    def base_url(self) -> str:
        if not self.settings.get("base_url"):
            raise ChannelNotConfigured("The website channel has no base_url")
        return str(self.settings["base_url"])

    def sign(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        self.require("api_key")
        timestamp = str(int(time.time()))
        return {
            "X-Stocksync-Timestamp": timestamp,
            "X-Stocksync-Signature": "v1=" + signature(self.credentials["api_key"], timestamp, method, url, body),
        }

    def listings(self) -> Iterator[Listing]:
        for page in range(1, MAX_PAGES + 1):
            answer = self.call_json("GET", "/stocksync/v1/listings", params={"page": page, "per_page": PER_PAGE})
            for item in answer.get("listings") or []:
                yield Listing.from_json(item)
            if not answer.get("has_more") or not answer.get("listings"):
                return

    # --- orders --------------------------------------------------------------------------

    order_poll_minutes: ClassVar[int] = 2

    def orders_configured(self) -> bool:
        return bool(self.settings.get("base_url") and self.credentials.get("api_key"))

    def fetch_orders(self, updated_after: datetime, page: str | None = None) -> OrderPage:
        number = int(page or 1)
        self.limited("orders")
        answer = self.call_json("GET", "/stocksync/v1/orders", params={
            "updated_after": iso_z(updated_after), "page": number, "per_page": ORDERS_PER_PAGE}) or {}
        orders = [self.channel_order(o) for o in answer.get("orders") or []]
        more = bool(answer.get("has_more")) and bool(orders) and number < MAX_PAGES
        return OrderPage(orders, str(number + 1) if more else None)

    def fetch_order(self, order_id: str) -> ChannelOrder | None:
        self.limited("orders")
        answer = self.call_json_or_none("GET", f"/stocksync/v1/orders/{quote(order_id, safe='')}")
        return None if answer is None else self.channel_order(answer)

    def channel_order(self, document: Any) -> ChannelOrder:
        try:
            return contract_order(document, ORDER_STATUSES, "the website")
        except ValueError as exc:
            raise ChannelRejected(str(exc)) from exc

    def send_quantity_batch(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        mode = str(self.settings.get("out_of_stock_mode") or "disable")
        items = {u.sku: stock_item(u, mode) for u in batch}
        self.limited("stock")
        answer = self.call_json("POST", "/stocksync/v1/stock", json={"items": list(items.values())})
        replies = {str(r.get("sku")): ItemReply(r.get("status") == "ok", str(r.get("message") or ""))
                   for r in (answer or {}).get("results") or [] if isinstance(r, dict)}
        return batch_results(batch, replies, "the website", lambda u: items[u.sku]["state"])


def signature(secret: str, timestamp: str, method: str, url: str, body: bytes | None) -> str:
    """hex HMAC-SHA256(secret, "{timestamp}\\n{METHOD}\\n{path?query}\\n{sha256(body) hex}")."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    message = "\n".join([timestamp, method.upper(), target, hashlib.sha256(body or b"").hexdigest()])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def stock_item(update: QuantityUpdate, out_of_stock_mode: str) -> dict[str, Any]:
    """An item of our stock contract: 0 disables the listing, or keeps it active with back-orders."""
    if update.quantity <= 0 and out_of_stock_mode == "zero_backorder":
        return {"sku": update.sku, "quantity": 0, "state": "active", "backorders": True}
    return {"sku": update.sku, "quantity": max(update.quantity, 0), "state": shown_state(update)}
