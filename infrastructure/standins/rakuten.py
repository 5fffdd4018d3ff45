"""Rakuten stand-in, following our own contract (docs/channels/rakuten.md): the listings report,
paged by `page_token`, and the inventory endpoint (at most 100 updates, one result per update,
200 or 207 when some failed), behind a bearer API key, 429 with Retry-After when called too fast.
A listing the seller marked unlimited (`unlimited`, a set of SKUs) says `unlimited: true`. An item
of a variation listing names it (`variation_listing_id`) and its attributes (`variation`).
Orders: changed after a time, paged by `page_token`, and one by id, over the orders buyers placed
(`/_standin/orders`)."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.demo.listings import DemoListing, demo_listings
from infrastructure.standins.base import PlacedOrder, StandIn, contract_order_document, json_response, parse_iso

API_KEY = "demo-rakuten-key"
SHOP_ID = "demo-shop"
MAX_PAGE_SIZE = 500
MAX_UPDATES = 100
MAX_ORDERS_PAGE = 100
_RAKUTEN_STATUS = {"open": "paid", "shipped": "shipped", "cancelled": "cancelled"}


class RakutenStandIn(StandIn):
    name = "rakuten"
    limits = {"get_listings": (5.0, 10), "post_inventory": (5.0, 10), "get_orders": (5.0, 10), "get_order": (5.0, 10)}
    serves_orders = True

    def __init__(self, *, listings: list[DemoListing] | None = None, unlimited: set[str] | None = None,
                 **kwargs: Any) -> None:
        self.listings = listings if listings is not None else demo_listings("RAK", products=2, colours=5)
        # SKUs the seller marked unlimited (Rakuten does not track their stock); by default the demo's
        # last listing of a product the seller does not stock
        self.unlimited = unlimited if unlimited is not None else (
            {self.listings[-1].sku} if listings is None else set())
        super().__init__(**kwargs)

    def rules(self) -> list[Rule]:
        return [Rule("/v1/shops/<shop_id>/listings", endpoint="get_listings", methods=["GET"]),
                Rule("/v1/shops/<shop_id>/inventory", endpoint="post_inventory", methods=["POST"]),
                Rule("/v1/shops/<shop_id>/orders", endpoint="get_orders", methods=["GET"]),
                Rule("/v1/shops/<shop_id>/orders/<order_id>", endpoint="get_order", methods=["GET"])]

    def listing(self, sku: str) -> DemoListing:
        return next(item for item in self.listings if item.sku == sku)

    def _refused(self, request: Request, shop_id: str) -> Response | None:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return json_response({"error": {"code": "unauthorized", "message": "Unknown API key"}}, 401)
        if shop_id != SHOP_ID:
            return json_response({"error": {"code": "not_found", "message": f"No shop {shop_id}"}}, 404)
        return None

    def post_inventory(self, request: Request, shop_id: str) -> Response:
        if refused := self._refused(request, shop_id):
            return refused
        updates = (request.get_json(silent=True) or {}).get("updates")
        if not isinstance(updates, list) or not 1 <= len(updates) <= MAX_UPDATES:
            return json_response({"error": {"code": "invalid_request",
                                            "message": f"updates must hold 1 to {MAX_UPDATES} entries"}}, 400)
        results = []
        with self.lock:
            by_sku = {item.sku: item for item in self.listings}
            for update in updates:
                item = by_sku.get(str(update.get("sku")))
                quantity, status = update.get("quantity"), update.get("status")
                if item is None:
                    results.append({"sku": update.get("sku"), "status": "error", "message": "unknown SKU"})
                elif not isinstance(quantity, int) or quantity < 0 or status not in ("active", "disabled") or (
                        quantity == 0 and status == "active"):
                    results.append({"sku": item.sku, "status": "error",
                                    "message": "quantity must be >= 0, status active or disabled (0 is disabled)"})
                else:
                    item.quantity, item.active = quantity, status == "active"
                    results.append({"sku": item.sku, "status": "ok", "message": ""})
        failed = any(r["status"] != "ok" for r in results)
        return json_response({"results": results}, 207 if failed else 200)

    def fault_response(self, status: int) -> Response:
        code = "rate_limited" if status == 429 else "internal_error"
        return json_response({"error": {"code": code, "message": f"Stand-in fault {status}"}}, status,
                             {"Retry-After": "1"} if status == 429 else None)

    def get_listings(self, request: Request, shop_id: str) -> Response:
        if refused := self._refused(request, shop_id):
            return refused
        size = min(int(request.args.get("page_size", 100)), MAX_PAGE_SIZE)
        start = int(request.args.get("page_token") or 0)
        with self.lock:
            page = self.listings[start:start + size]
            more = start + size < len(self.listings)
        return json_response({
            "listings": [{"sku": i.sku, "title": i.title, "price": i.price, "currency": "GBP", "quantity": i.quantity,
                          "status": "active" if i.active else "disabled", "listing_id": i.listing_id, "ean": i.barcode,
                          "unlimited": i.sku in self.unlimited,
                          **({"variation_listing_id": i.parent, "variation": dict(i.variation)} if i.parent else {})}
                         for i in page],
            "next_page_token": str(start + size) if more else None,
        })

    # --- orders -------------------------------------------------------------------------------

    def order_id_for(self, number: int) -> str:
        return f"RK-{500000 + number}"

    def order_document(self, placed: PlacedOrder) -> dict[str, Any]:
        return contract_order_document(placed, _RAKUTEN_STATUS[placed.status], "GBP")

    def get_orders(self, request: Request, shop_id: str) -> Response:
        if refused := self._refused(request, shop_id):
            return refused
        since = parse_iso(request.args.get("updated_after"))
        size = int(request.args.get("page_size", 50))
        if since is None or not 1 <= size <= MAX_ORDERS_PAGE:
            return json_response({"error": {"code": "invalid_request", "message": "updated_after (ISO 8601) is "
                                            f"required, page_size is 1..{MAX_ORDERS_PAGE}"}}, 400)
        start = int(request.args.get("page_token") or 0)
        chosen = self.orders_changed_since(since)
        with self.lock:
            page = [self.order_document(o) for o in chosen[start:start + size]]
        more = start + size < len(chosen)
        return json_response({"orders": page, "next_page_token": str(start + size) if more else None})

    def get_order(self, request: Request, shop_id: str, order_id: str) -> Response:
        if refused := self._refused(request, shop_id):
            return refused
        with self.lock:
            placed = self.orders.get(order_id)
            if placed is None:
                return json_response({"error": {"code": "not_found", "message": f"No order {order_id}"}}, 404)
            return json_response(self.order_document(placed))
