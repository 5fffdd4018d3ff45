"""The bespoke website stand-in, following our contract (docs/channels/generic.md): the listings
endpoint, paged, the stock endpoint and the orders endpoints (changed after a time, paged, and one
by id, over the orders buyers placed at `/_standin/orders`), refusing requests whose HMAC signature
does not verify."""

from __future__ import annotations

import hmac
import time
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.demo.listings import DemoListing, demo_listings
from infrastructure.standins.base import PlacedOrder, StandIn, contract_order_document, json_response, parse_iso
from stocksync.channels.generic import signature

API_KEY = "demo-website-shared-secret"
MAX_SKEW_S = 300
MAX_ORDERS_PER_PAGE = 100


class GenericStandIn(StandIn):
    name = "website"
    limits = {"get_listings": (10.0, 20), "post_stock": (5.0, 10), "get_orders": (5.0, 10), "get_order": (5.0, 10)}
    serves_orders = True
    stock_batch = 100

    def __init__(self, *, listings: list[DemoListing] | None = None, **kwargs: Any) -> None:
        self.listings = listings if listings is not None else demo_listings("WEBSITE", products=5, colours=3)
        super().__init__(**kwargs)

    def rules(self) -> list[Rule]:
        return [Rule("/stocksync/v1/listings", endpoint="get_listings", methods=["GET"]),
                Rule("/stocksync/v1/stock", endpoint="post_stock", methods=["POST"]),
                Rule("/stocksync/v1/orders", endpoint="get_orders", methods=["GET"]),
                Rule("/stocksync/v1/orders/<order_id>", endpoint="get_order", methods=["GET"])]

    def _unsigned(self, request: Request) -> Response | None:
        timestamp = request.headers.get("X-Stocksync-Timestamp", "")
        given = request.headers.get("X-Stocksync-Signature", "").removeprefix("v1=")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_S:
            return json_response({"error": "stale or missing X-Stocksync-Timestamp"}, 401)
        expected = signature(API_KEY, timestamp, request.method, request.full_path.rstrip("?"), request.get_data())
        if not hmac.compare_digest(given, expected):
            return json_response({"error": "bad signature"}, 401)
        return None

    def get_listings(self, request: Request) -> Response:
        if refused := self._unsigned(request):
            return refused
        page = max(int(request.args.get("page", 1)), 1)
        per_page = min(int(request.args.get("per_page", 50)), 200)
        with self.lock:
            chunk = self.listings[(page - 1) * per_page: page * per_page]
            more = page * per_page < len(self.listings)
        return json_response({
            "listings": [{"sku": i.sku, "title": i.title, "price": i.price, "currency": "GBP", "quantity": i.quantity,
                          "barcode": i.barcode, "state": "active" if i.active else "disabled",
                          "listing_id": i.listing_id} for i in chunk],
            "page": page, "per_page": per_page, "has_more": more,
        })

    def post_stock(self, request: Request) -> Response:
        """Our stock contract: at most 100 items, one result per item; unknown SKUs are refused per item."""
        if refused := self._unsigned(request):
            return refused
        items = (request.get_json(silent=True) or {}).get("items")
        if not isinstance(items, list) or not 1 <= len(items) <= self.stock_batch:
            return json_response({"error": f"items must hold 1 to {self.stock_batch} entries"}, 400)
        results = []
        with self.lock:
            by_sku = {listing.sku: listing for listing in self.listings}
            for item in items:
                listing = by_sku.get(str(item.get("sku")))
                quantity = item.get("quantity")
                if listing is None:
                    results.append({"sku": item.get("sku"), "status": "error", "message": "unknown SKU"})
                    continue
                if not isinstance(quantity, int) or quantity < 0 or item.get("state") not in ("active", "disabled"):
                    results.append({"sku": listing.sku, "status": "error", "message": "bad quantity or state"})
                    continue
                listing.quantity, listing.active = quantity, item["state"] == "active"
                listing.backorders = bool(item.get("backorders"))
                results.append({"sku": listing.sku, "status": "ok", "message": ""})
        return json_response({"results": results})

    # --- orders -------------------------------------------------------------------------------

    def order_id_for(self, number: int) -> str:
        return f"W{1000 + number}"

    def order_document(self, placed: PlacedOrder) -> dict[str, Any]:
        document = contract_order_document(placed, placed.status, "GBP")
        for line in document["lines"]:  # our contract: quantity is the units still ordered
            line["quantity"] -= line.pop("quantity_cancelled")
        return document

    def get_orders(self, request: Request) -> Response:
        if refused := self._unsigned(request):
            return refused
        since = parse_iso(request.args.get("updated_after"))
        page = max(int(request.args.get("page", 1)), 1)
        per_page = int(request.args.get("per_page", 50))
        if since is None or not 1 <= per_page <= MAX_ORDERS_PER_PAGE:
            return json_response({"error": f"updated_after is required, per_page 1..{MAX_ORDERS_PER_PAGE}"}, 400)
        chosen = self.orders_changed_since(since)
        with self.lock:
            documents = [self.order_document(o) for o in chosen[(page - 1) * per_page: page * per_page]]
        return json_response({"orders": documents, "page": page, "per_page": per_page,
                              "has_more": page * per_page < len(chosen)})

    def get_order(self, request: Request, order_id: str) -> Response:
        if refused := self._unsigned(request):
            return refused
        with self.lock:
            placed = self.orders.get(order_id)
            if placed is None:
                return json_response({"error": f"no order {order_id}"}, 404)
            return json_response(self.order_document(placed))
