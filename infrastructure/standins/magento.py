"""Magento 2 REST stand-in: products search with searchCriteria (asking past the last page answers
the last page again, as Magento does), MSI source items and legacy stock items, behind a bearer
integration token."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.standins.base import StandIn, json_response
from infrastructure.standins.contract import Contract, RoutedContract, spec
from infrastructure.standins.demo_listings import DemoListing, demo_listings

REST = "/rest/default/V1"
ACCESS_TOKEN = "demo-magento-integration-token"  # noqa: S105 - the stand-in's own demo credential
SOURCES = ("default", "overflow")


def magento_contract() -> RoutedContract:
    return RoutedContract([(REST, Contract(spec("magento", "admin-schema-2.4.8.oas3.json")))])


class MagentoStandIn(StandIn):
    name = "magento"
    limits = {"products": (20.0, 40), "source_items": (20.0, 40)}

    def __init__(self, *, listings: list[DemoListing] | None = None, **kwargs: Any) -> None:
        self.listings = listings if listings is not None else demo_listings("WEB", products=5, colours=4)
        kwargs.setdefault("contract", magento_contract())
        super().__init__(**kwargs)

    def rules(self) -> list[Rule]:
        return [
            Rule(f"{REST}/products", endpoint="products", methods=["GET"]),
            Rule(f"{REST}/inventory/source-items", endpoint="source_items", methods=["GET"]),
            Rule(f"{REST}/stockItems/<sku>", endpoint="stock_item", methods=["GET"]),
        ]

    def fault_response(self, status: int) -> Response:
        return json_response({"message": "Too many requests" if status == 429 else "Internal Error"}, status,
                             {"Retry-After": "1"} if status == 429 else None)

    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") == f"Bearer {ACCESS_TOKEN}":
            return None
        return json_response({"message": "The consumer isn't authorized to access %resources.",
                              "parameters": {"resources": "Magento_Catalog::products"}}, 401)

    def products(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        size = int(request.args.get("searchCriteria[pageSize]", 20))
        with self.lock:
            items = list(enumerate(self.listings))
        last_page = max((len(items) + size - 1) // size, 1)
        page = min(int(request.args.get("searchCriteria[currentPage]", 1)), last_page)  # Magento's quirk
        chunk = items[(page - 1) * size: page * size]
        return json_response({
            "items": [{"id": n + 1, "sku": item.sku, "name": item.title, "price": item.price,
                       "status": 1 if item.active else 2, "visibility": 4, "type_id": "simple", "attribute_set_id": 4,
                       "extension_attributes": {"stock_item": stock_item(n + 1, item.quantity)}}
                      for n, item in chunk],
            "search_criteria": {"filter_groups": [], "page_size": size, "current_page": page},
            "total_count": len(items),
        })

    def source_items(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        wanted = set((request.args.get("searchCriteria[filterGroups][0][filters][0][value]") or "").split(","))
        rows = []
        with self.lock:
            for item in self.listings:
                if item.sku in wanted:
                    split = item.quantity // 3
                    rows += [{"sku": item.sku, "source_code": SOURCES[0], "quantity": item.quantity - split,
                              "status": 1},
                             {"sku": item.sku, "source_code": SOURCES[1], "quantity": split, "status": 1}]
        size = int(request.args.get("searchCriteria[pageSize]", 20))
        last_page = max((len(rows) + size - 1) // size, 1)
        page = min(int(request.args.get("searchCriteria[currentPage]", 1)), last_page)
        return json_response({"items": rows[(page - 1) * size: page * size],
                              "search_criteria": {"filter_groups": [], "page_size": size, "current_page": page},
                              "total_count": len(rows)})

    def stock_item(self, request: Request, sku: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            item = next((i for i in self.listings if i.sku == sku), None)
        if item is None:
            return json_response({"message": "The Product with the \"%1\" SKU doesn't exist.",
                                  "parameters": [sku]}, 404)
        return json_response(stock_item(self.listings.index(item) + 1, item.quantity))


def stock_item(product_id: int, quantity: int) -> dict[str, Any]:
    """A legacy CatalogInventory stock item with every field the schema requires."""
    return {
        "item_id": product_id, "product_id": product_id, "stock_id": 1, "qty": quantity,
        "is_in_stock": quantity > 0, "is_qty_decimal": False, "show_default_notification_message": False,
        "use_config_min_qty": True, "min_qty": 0, "use_config_min_sale_qty": 1, "min_sale_qty": 1,
        "use_config_max_sale_qty": True, "max_sale_qty": 10000, "use_config_backorders": True, "backorders": 0,
        "use_config_notify_stock_qty": True, "notify_stock_qty": 1, "use_config_qty_increments": True,
        "qty_increments": 0, "use_config_enable_qty_inc": True, "enable_qty_increments": False,
        "use_config_manage_stock": True, "manage_stock": True, "low_stock_date": "", "is_decimal_divided": False,
        "stock_status_changed_auto": 0,
    }
