"""Rakuten: the listings report and inventory contract of docs/channels/rakuten.md (Rakuten UK
closed in 2016, so the contract is ours). Catalogue: GET /v1/shops/{shop_id}/listings, page by
page with `page_token`, into the normalized listings CSV. Fetched every 30 minutes by schedule.

Stock: POST /v1/shops/{shop_id}/inventory, at most 100 updates, one result per update; quantity
0 goes with status `disabled`, a restock with `active`.

Orders: GET /v1/shops/{shop_id}/orders?updated_after=..., 100 a page by `page_token`; GET
/v1/shops/{shop_id}/orders/{order_id} for one. `pending` and `paid` are open, `shipped` shipped,
`cancelled` cancelled; a line's units are its quantity less quantity_cancelled.

Auth: `Authorization: Bearer <api_key>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

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

PAGE_SIZE = 500
INVENTORY_BULK = 100
ORDERS_PAGE = 100
ORDER_STATUSES = {"pending": OrderStatus.OPEN, "paid": OrderStatus.OPEN, "shipped": OrderStatus.SHIPPED,
                  "cancelled": OrderStatus.CANCELLED}


class RakutenAdapter(PagedListingsAdapter):
    label = "Rakuten"

    def base_url(self) -> str:
        if not self.settings.get("base_url"):
            raise ChannelNotConfigured("The Rakuten channel has no base_url")
        return str(self.settings["base_url"])

    def auth_headers(self, token: str | None) -> dict[str, str]:
        self.require("api_key")
        return {"Authorization": f"Bearer {self.credentials['api_key']}"}

    def listings(self) -> Iterator[Listing]:
        self.require("shop_id")
        params: dict[str, str | int] = {"page_size": PAGE_SIZE}
        while True:
            page = self.call_json("GET", f"/v1/shops/{self.settings['shop_id']}/listings", params=params)
            for item in page.get("listings") or []:
                yield Listing.from_json(item)
            token = page.get("next_page_token")
            if not token:
                return
            params = {"page_size": PAGE_SIZE, "page_token": token}

    # --- stock ---------------------------------------------------------------------------

    bulk_size: ClassVar[int] = INVENTORY_BULK
    batches_at_once: ClassVar[int] = 4
    rate: ClassVar[tuple[float, int]] = (5.0, 10)

    def send_quantity_batch(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        self.require("shop_id")
        self.limited("inventory")
        answer = self.call_json("POST", f"/v1/shops/{self.settings['shop_id']}/inventory", json={"updates": [
            {"sku": u.sku, "quantity": max(u.quantity, 0), "status": shown_state(u)} for u in batch]})
        replies = {str(r.get("sku")): ItemReply(r.get("status") == "ok", str(r.get("message") or ""))
                   for r in (answer or {}).get("results") or [] if isinstance(r, dict)}
        return batch_results(batch, replies, self.label, shown_state)

    # --- orders --------------------------------------------------------------------------

    order_poll_minutes: ClassVar[int] = 2

    def orders_configured(self) -> bool:
        return bool(self.settings.get("base_url") and self.settings.get("shop_id") and self.credentials.get("api_key"))

    def fetch_orders(self, updated_after: datetime, page: str | None = None) -> OrderPage:
        self.require("shop_id")
        params: dict[str, Any] = {"updated_after": iso_z(updated_after), "page_size": ORDERS_PAGE}
        if page:
            params["page_token"] = page
        self.limited("orders")
        answer = self.call_json("GET", f"/v1/shops/{self.settings['shop_id']}/orders", params=params) or {}
        token = answer.get("next_page_token")
        return OrderPage([self.channel_order(o) for o in answer.get("orders") or []], str(token) if token else None)

    def fetch_order(self, order_id: str) -> ChannelOrder | None:
        self.require("shop_id")
        self.limited("orders")
        answer = self.call_json_or_none(
            "GET", f"/v1/shops/{self.settings['shop_id']}/orders/{quote(order_id, safe='')}")
        return None if answer is None else self.channel_order(answer)

    def channel_order(self, document: Any) -> ChannelOrder:
        try:
            return contract_order(document, ORDER_STATUSES, self.label, cancelled_field=True)
        except ValueError as exc:
            raise ChannelRejected(str(exc)) from exc
