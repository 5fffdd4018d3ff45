"""Magento 2 REST stand-in: products search with searchCriteria (asking past the last page answers
the last page again, as Magento does), MSI source items and legacy stock items, behind a bearer
integration token.

Stock: POST source-items (all or nothing: an unknown SKU or source refuses the whole call, as
Magento's validation does), PUT products/{sku} (status 1 enabled / 2 disabled), PUT
products/{sku}/stockItems/{itemId} (qty, is_in_stock, back-orders). A listing's quantity is the
sum over its sources (MSI) or its stock item's qty (legacy).

Orders: GET orders (searchCriteria on updated_at, increment_id or entity_id with eq / gt / gteq,
sorted by updated_at or entity_id, pages as products) and GET orders/{id}, over the orders buyers
placed (`/_standin/orders`). A SKU of a configurable product (`configurables`: simple SKU ->
parent SKU) is ordered as Magento records it: the configurable parent item and its simple child."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.demo.listings import DemoListing, demo_listings
from infrastructure.standins.base import PlacedOrder, StandIn, json_response
from infrastructure.standins.contract import Contract, RoutedContract, spec

REST = "/rest/default/V1"
ACCESS_TOKEN = "demo-magento-integration-token"  # noqa: S105 - the stand-in's own demo credential
SOURCES = ("default", "overflow")


# Adobe's generated schema gives void service methods no 200 response (only 400/401/default, whose
# body is an error): Magento answers them 200 with `[]`. For those, the request is checked against
# the document and the answer against that fact.
VOID_OPERATIONS = {("POST", f"{REST}/inventory/source-items")}


class MagentoContract(Contract):
    def check(self, request: Request, status: int, headers: dict[str, str], body: bytes) -> list[str]:
        if (request.method, request.path) not in VOID_OPERATIONS or status != 200:
            return super().check(request, status, headers, body)
        problems = [p for p in super().check(request, status, headers, body) if not p.startswith("response")]
        return problems if body.strip() == b"[]" else [*problems, f"response 200 of a void method is {body[:50]!r}"]


def magento_contract() -> RoutedContract:
    return RoutedContract([(REST, MagentoContract(spec("magento", "admin-schema-2.4.8.oas3.json")))])


class MagentoStandIn(StandIn):
    name = "magento"
    limits = {"products": (20.0, 40), "source_items": (20.0, 40), "save_source_items": (20.0, 40),
              "save_product": (20.0, 40), "save_stock_item": (20.0, 40), "list_orders": (20.0, 40),
              "get_order": (20.0, 40)}
    serves_orders = True

    def __init__(self, *, listings: list[DemoListing] | None = None, configurables: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        self.listings = listings if listings is not None else demo_listings("WEB", products=5, colours=4)
        # The demo catalogue: "MUG-BLACK" is a colour of the configurable "MUG"; "WEB-ONLY-001" is simple.
        self.configurables = configurables if configurables is not None else {
            item.sku: item.sku.rsplit("-", 1)[0] for item in self.listings if "-ONLY-" not in item.sku}
        # MSI quantity per source: two thirds in the first source, a third in the second
        self.sources = {item.sku: {SOURCES[0]: item.quantity - item.quantity // 3, SOURCES[1]: item.quantity // 3}
                        for item in self.listings}
        kwargs.setdefault("contract", magento_contract())
        super().__init__(**kwargs)

    def rules(self) -> list[Rule]:
        return [
            Rule(f"{REST}/products", endpoint="products", methods=["GET"]),
            Rule(f"{REST}/inventory/source-items", endpoint="source_items", methods=["GET"]),
            Rule(f"{REST}/stockItems/<sku>", endpoint="stock_item", methods=["GET"]),
            Rule(f"{REST}/inventory/source-items", endpoint="save_source_items", methods=["POST"]),
            Rule(f"{REST}/products/<sku>", endpoint="save_product", methods=["PUT"]),
            Rule(f"{REST}/products/<sku>/stockItems/<int:item_id>", endpoint="save_stock_item", methods=["PUT"]),
            Rule(f"{REST}/orders", endpoint="list_orders", methods=["GET"]),
            Rule(f"{REST}/orders/<int:entity_id>", endpoint="get_order", methods=["GET"]),
        ]

    def listing(self, sku: str) -> DemoListing:
        return next(item for item in self.listings if item.sku == sku)

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
                       "extension_attributes": {"stock_item": stock_item(n + 1, item.quantity, item.backorders)}}
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
                    rows += [{"sku": item.sku, "source_code": code, "quantity": quantity, "status": int(quantity > 0)}
                             for code, quantity in self.sources.get(item.sku, {}).items()]
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
        return json_response(stock_item(self.listings.index(item) + 1, item.quantity, item.backorders))

    # --- orders ------------------------------------------------------------------------------

    def order_id_for(self, number: int) -> str:
        return f"{number:09d}"  # increment_id: what the seller sees

    def take_units(self, item: Any, quantity: int) -> None:
        """Salable quantity goes down by the order, taken from the sources in order."""
        item.quantity -= quantity
        left = quantity
        for code in SOURCES:
            taken = min(left, self.sources.get(item.sku, {}).get(code, 0))
            if taken:
                self.sources[item.sku][code] -= taken
                left -= taken

    def return_units(self, item: Any, quantity: int) -> None:
        item.quantity += quantity
        if item.sku in self.sources:
            self.sources[item.sku][SOURCES[0]] += quantity

    def order_document(self, placed: PlacedOrder) -> dict[str, Any]:
        """A salesDataOrderInterface; a configurable's line is its parent item and the child under it."""
        state = {"open": "processing", "shipped": "complete", "cancelled": "canceled"}[placed.status]
        items: list[dict[str, Any]] = []
        for index, line in enumerate(placed.lines, start=1):
            item_id = placed.number * 1000 + index * 2
            ordered = float(line.quantity)
            quantities = {"qty_ordered": ordered, "qty_canceled": ordered if line.cancelled else 0.0,
                          "qty_refunded": 0.0,
                          "qty_shipped": ordered if placed.status == "shipped" and not line.cancelled else 0.0}
            common = {"order_id": placed.number, "created_at": _stamp(placed.created),
                      "updated_at": _stamp(placed.updated), "store_id": 1, "is_virtual": 0}
            parent_sku = self.configurables.get(line.sku)
            if parent_sku:
                parent = {"item_id": item_id, "sku": line.sku, "name": line.title.split(" (")[0],
                          "product_type": "configurable", "price": line.unit_price, **quantities, **common}
                items.append(parent)
                items.append({"item_id": item_id + 1, "sku": line.sku, "name": line.title, "product_type": "simple",
                              "parent_item_id": item_id, "price": 0.0, **quantities, **common})
            else:
                items.append({"item_id": item_id, "sku": line.sku, "name": line.title, "product_type": "simple",
                              "price": line.unit_price, **quantities, **common})
        total = round(sum(line.unit_price * line.quantity for line in placed.lines if not line.cancelled), 2)
        return {
            "entity_id": placed.number, "increment_id": placed.order_id, "state": state, "status": state,
            "created_at": _stamp(placed.created), "updated_at": _stamp(placed.updated), "store_id": 1,
            "customer_email": "buyer@example.com", "customer_firstname": "Demo", "customer_lastname": "Buyer",
            "customer_is_guest": 1, "order_currency_code": "GBP", "base_currency_code": "GBP",
            "grand_total": total, "base_grand_total": total, "total_qty_ordered": float(
                sum(line.quantity for line in placed.lines)), "items": items,
        }

    def list_orders(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        args = request.args
        prefix = "searchCriteria[filterGroups][0][filters][0]"
        field, value = args.get(f"{prefix}[field]"), args.get(f"{prefix}[value]", "")
        condition = args.get(f"{prefix}[conditionType]", "eq")
        with self.lock:
            documents = [self.order_document(o) for o in self.orders.values()]
        if field:
            if field not in ("updated_at", "created_at", "increment_id", "entity_id") or condition not in (
                    "eq", "gt", "gteq", "lt", "lteq"):
                return _invalid('"%1" is not a supported search field or condition.', [f"{field} {condition}"])
            documents = [d for d in documents if _matches(str(d[field]), condition, value, field == "entity_id")]
        order_by = args.get("searchCriteria[sortOrders][0][field]", "entity_id")
        descending = args.get("searchCriteria[sortOrders][0][direction]", "ASC").upper() == "DESC"
        documents.sort(key=lambda d: (str(d.get(order_by, "")).zfill(20), d["entity_id"]), reverse=descending)
        size = int(args.get("searchCriteria[pageSize]", 20))
        last_page = max((len(documents) + size - 1) // size, 1)
        page = min(int(args.get("searchCriteria[currentPage]", 1)), last_page)  # Magento's quirk
        return json_response({"items": documents[(page - 1) * size: page * size],
                              "search_criteria": {"filter_groups": [], "page_size": size, "current_page": page},
                              "total_count": len(documents)})

    def get_order(self, request: Request, entity_id: int) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            placed = next((o for o in self.orders.values() if o.number == entity_id), None)
            if placed is None:
                return _invalid("The entity that was requested doesn't exist. Verify the entity and try again.",
                                status=404)
            return json_response(self.order_document(placed))

    # --- stock -------------------------------------------------------------------------------

    def save_source_items(self, request: Request) -> Response:
        """InventoryApi SourceItemsSaveInterface: validated as a whole, saved as a whole."""
        if refused := self._unauthorized(request):
            return refused
        rows = (request.get_json(silent=True) or {}).get("sourceItems")
        if not isinstance(rows, list) or not rows:
            return _invalid("Input data is invalid")
        with self.lock:
            for row in rows:
                sku, code, quantity = row.get("sku"), row.get("source_code"), row.get("quantity")
                if sku not in self.sources:
                    return _invalid('The product that was requested doesn\'t exist. Verify the product and try '
                                    'again.', [])
                if code not in SOURCES:
                    return _invalid("Source item validation failed: source %1 does not exist", [str(code)])
                if not isinstance(quantity, int | float) or quantity < 0 or row.get("status") not in (0, 1):
                    return _invalid("Source item validation failed: quantity or status is not valid")
            for row in rows:
                self.sources[row["sku"]][row["source_code"]] = int(row["quantity"])
                self.listing(row["sku"]).quantity = sum(self.sources[row["sku"]].values())
        return Response(b"[]", 200, content_type="application/json")

    def save_product(self, request: Request, sku: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        product = (request.get_json(silent=True) or {}).get("product") or {}
        with self.lock:
            item = next((i for i in self.listings if i.sku == sku), None)
            if item is None:
                return _invalid("The product that was requested doesn't exist. Verify the product and try again.",
                                status=404)
            if product.get("status") in (1, 2):
                item.active = product["status"] == 1
            n = self.listings.index(item) + 1
        return json_response({"id": n, "sku": item.sku, "name": item.title, "price": item.price,
                              "status": 1 if item.active else 2, "visibility": 4, "type_id": "simple",
                              "attribute_set_id": 4})

    def save_stock_item(self, request: Request, sku: str, item_id: int) -> Response:
        if refused := self._unauthorized(request):
            return refused
        given = (request.get_json(silent=True) or {}).get("stockItem") or {}
        with self.lock:
            item = next((i for i in self.listings if i.sku == sku), None)
            if item is None or self.listings.index(item) + 1 != item_id:
                return _invalid("The stock item for Product is not found.", status=404)
            item.quantity = int(given.get("qty", item.quantity))
            item.backorders = int(given.get("backorders") or 0) > 0 and not given.get("use_config_backorders")
            if sku in self.sources:  # the legacy qty is the default source's quantity in MSI
                self.sources[sku] = {SOURCES[0]: item.quantity, SOURCES[1]: 0}
        return json_response(item_id)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _matches(actual: str, condition: str, wanted: str, numeric: bool) -> bool:
    left, right = (int(actual), int(wanted or 0)) if numeric else (actual, wanted)
    return {"eq": left == right, "gt": left > right, "gteq": left >= right, "lt": left < right,
            "lteq": left <= right}[condition]


def _invalid(message: str, parameters: list[str] | None = None, status: int = 400) -> Response:
    return json_response({"message": message, "parameters": parameters or []}, status)


def stock_item(product_id: int, quantity: int, backorders: bool = False) -> dict[str, Any]:
    """A legacy CatalogInventory stock item with every field the schema requires."""
    return {
        "item_id": product_id, "product_id": product_id, "stock_id": 1, "qty": quantity,
        "is_in_stock": quantity > 0, "is_qty_decimal": False, "show_default_notification_message": False,
        "use_config_min_qty": True, "min_qty": 0, "use_config_min_sale_qty": 1, "min_sale_qty": 1,
        "use_config_max_sale_qty": True, "max_sale_qty": 10000, "use_config_backorders": not backorders,
        "backorders": 1 if backorders else 0,
        "use_config_notify_stock_qty": True, "notify_stock_qty": 1, "use_config_qty_increments": True,
        "qty_increments": 0, "use_config_enable_qty_inc": True, "enable_qty_increments": False,
        "use_config_manage_stock": True, "manage_stock": True, "low_stock_date": "", "is_decimal_divided": False,
        "stock_status_changed_auto": 0,
    }
