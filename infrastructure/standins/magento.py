"""Magento 2 REST stand-in: products search with searchCriteria (asking past the last page answers
the last page again, as Magento does, and without the stock item, which Magento's search leaves
out), MSI source items and legacy stock items, behind the integration's bearer token or its OAuth
1.0a signatures (verified with oauthlib's RFC 5849 functions, refused as Magento refuses them).

Every route answers under /rest/<store code>/V1 for the store views "default" and "fr" (each on a
website of its own) and "all", the global scope. A product status written under a view's code is
that view's own value; under "all" it is the global value, which every view without its own shows
(`active_in`). Stock items, source items and orders have no store scope.

Stock: POST source-items (all or nothing: an unknown SKU or source refuses the whole call, as
Magento's validation does), PUT products/{sku} (status 1 enabled / 2 disabled), PUT
products/{sku}/stockItems/{itemId} (qty, is_in_stock, back-orders). A listing's quantity is the
sum over its sources (MSI) or its stock item's qty (legacy).

Orders: GET orders (searchCriteria on updated_at, increment_id or entity_id with eq / gt / gteq,
sorted by updated_at or entity_id, pages as products) and GET orders/{id}, over the orders buyers
placed (`/_standin/orders`). A SKU of a configurable product (`configurables`: simple SKU ->
parent SKU) is ordered as Magento records it: the configurable parent item and its simple child.

Configurable products. A listing with a `parent` is a simple child of that configurable, which the
products search lists too (type_id `configurable`, with its configurable_product_options and
links, and no stock of its own; searchCriteria may filter on type_id); GET
configurable-products/{sku}/children gives its simple children, each with the option id of every
attribute it varies by in its custom_attributes; GET products/attributes (filtered on
attribute_id) gives an attribute's code and its options' labels."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.demo.listings import DemoListing, demo_listings
from infrastructure.standins.base import PlacedOrder, StandIn, json_response
from infrastructure.standins.contract import Contract, RoutedContract, spec

REST = "/rest/default/V1"
ACCESS_TOKEN = "demo-magento-integration-token"  # noqa: S105 - the stand-in's own demo credential
SOURCES = ("default", "overflow")
# Two store views, each on a website of its own (the product status is website-scoped: a value written
# in one view's scope does not reach the other), and `all`, the global scope.
STORE_VIEWS = ("default", "fr")
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 300  # a search's page size when not asked; its Web API input limit
ALL_STORES = "all"
STORE_CODES = (*STORE_VIEWS, ALL_STORES)
# The integration's OAuth 1.0a credentials (System > Integrations shows all four); the access token
# is also the bearer token.
OAUTH_CONSUMER_KEY = "demo-magento-consumer-key"
OAUTH_CONSUMER_SECRET = "demo-magento-consumer-secret"  # noqa: S105 - the stand-in's own demo credential
OAUTH_TOKEN_SECRET = "demo-magento-token-secret"  # noqa: S105 - the stand-in's own demo credential
OAUTH_CONSUMER_ID = 1
OAUTH_TIME_DEVIATION = 600  # seconds a timestamp may run ahead (Magento's Nonce\Generator::TIME_DEVIATION)


# Adobe's generated schema gives void service methods no 200 response (only 400/401/default, whose
# body is an error): Magento answers them 200 with `[]`. For those, the request is checked against
# the document and the answer against that fact.
VOID_OPERATIONS = {("POST", f"{REST}/inventory/source-items")}


class MagentoContract(Contract):
    """The admin schema, for every store code: the document's server is /rest/default, and the same
    operations answer under /rest/<any store code>/V1."""

    def check(self, request: Request, status: int, headers: dict[str, str], body: bytes) -> list[str]:
        request = cast(Request, _AtDefaultStore(request))
        if (request.method, request.path) not in VOID_OPERATIONS or status != 200:
            return super().check(request, status, headers, body)
        problems = [p for p in super().check(request, status, headers, body) if not p.startswith("response")]
        return problems if body.strip() == b"[]" else [*problems, f"response 200 of a void method is {body[:50]!r}"]


class _AtDefaultStore:
    """A request as if sent to /rest/default/V1 (what the document describes), otherwise the same."""

    def __init__(self, request: Request) -> None:
        self._request = request
        self.path = re.sub(r"^/rest/[^/]+/V1/", f"{REST}/", request.path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def magento_contract() -> RoutedContract:
    return RoutedContract([("/rest/", MagentoContract(spec("magento", "admin-schema-2.4.8.oas3.json")))])


class MagentoStandIn(StandIn):
    name = "magento"
    limits = {"products": (20.0, 40), "product": (20.0, 40), "source_items": (20.0, 40),
              "save_source_items": (20.0, 40), "save_product": (20.0, 40), "save_stock_item": (20.0, 40),
              "list_orders": (20.0, 40), "get_order": (20.0, 40)}
    serves_orders = True

    def __init__(self, *, listings: list[DemoListing] | None = None, configurables: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        self.listings = listings if listings is not None else demo_listings("WEB", products=5, colours=4)
        # The demo catalogue: "MUG-BLACK" is a colour of the configurable "MUG"; "WEB-ONLY-001" is simple.
        self.configurables = configurables if configurables is not None else {
            item.sku: item.sku.rsplit("-", 1)[0] for item in self.listings if "-ONLY-" not in item.sku}
        self._index_variations()
        # MSI quantity per source: two thirds in the first source, a third in the second
        self.sources = {item.sku: {SOURCES[0]: item.quantity - item.quantity // 3, SOURCES[1]: item.quantity // 3}
                        for item in self.listings}
        self.view_status: dict[str, dict[str, bool]] = {}  # SKU -> store view -> enabled, where set in that view
        self.oauth_nonces: set[tuple[str | None, str]] = set()
        kwargs.setdefault("contract", magento_contract())
        super().__init__(**kwargs)

    def rules(self) -> list[Rule]:
        rest = "/rest/<store>/V1"
        return [
            Rule(f"{rest}/products", endpoint="products", methods=["GET"]),
            Rule(f"{rest}/inventory/source-items", endpoint="source_items", methods=["GET"]),
            Rule(f"{rest}/stockItems/<sku>", endpoint="stock_item", methods=["GET"]),
            Rule(f"{rest}/inventory/source-items", endpoint="save_source_items", methods=["POST"]),
            Rule(f"{rest}/products/<sku>", endpoint="product", methods=["GET"]),
            Rule(f"{rest}/configurable-products/<sku>/children", endpoint="configurable_children", methods=["GET"]),
            Rule(f"{rest}/products/attributes", endpoint="product_attributes", methods=["GET"]),
            Rule(f"{rest}/products/<sku>", endpoint="save_product", methods=["PUT"]),
            Rule(f"{rest}/products/<sku>/stockItems/<int:item_id>", endpoint="save_stock_item", methods=["PUT"]),
            Rule(f"{rest}/orders", endpoint="list_orders", methods=["GET"]),
            Rule(f"{rest}/orders/<int:entity_id>", endpoint="get_order", methods=["GET"]),
        ]

    def listing(self, sku: str) -> DemoListing:
        return next(item for item in self.listings if item.sku == sku)

    def _index_variations(self) -> None:
        """The configurables' children, and the attributes they vary by: name -> (attribute id, code),
        (name, label) -> option id."""
        self.configurables |= {item.sku: item.parent for item in self.listings if item.parent}
        names = sorted({name for item in self.listings for name in item.variation})
        self.attributes = {name: (93 + n, re.sub(r"\W+", "_", name.casefold())) for n, name in enumerate(names)}
        self.options = {pair: 100 + n for n, pair in enumerate(sorted(
            {(name, value) for item in self.listings for name, value in item.variation.items()}))}

    def listing_added(self, listing: Any, body: Any) -> None:
        self.sources[listing.sku] = {SOURCES[0]: listing.quantity, SOURCES[1]: 0}
        self._index_variations()

    def fault_response(self, status: int) -> Response:
        return json_response({"message": "Too many requests" if status == 429 else "Internal Error"}, status,
                             {"Retry-After": "1"} if status == 429 else None)

    def _refused(self, request: Request, store: str) -> Response | None:
        """401 unless the call carries the integration's bearer token or a valid OAuth 1.0a
        signature; then 404 for a store code the shop does not have."""
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("OAuth "):
            if problem := self._oauth1_problem(request):
                return json_response({"message": problem}, 401)
        elif authorization != f"Bearer {ACCESS_TOKEN}":
            return json_response({"message": "The consumer isn't authorized to access %resources.",
                                  "parameters": {"resources": "Magento_Catalog::products"}}, 401)
        if store not in STORE_CODES:
            return json_response({"message": "Requested store is not found"}, 404)
        return None

    def _oauth1_problem(self, request: Request) -> str | None:  # noqa: PLR0911 - one answer per refusal
        """What Magento's OAuth 1.0a check refuses (Magento\\Framework\\Oauth\\Oauth): another consumer or
        token, an unsupported signature method, a timestamp more than 10 minutes ahead, a nonce used
        before, a signature that does not verify (RFC 5849 3.4, with oauthlib's own functions)."""
        query = request.query_string.decode()  # as sent (werkzeug's request.url decodes it)
        header = {"Authorization": request.headers["Authorization"]}
        params = signature.collect_parameters(uri_query=query, headers=header)  # what the signature covers
        oauth = dict(signature.collect_parameters(uri_query=query, headers=header, exclude_oauth_signature=False))
        verify = {"HMAC-SHA256": signature.verify_hmac_sha256, "HMAC-SHA1": signature.verify_hmac_sha1}.get(
            oauth.get("oauth_signature_method", ""))
        if oauth.get("oauth_consumer_key") != OAUTH_CONSUMER_KEY:
            return "A consumer having the specified key does not exist"
        if oauth.get("oauth_token") != ACCESS_TOKEN:
            return "The token is invalid. Verify the token and try again."
        if verify is None:
            return "The signature method is not supported."
        timestamp = oauth.get("oauth_timestamp", "")
        if not timestamp.isdigit() or not 0 < int(timestamp) <= time.time() + OAUTH_TIME_DEVIATION:
            return "Incorrect timestamp value in the oauth_timestamp parameter"
        signed = OAuthRequest(f"{request.base_url}?{query}" if query else request.base_url, request.method)
        signed.params, signed.signature = params, oauth.get("oauth_signature", "")
        with self.lock:
            nonce = (oauth.get("oauth_consumer_key"), oauth.get("oauth_nonce", ""))
            if nonce in self.oauth_nonces:
                return f"The nonce is already being used by the consumer with ID {OAUTH_CONSUMER_ID}"
            if not verify(signed, OAUTH_CONSUMER_SECRET, OAUTH_TOKEN_SECRET):
                return "The signature is invalid. Verify and try again."
            self.oauth_nonces.add(nonce)
        return None

    def active_in(self, sku: str, store: str) -> bool:
        """The product's status as a store view shows it: its own value there, else the global one."""
        with self.lock:
            override = self.view_status.get(sku, {}).get(store)
            return self.listing(sku).active if override is None or store == ALL_STORES else override

    def listings_state(self) -> list[dict[str, Any]]:
        """What buyers see: `active` only when every store view shows the product."""
        rows = super().listings_state()
        for row in rows:
            views = {view: self.active_in(row["sku"], view) for view in STORE_VIEWS}
            row.update(active=all(views.values()), store_views=views)
        return rows

    def parents(self) -> list[str]:
        """The configurable products' SKUs (of the listings that are their children), in id order."""
        return sorted({item.parent for item in self.listings if item.parent})

    def products(self, request: Request, store: str) -> Response:
        if refused := self._refused(request, store):
            return refused
        prefix = "searchCriteria[filterGroups][0][filters][0]"
        field, value = request.args.get(f"{prefix}[field]"), request.args.get(f"{prefix}[value]", "")
        if field is not None and (field != "type_id" or request.args.get(f"{prefix}[conditionType]", "eq") != "eq"):
            return _invalid('"%1" is not a supported search field or condition.', [str(field)])
        with self.lock:
            documents = [self.product_document(n + 1, item, store) for n, item in enumerate(self.listings)]
            documents += [self.configurable_document(sku, store) for sku in self.parents()]
        if field is not None:
            documents = [d for d in documents if d["type_id"] == value]
        return _search_page(request.args, documents)

    def product(self, request: Request, store: str, sku: str) -> Response:
        """One product as the store view shows it, with its stock item (the search has none)."""
        if refused := self._refused(request, store):
            return refused
        with self.lock:
            item = next((i for i in self.listings if i.sku == sku), None)
            if item is None:
                return _invalid("The product that was requested doesn't exist. Verify the product and try again.",
                                status=404)
            n = self.listings.index(item) + 1
            document = self.product_document(n, item, store)
            document["extension_attributes"]["stock_item"] = stock_item(n, item.quantity, item.backorders)
        return json_response(document)

    def product_document(self, product_id: int, item: DemoListing, store: str) -> dict[str, Any]:
        """A catalogDataProductInterface in a store view's scope. Without the stock item: Magento's
        product search leaves it out (magento/magento2#22737, #24418, #36533; no fix was merged). A
        configurable's child is not visible on its own and names its option of each attribute."""
        document = {"id": product_id, "sku": item.sku, "name": item.title, "price": item.price,
                    "status": 1 if self.active_in(item.sku, store) else 2, "visibility": 1 if item.parent else 4,
                    "type_id": "simple", "attribute_set_id": 4, "extension_attributes": {"website_ids": [1, 2]}}
        if item.parent:
            document["custom_attributes"] = [
                {"attribute_code": self.attributes[name][1], "value": str(self.options[(name, value)])}
                for name, value in item.variation.items()]
        return document

    def configurable_document(self, sku: str, store: str) -> dict[str, Any]:
        """A configurable product: its options (every attribute its children vary by) and its children's ids."""
        product_id = 10000 + self.parents().index(sku)
        children = [(n + 1, item) for n, item in enumerate(self.listings) if item.parent == sku]
        names = sorted({name for _n, item in children for name in item.variation})
        options = [{"id": position + 1, "attribute_id": str(self.attributes[name][0]), "label": name,
                    "position": position, "product_id": product_id,
                    "values": [{"value_index": self.options[(name, value)]} for value in sorted(
                        {item.variation[name] for _n, item in children if name in item.variation})]}
                   for position, name in enumerate(names)]
        return {"id": product_id, "sku": sku, "name": children[0][1].title, "price": 0, "status": 1,
                "visibility": 4, "type_id": "configurable", "attribute_set_id": 4,
                "extension_attributes": {"website_ids": [1, 2], "configurable_product_options": options,
                                         "configurable_product_links": [n for n, _item in children]}}

    def configurable_children(self, request: Request, store: str, sku: str) -> Response:
        if refused := self._refused(request, store):
            return refused
        with self.lock:
            if sku not in self.parents():
                return _invalid("The product that was requested doesn't exist. Verify the product and try again.",
                                status=404)
            return json_response([self.product_document(n + 1, item, store)
                                  for n, item in enumerate(self.listings) if item.parent == sku])

    def product_attributes(self, request: Request, store: str) -> Response:
        """The attribute search, as the configurable options need it: filtered on attribute_id (eq)."""
        if refused := self._refused(request, store):
            return refused
        prefix = "searchCriteria[filterGroups][0][filters][0]"
        field, value = request.args.get(f"{prefix}[field]"), request.args.get(f"{prefix}[value]", "")
        if field not in (None, "attribute_id", "attribute_code"):
            return _invalid('"%1" is not a supported search field or condition.', [str(field)])
        items = []
        for name, (attribute_id, code) in self.attributes.items():
            if field is not None and value not in (str(attribute_id), code):
                continue
            options = [{"label": " ", "value": ""}] + [{"label": label, "value": str(option_id)}
                                                        for (owner, label), option_id in self.options.items()
                                                        if owner == name]
            items.append({"attribute_id": attribute_id, "attribute_code": code, "frontend_input": "select",
                          "entity_type_id": "4", "is_required": False, "default_frontend_label": name,
                          "frontend_labels": [], "options": options, "is_user_defined": True, "scope": "global"})
        return json_response({"items": items, "search_criteria": {"filter_groups": []}, "total_count": len(items)})

    def source_items(self, request: Request, store: str) -> Response:
        if refused := self._refused(request, store):
            return refused
        wanted = set((request.args.get("searchCriteria[filterGroups][0][filters][0][value]") or "").split(","))
        rows = []
        with self.lock:
            for item in self.listings:
                if item.sku in wanted:
                    rows += [{"sku": item.sku, "source_code": code, "quantity": quantity, "status": int(quantity > 0)}
                             for code, quantity in self.sources.get(item.sku, {}).items()]
        return _search_page(request.args, rows)

    def stock_item(self, request: Request, store: str, sku: str) -> Response:
        if refused := self._refused(request, store):
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

    def list_orders(self, request: Request, store: str) -> Response:
        if refused := self._refused(request, store):
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
        return _search_page(args, documents)

    def get_order(self, request: Request, store: str, entity_id: int) -> Response:
        if refused := self._refused(request, store):
            return refused
        with self.lock:
            placed = next((o for o in self.orders.values() if o.number == entity_id), None)
            if placed is None:
                return _invalid("The entity that was requested doesn't exist. Verify the entity and try again.",
                                status=404)
            return json_response(self.order_document(placed))

    # --- stock -------------------------------------------------------------------------------

    def save_source_items(self, request: Request, store: str) -> Response:
        """InventoryApi SourceItemsSaveInterface: validated as a whole, saved as a whole."""
        if refused := self._refused(request, store):
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

    def save_product(self, request: Request, store: str, sku: str) -> Response:
        if refused := self._refused(request, store):
            return refused
        product = (request.get_json(silent=True) or {}).get("product") or {}
        with self.lock:
            item = next((i for i in self.listings if i.sku == sku), None)
            if item is None:
                return _invalid("The product that was requested doesn't exist. Verify the product and try again.",
                                status=404)
            if product.get("status") in (1, 2):
                if store == ALL_STORES:  # the global value (store 0): every view without its own follows it
                    item.active = product["status"] == 1
                else:  # a value of that store view's own, which the global one no longer reaches
                    self.view_status.setdefault(sku, {})[store] = product["status"] == 1
            return json_response(self.product_document(self.listings.index(item) + 1, item, store))

    def save_stock_item(self, request: Request, store: str, sku: str, item_id: int) -> Response:
        if refused := self._refused(request, store):
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


def _search_page(args: Mapping[str, str], documents: list[dict[str, Any]]) -> Response:
    """One page of a search result, as Magento pages it: a page past the last answers the last page
    again, and a page size over the shop's Web API input limit (Stores > Configuration > Services >
    Web Api Input Limits, 300 when the limits are on, as this shop has them) is refused."""
    size = int(args.get("searchCriteria[pageSize]", DEFAULT_PAGE_SIZE))
    if size > MAX_PAGE_SIZE:
        return _invalid("Maximum SearchCriteria pageSize is %1", [str(MAX_PAGE_SIZE)])
    last_page = max((len(documents) + size - 1) // size, 1)
    page = min(int(args.get("searchCriteria[currentPage]", 1)), last_page)
    return json_response({"items": documents[(page - 1) * size: page * size],
                          "search_criteria": {"filter_groups": [], "page_size": size, "current_page": page},
                          "total_count": len(documents)})


def _invalid(message: str, parameters: list[str] | None = None, status: int = 400) -> Response:
    return json_response({"message": message, "parameters": parameters or []}, status)


def stock_item(product_id: int, quantity: int, backorders: bool = False) -> dict[str, Any]:
    """A legacy CatalogInventory stock item with every field the schema requires."""
    return {
        "item_id": product_id, "product_id": product_id, "stock_id": 1, "qty": quantity,
        "is_in_stock": quantity > 0 or backorders, "is_qty_decimal": False, "show_default_notification_message": False,
        "use_config_min_qty": True, "min_qty": 0, "use_config_min_sale_qty": 1, "min_sale_qty": 1,
        "use_config_max_sale_qty": True, "max_sale_qty": 10000, "use_config_backorders": not backorders,
        "backorders": 1 if backorders else 0,
        "use_config_notify_stock_qty": True, "notify_stock_qty": 1, "use_config_qty_increments": True,
        "qty_increments": 0, "use_config_enable_qty_inc": True, "enable_qty_increments": False,
        "use_config_manage_stock": True, "manage_stock": True, "low_stock_date": "", "is_decimal_divided": False,
        "stock_status_changed_auto": 0,
    }
