"""eBay stand-in: OAuth refresh-token grant, Sell Feed inventory tasks (LMS_ACTIVE_INVENTORY_REPORT,
the result a zip of ActiveInventoryReport XML) and Inventory API inventory items. Listings are
Inventory-API (`kind="inventory_api"`) or legacy Trading ones.

Stock: Inventory API bulkUpdatePriceQuantity (at most 25 requests; 200, or 207 when some failed),
getOffers, withdrawOffer (the listing ends) and publishOffer (a new listing id); the Trading API's
XML endpoint for ReviseInventoryStatus (at most 4), EndFixedPriceItem and RelistFixedPriceItem (a
new ItemID; a UUID used before is refused with error 488 naming the listing it made). Trading
requests are checked against eBay's documented element names and headers: what strays is a
violation, like a contract violation of the REST APIs.

Variations. A listing's `parent` makes it one variation of a multi-variation listing, all of whose
variations share the ItemID. A Trading one (parent = its ItemID) is revised per variation by
ReviseInventoryStatus with the variation's SKU (without it: error 21916583, "Variation is
required"; an ItemID the SKU is not a variation of: 21916799, "SKU Mismatch"); a variation at 0
stays on the live listing, out of stock; GetItem gives each variation's VariationSpecifics. An
Inventory-API one (parent = its inventory item group key) is an inventory item of that group
(`groupIds`, its `product.aspects`), the group (getInventoryItemGroup) naming its variantSKUs and
what they vary by; the listing is published and withdrawn by the group
(publishOfferByInventoryItemGroup, withdrawOfferByInventoryItemGroup), never by one variation's
offer. The active inventory report lists such a listing as one SKUDetails with its Variations,
price and quantity per variation.

Orders: the Fulfillment API's getOrders (filter lastmodifieddate:[from..to], limit up to 200,
offset; orderIds) and getOrder, over the orders buyers placed (`/_standin/orders`). A line of a
listing without SKU (a legacy Trading listing) carries only legacyItemId.

Cancellations as the Fulfillment API shows them. eBay cancels whole orders (cancelStatus.cancelState
CANCELED, a cancelledDate, and a COMPLETED cancel request that only getOrder lists: getOrders always
answers cancelRequests empty); the order is then FULLY_REFUNDED. Lines cancelled out of an order that
goes on (`.../cancel` with `line_ids`) have no cancel state of their own: the seller refunds them in
full, which shows in the line's `refunds` (amount, refundDate, refundId) and makes the order
PARTIALLY_REFUNDED; such a line is not fulfilled when the rest ships."""

from __future__ import annotations

import io
import itertools
import json
import re
import zipfile
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, fromstring
from xml.sax.saxutils import escape

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.demo.listings import DemoListing, demo_listings
from infrastructure.standins.base import PlacedOrder, StandIn, iso_millis, json_response, parse_iso
from infrastructure.standins.contract import Contract, RoutedContract, spec

FEED, INVENTORY = "/sell/feed/v1", "/sell/inventory/v1"
FULFILLMENT = "/sell/fulfillment/v1"
ORDERS_LIMIT = 200
_MODIFIED = re.compile(r"lastmodifieddate:\[([^\]]*?)\.\.([^\]]*)\]")
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "demo-ebay-app", "demo-ebay-secret", "v^1.1#demo-refresh"
TRADING, TRADING_NS = "/ws/api.dll", "urn:ebay:apis:eBLBaseComponents"
MARKETPLACE_ID = "EBAY_GB"
BULK_LIMIT, REVISE_LIMIT = 25, 4
INVENTORY_ITEMS_LIMIT = 200  # getInventoryItems: limit at most 200
COMMON = {"ErrorLanguage", "MessageID", "Version", "WarningLevel", "ErrorHandling"}
# The request elements eBay documents for each Trading call we serve (children of the root, then of
# the repeated/nested container), and which of them are required.
TRADING_CALLS: dict[str, dict[str, Any]] = {
    "ReviseInventoryStatus": {"root": {"InventoryStatus"}, "container": "InventoryStatus",
                              "fields": {"ItemID", "SKU", "Quantity", "StartPrice"}},
    "EndFixedPriceItem": {"root": {"ItemID", "SKU", "EndingReason"}, "container": None, "fields": set()},
    "RelistFixedPriceItem": {"root": {"Item", "DeletedField"}, "container": "Item",
                             "fields": {"ItemID", "Quantity", "UUID", "StartPrice", "SKU", "Title"}},
    "GetItem": {"root": {"ItemID", "SKU", "IncludeItemSpecifics", "DetailLevel", "OutputSelector"},
                "container": None, "fields": set()},
}
ENDING_REASONS = {"Incorrect", "LostOrBroken", "NotAvailable", "OtherListingError", "ProductDeleted",
                  "SellToHighBidder", "Sold"}


# eBay's contract types an inventory item's and a group's `aspects` as a string, while the API answers
# (and eBay's own samples show) an object of aspect names to lists of values: {"Size": ["M"]}.
_ASPECTS = json.dumps({"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}})
ASPECTS_AS_ANSWERED = (("Product", "aspects", _ASPECTS), ("InventoryItemGroup", "aspects", _ASPECTS))


def ebay_contract() -> RoutedContract:
    return RoutedContract([
        (FEED, Contract(spec("ebay", "sell_feed_v1_oas3.json"), f"https://api.ebay.com{FEED}")),
        (INVENTORY, Contract(spec("ebay", "sell_inventory_v1_oas3.json"), f"https://api.ebay.com{INVENTORY}",
                             ASPECTS_AS_ANSWERED)),
        (FULFILLMENT, Contract(spec("ebay", "sell_fulfillment_v1_oas3.json"), f"https://api.ebay.com{FULFILLMENT}")),
    ])


class EbayStandIn(StandIn):
    name = "ebay"
    limits = {"create_task": (1.0, 5), "inventory_items": (20.0, 40), "bulk_update": (10.0, 20),
              "trading": (10.0, 20), "get_orders": (5.0, 20), "get_order": (5.0, 20)}
    serves_orders = True

    def __init__(self, *, listings: list[DemoListing] | None = None, inventory_api_skus: set[str] | None = None,
                 polls_until_done: int = 1, **kwargs: Any) -> None:
        self.listings = listings if listings is not None else demo_listings("EBAY", products=4, colours=5,
                                                                            id_base=110000000000)
        # Every other listing is an Inventory-API one unless told otherwise.
        self.inventory_api_skus = (inventory_api_skus if inventory_api_skus is not None
                                   else {item.sku for n, item in enumerate(self.listings) if n % 2 == 0})
        self.polls_until_done = polls_until_done
        self.tasks: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.refresh_tokens = {REFRESH_TOKEN}
        self._ids = itertools.count(1)
        self._item_ids = itertools.count(max((int(i.listing_id) for i in self.listings if i.listing_id.isdigit()),
                                             default=110000000000) + 1000)
        self.offers = {item.sku: f"5{n:08d}01" for n, item in enumerate(self.listings)
                       if item.sku in self.inventory_api_skus}
        self.relist_uuids: dict[str, str] = {}
        self.trading_violations: list[str] = []
        self.line_refunds: dict[str, dict[str, Any]] = {}  # line id -> the refund of a line cancelled alone
        kwargs.setdefault("contract", ebay_contract())
        super().__init__(**kwargs)

    def rules(self) -> list[Rule]:
        return [
            Rule("/identity/v1/oauth2/token", endpoint="token", methods=["POST"]),
            Rule(f"{FEED}/inventory_task", endpoint="create_task", methods=["POST"]),
            Rule(f"{FEED}/inventory_task/<task_id>", endpoint="get_task", methods=["GET"]),
            Rule(f"{FEED}/task/<task_id>/download_result_file", endpoint="result_file", methods=["GET"]),
            Rule(f"{INVENTORY}/inventory_item", endpoint="inventory_items", methods=["GET"]),
            Rule(f"{INVENTORY}/bulk_get_inventory_item", endpoint="bulk_get_inventory_items", methods=["POST"]),
            Rule(f"{INVENTORY}/inventory_item_group/<group_key>", endpoint="inventory_item_group", methods=["GET"]),
            Rule(f"{INVENTORY}/offer/publish_by_inventory_item_group", endpoint="publish_group", methods=["POST"]),
            Rule(f"{INVENTORY}/offer/withdraw_by_inventory_item_group", endpoint="withdraw_group", methods=["POST"]),
            Rule(f"{INVENTORY}/bulk_update_price_quantity", endpoint="bulk_update", methods=["POST"]),
            Rule(f"{INVENTORY}/offer", endpoint="get_offers", methods=["GET"]),
            Rule(f"{INVENTORY}/offer/<offer_id>/withdraw", endpoint="withdraw_offer", methods=["POST"]),
            Rule(f"{INVENTORY}/offer/<offer_id>/publish", endpoint="publish_offer", methods=["POST"]),
            Rule(TRADING, endpoint="trading", methods=["POST"]),
            Rule(f"{FULFILLMENT}/order", endpoint="get_orders", methods=["GET"]),
            Rule(f"{FULFILLMENT}/order/<order_id>", endpoint="get_order", methods=["GET"]),
        ]

    def violations(self) -> list[str]:
        return [*super().violations(), *self.trading_violations]

    def listing(self, sku: str) -> DemoListing:
        return next(item for item in self.listings if item.sku == sku)

    def listing_added(self, listing: Any, body: Any) -> None:
        if body.get("kind") == "inventory_api":
            self.inventory_api_skus.add(listing.sku)
            self.offers[listing.sku] = f"5{len(self.offers) + 90000000:08d}01"

    def group(self, key: str) -> list[DemoListing]:
        """The Inventory-API variations of an inventory item group, in SKU order."""
        return sorted((item for item in self.listings if item.parent == key and item.sku in self.inventory_api_skus),
                      key=lambda item: item.sku)

    def _variations(self, item_id: str) -> list[DemoListing]:
        return [item for item in self.listings if item.listing_id == item_id and item.parent]

    def fault_response(self, status: int) -> Response:
        body = {"errors": [{"errorId": 2001 if status == 429 else 2003, "domain": "ACCESS", "category": "REQUEST",
                            "message": "Too many requests" if status == 429 else "Internal error"}]}
        return json_response(body, status, {"Retry-After": "1"} if status == 429 else None)

    def token(self, request: Request) -> Response:
        """The refresh-token grant: a wrong client is 401 invalid_client; a refresh token eBay does not
        know, or one the seller revoked (or that expired), is 400 invalid_grant."""
        auth = request.authorization
        if not auth or (auth.username, auth.password) != (CLIENT_ID, CLIENT_SECRET):
            return json_response({"error": "invalid_client", "error_description": "client authentication failed"}, 401)
        with self.lock:
            known = request.form.get("refresh_token") in self.refresh_tokens
        if not known:
            return json_response({"error": "invalid_grant", "error_description": (
                "the provided authorization refresh token is invalid or was issued to another client")}, 400)
        token = f"v^1.1#i^1#demo-{next(self._ids)}"
        with self.lock:
            self.tokens.add(token)
        return json_response({"access_token": token, "expires_in": 7200, "token_type": "User Access Token"})

    def revoke_refresh_token(self, refresh_token: str = REFRESH_TOKEN) -> None:
        """The seller revoked the app's access (or the token's 18 months ran out): the refresh token
        and every access token minted from it stop working."""
        with self.lock:
            self.refresh_tokens.discard(refresh_token)
            self.tokens.clear()

    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") in self.tokens:
            return None
        return json_response({"errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST",
                                          "message": "Invalid access token"}]}, 401)

    def create_task(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        body = request.get_json(silent=True) or {}
        if body.get("feedType") != "LMS_ACTIVE_INVENTORY_REPORT":
            return json_response({"errors": [{"errorId": 160017, "domain": "API_FEED", "category": "REQUEST",
                                              "message": "The 'feedType' is missing or invalid."}]}, 400)
        with self.lock:
            task_id = f"task-{next(self._ids)}-demo"
            self.tasks[task_id] = {"taskId": task_id, "status": "QUEUED", "feedType": body["feedType"],
                                   "creationDate": _now(), "schemaVersion": body.get("schemaVersion", "1.0"),
                                   "polls": 0}
        return Response(status=202, headers={"Location": f"{self.url}{FEED}/inventory_task/{task_id}"})

    def get_task(self, request: Request, task_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                return json_response({"errors": [{"errorId": 160003, "domain": "API_FEED", "category": "REQUEST",
                                                  "message": f"Task {task_id} does not exist."}]}, 404)
            task["polls"] += 1
            if task["status"] != "COMPLETED":
                task["status"] = "COMPLETED" if task["polls"] >= self.polls_until_done else "IN_PROCESS"
                if task["status"] == "COMPLETED":
                    task["completionDate"] = _now()
            return json_response({k: v for k, v in task.items() if k != "polls"})

    def result_file(self, request: Request, task_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        if self.tasks.get(task_id, {}).get("status") != "COMPLETED":
            return json_response({"errors": [{"errorId": 160014, "domain": "API_FEED", "category": "REQUEST",
                                              "message": "The file is not ready."}]}, 404)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            zipped.writestr(f"{task_id}_report.xml", self.report_xml())
        return Response(archive.getvalue(), 200, content_type="application/octet-stream",
                        headers={"content-disposition": f'attachment; filename="{task_id}.zip"'})

    def report_xml(self) -> str:
        rows = []
        with self.lock:
            listed: set[str] = set()
            for item in self.listings:
                if not item.active or item.listing_id in listed:
                    continue
                if item.parent:  # one SKUDetails per listing; price and quantity per variation
                    listed.add(item.listing_id)
                    variations = "".join(
                        f"<Variation><SKU>{escape(v.sku)}</SKU><Price currencyID=\"GBP\">{v.price:.2f}</Price>"
                        f"<Quantity>{v.quantity}</Quantity></Variation>" for v in self._variations(item.listing_id))
                    rows.append(f"<SKUDetails><ItemID>{item.listing_id}</ItemID>"
                                f"<Quantity>{sum(v.quantity for v in self._variations(item.listing_id))}</Quantity>"
                                f"<Variations>{variations}</Variations></SKUDetails>")
                    continue
                rows.append(f"<SKUDetails><SKU>{escape(item.sku)}</SKU><Price>{item.price:.2f}</Price>"
                            f"<Quantity>{item.quantity}</Quantity><ItemID>{item.listing_id}</ItemID></SKUDetails>")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<ActiveInventoryReport>\n'
                + "\n".join(rows) + "\n</ActiveInventoryReport>\n")

    def inventory_items(self, request: Request) -> Response:
        """getInventoryItems: `limit` 1..200 (default 25) records a page, `offset` the page number
        (0 first); `size` is the number of pages, `next` / `prev` link the neighbouring pages."""
        if refused := self._unauthorized(request):
            return refused
        try:
            limit, page_number = int(request.args.get("limit", 25)), int(request.args.get("offset", 0))
        except ValueError:
            return _rest_error(400, 25709, "Invalid value for limit or offset.")
        if not 1 <= limit <= INVENTORY_ITEMS_LIMIT or page_number < 0:
            return _rest_error(400, 25709, f"Invalid value for limit ({limit}) or offset ({page_number}).")
        with self.lock:
            items = [item for item in self.listings if item.sku in self.inventory_api_skus]
        page = items[page_number * limit:(page_number + 1) * limit]
        pages = -(-len(items) // limit)
        link = f"{self.url}{INVENTORY}/inventory_item?limit={limit}&offset="
        answer: dict[str, Any] = {
            "href": f"{link}{page_number}", "limit": limit, "size": pages, "total": len(items),
            "inventoryItems": [self.inventory_item(item) for item in page],
        }
        if page_number + 1 < pages:
            answer["next"] = f"{link}{page_number + 1}"
        if 0 < page_number <= pages:
            answer["prev"] = f"{link}{page_number - 1}"
        return json_response(answer)

    def inventory_item(self, item: DemoListing) -> dict[str, Any]:
        """An InventoryItemWithSkuLocaleGroupid; a variation names its group and carries its aspects."""
        product: dict[str, Any] = {"title": item.title}
        document: dict[str, Any] = {"sku": item.sku, "locale": "en_GB", "condition": "NEW", "product": product,
                                    "availability": {"shipToLocationAvailability": {"quantity": item.quantity}}}
        if item.parent:
            product["aspects"] = {name: [value] for name, value in item.variation.items()}
            document["groupIds"] = [item.parent]
            document["inventoryItemGroupKeys"] = [item.parent]
        return document

    def bulk_get_inventory_items(self, request: Request) -> Response:
        """bulkGetInventoryItem: 1 to 25 SKUs; each answered with its statusCode."""
        if refused := self._unauthorized(request):
            return refused
        wanted = (request.get_json(silent=True) or {}).get("requests")
        if not isinstance(wanted, list) or not 1 <= len(wanted) <= BULK_LIMIT:
            return _rest_error(400, 25709, f"Invalid value for requests. 1 to {BULK_LIMIT} are allowed.")
        responses = []
        with self.lock:
            for entry in wanted:
                sku = str((entry or {}).get("sku") or "")
                item = next((i for i in self.listings if i.sku == sku and sku in self.inventory_api_skus), None)
                if item is None:
                    responses.append({"sku": sku, "statusCode": 404, "errors": [_error(
                        25702, f"The SKU {sku} could not be found.")]})
                else:
                    responses.append({"sku": sku, "statusCode": 200, "inventoryItem": self.inventory_item(item)})
        status = 200 if all(r["statusCode"] == 200 for r in responses) else 207
        return json_response({"responses": responses}, status)

    def inventory_item_group(self, request: Request, group_key: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            members = self.group(group_key)
            if not members:
                return _rest_error(404, 25705, f"The Inventory Item Group named {group_key} could not be found.")
            names = list(dict.fromkeys(name for item in members for name in item.variation))
            specifications = [{"name": name, "values": list(dict.fromkeys(
                item.variation[name] for item in members if name in item.variation))} for name in names]
            return json_response({"inventoryItemGroupKey": group_key, "title": members[0].title,
                                  "variantSKUs": [item.sku for item in members],
                                  "variesBy": {"specifications": specifications,
                                               "aspectsImageVariesBy": names[:1]}})

    def _group_request(self, request: Request) -> tuple[list[DemoListing], Response | None]:
        body = request.get_json(silent=True) or {}
        key, marketplace = str(body.get("inventoryItemGroupKey") or ""), body.get("marketplaceId")
        if not key or marketplace != MARKETPLACE_ID:
            return [], _rest_error(400, 25709, "Invalid value for inventoryItemGroupKey or marketplaceId.")
        members = self.group(key)
        if not members:
            return [], _rest_error(400, 25705, f"The Inventory Item Group named {key} could not be found.")
        return members, None

    def publish_group(self, request: Request) -> Response:
        """Publishes every variation's offer as one listing (a new ItemID when it had been withdrawn)."""
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            members, refused = self._group_request(request)
            if refused is not None:
                return refused
            if not any(item.quantity > 0 for item in members):
                return _rest_error(400, 25020, "Invalid quantity. The quantity must be greater than 0.")
            if not members[0].active:
                listing_id = str(next(self._item_ids))
                for item in members:
                    item.listing_id, item.active = listing_id, True
            return json_response({"listingId": members[0].listing_id, "warnings": []})

    def withdraw_group(self, request: Request) -> Response:
        """Ends the group's listing: every variation with it (204)."""
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            members, refused = self._group_request(request)
            if refused is not None:
                return refused
            if not members[0].active:
                return _rest_error(400, 25713, "This Offer is not available : it is not published.")
            for item in members:
                item.active = False
        return Response(status=204)

    # --- Inventory API stock -----------------------------------------------------------------

    def bulk_update(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        requests = (request.get_json(silent=True) or {}).get("requests")
        if not isinstance(requests, list) or not 1 <= len(requests) <= BULK_LIMIT:
            return _rest_error(400, 25709, f"Invalid value for requests. 1 to {BULK_LIMIT} are allowed.")
        responses = []
        with self.lock:
            for entry in requests:
                sku = str(entry.get("sku") or "")
                quantity = (entry.get("shipToLocationAvailability") or {}).get("quantity")
                if sku not in self.offers:
                    responses.append({"sku": sku, "statusCode": 404, "errors": [_error(
                        25702, f"The SKU {sku} could not be found.")]})
                elif not isinstance(quantity, int) or quantity < 0:
                    responses.append({"sku": sku, "statusCode": 400, "errors": [_error(
                        25709, "Invalid value for shipToLocationAvailability.quantity.")]})
                else:
                    self.listing(sku).quantity = quantity
                    responses.append({"sku": sku, "statusCode": 200})
        status = 200 if all(r["statusCode"] == 200 for r in responses) else 207
        return json_response({"responses": responses}, status)

    def get_offers(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        sku = request.args.get("sku", "")
        with self.lock:
            if sku not in self.offers:
                return _rest_error(404, 25713, "This Offer is not available : the SKU has no offer.")
            item = self.listing(sku)
            offer = {"offerId": self.offers[sku], "sku": sku, "marketplaceId": MARKETPLACE_ID,
                     "format": "FIXED_PRICE", "availableQuantity": item.quantity,
                     "status": "PUBLISHED" if item.active else "UNPUBLISHED"}
            if item.active:
                offer["listing"] = {"listingId": item.listing_id, "listingStatus": "ACTIVE"}
        return json_response({"href": request.url, "limit": 25, "offers": [offer], "size": 1, "total": 1})

    def _offer_item(self, offer_id: str) -> DemoListing | None:
        sku = next((sku for sku, known in self.offers.items() if known == offer_id), None)
        return self.listing(sku) if sku is not None else None

    def withdraw_offer(self, request: Request, offer_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            item = self._offer_item(offer_id)
            if item is not None and item.parent:
                return _in_group(item)
            if item is None or not item.active:
                return _rest_error(400, 25713, "This Offer is not available : it is not published.")
            item.active = False
            return json_response({"listingId": item.listing_id})

    def publish_offer(self, request: Request, offer_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            item = self._offer_item(offer_id)
            if item is None:
                return _rest_error(404, 25713, "This Offer is not available.")
            if item.parent:
                return _in_group(item)
            if item.quantity <= 0:
                return _rest_error(400, 25020, "Invalid quantity. The quantity must be greater than 0.")
            if not item.active:
                item.listing_id, item.active = str(next(self._item_ids)), True
            return json_response({"listingId": item.listing_id})

    # --- Fulfillment API (orders) -------------------------------------------------------------

    def order_id_for(self, number: int) -> str:
        return f"27-{13000 + number:05d}-{42000 + number:05d}"

    def line_id_for(self, number: int, index: int) -> str:
        return str(10000000000 + number * 100 + index)

    def cancel_order(self, order_id: str, line_ids: list[str] | None = None) -> PlacedOrder:
        placed = super().cancel_order(order_id, line_ids)
        if placed.status != "cancelled":  # lines cancelled out of an order that goes on: refunded in full
            with self.lock:
                for line in placed.lines:
                    if line.cancelled and line.line_id not in self.line_refunds:
                        self.line_refunds[line.line_id] = {
                            "refundId": f"5{line.line_id}", "refundDate": iso_millis(placed.updated),
                            "amount": _amount(line.unit_price * line.quantity)}
        return placed

    def order_document(self, placed: PlacedOrder, *, with_cancel_requests: bool = False) -> dict[str, Any]:
        """A Fulfillment API Order (getOrder lists the cancel requests, getOrders never does)."""
        cancelled, shipped = placed.status == "cancelled", placed.status == "shipped"
        lines = []
        for line in placed.lines:
            cost = _amount(line.unit_price * line.quantity)
            refund = self.line_refunds.get(line.line_id)
            item: dict[str, Any] = {
                "lineItemId": line.line_id, "legacyItemId": line.listing_id, "title": line.title,
                "quantity": line.quantity, "lineItemCost": cost, "total": cost, "soldFormat": "FIXED_PRICE",
                "listingMarketplaceId": MARKETPLACE_ID, "purchaseMarketplaceId": MARKETPLACE_ID,
                "lineItemFulfillmentStatus": "FULFILLED" if shipped and refund is None else "NOT_STARTED",
                "appliedPromotions": [], "taxes": [], "refunds": [dict(refund)] if refund else [],
            }
            if line.sku:
                item["sku"] = line.sku
            lines.append(item)
        total = _amount(sum(line.unit_price * line.quantity for line in placed.lines))
        cancel_status: dict[str, Any] = {"cancelState": "CANCELED" if cancelled else "NONE_REQUESTED",
                                         "cancelRequests": []}
        if cancelled:
            cancel_status["cancelledDate"] = iso_millis(placed.updated)
            if with_cancel_requests:
                cancel_status["cancelRequests"] = [{
                    "cancelRequestId": f"5{placed.number:09d}", "cancelInitiator": "Buyer",
                    "cancelReason": "ORDER_PLACED_BY_MISTAKE", "cancelRequestState": "COMPLETED",
                    "cancelRequestedDate": iso_millis(placed.updated),
                    "cancelCompletedDate": iso_millis(placed.updated)}]
        payment = "FULLY_REFUNDED" if cancelled else "PARTIALLY_REFUNDED" if any(
            line.line_id in self.line_refunds for line in placed.lines) else "PAID"
        return {
            "orderId": placed.order_id, "creationDate": iso_millis(placed.created),
            "lastModifiedDate": iso_millis(placed.updated),
            "orderFulfillmentStatus": "FULFILLED" if shipped else "NOT_STARTED",
            "orderPaymentStatus": payment, "sellerId": "demo-seller",
            "buyer": {"username": "demo-buyer"}, "salesRecordReference": str(placed.number),
            "pricingSummary": {"priceSubtotal": total, "total": total}, "cancelStatus": cancel_status,
            "fulfillmentHrefs": [], "lineItems": lines,
        }

    def get_orders(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        limit, offset = int(request.args.get("limit", 50)), int(request.args.get("offset", 0))
        if not 1 <= limit <= ORDERS_LIMIT or offset < 0:
            return _fulfillment_error(400, 30700, f"The limit must be within 1..{ORDERS_LIMIT}.")
        if request.args.get("orderIds"):
            wanted = request.args["orderIds"].split(",")
            chosen = [o for o in self.orders_changed_since(None) if o.order_id in wanted]
        else:
            found = _MODIFIED.search(request.args.get("filter", ""))
            since = parse_iso(found.group(1)) if found else None
            until = parse_iso(found.group(2)) if found and found.group(2) else None
            if found and since is None:
                return _fulfillment_error(400, 30850, "The lastmodifieddate filter is not a valid date range.")
            chosen = [o for o in self.orders_changed_since(since) if until is None or o.updated <= until]
        page = chosen[offset:offset + limit]
        with self.lock:
            documents = [self.order_document(o) for o in page]
        answer: dict[str, Any] = {"href": request.url, "limit": limit, "offset": offset, "total": len(chosen),
                                  "orders": documents, "warnings": []}
        if offset + limit < len(chosen):
            answer["next"] = f"{self.url}{FULFILLMENT}/order?limit={limit}&offset={offset + limit}"
        return json_response(answer)

    def get_order(self, request: Request, order_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            placed = self.orders.get(order_id)
            if placed is None:
                return _fulfillment_error(404, 32100, f"Order {order_id} was not found.")
            return json_response(self.order_document(placed, with_cancel_requests=True))

    # --- Trading API (XML) ---------------------------------------------------------------------

    def throttled(self, endpoint: str) -> Response | None:
        refused = super().throttled(endpoint)
        if refused is not None and endpoint == "trading" and refused.status_code == 429:
            # The Trading API says "too many calls" in an Ack Failure, with HTTP 200.
            return _trading_answer("ReviseInventoryStatus", "", [("518", "Call usage limit has been reached.",
                                                                   [])])
        return refused

    def trading(self, request: Request) -> Response:
        call = request.headers.get("X-EBAY-API-CALL-NAME", "")
        problems = self._check_trading(request, call)
        self.trading_violations.extend(f"POST {TRADING} {call}: {p}" for p in problems)
        if call not in TRADING_CALLS:
            return _trading_answer(call or "Unknown", "", [("2", f"Unsupported API call {call}.", [])])
        if request.headers.get("X-EBAY-API-IAF-TOKEN") not in self.tokens:
            return _trading_answer(call, "", [("21916984", "Invalid IAF token.", [])])
        try:
            root = fromstring(request.get_data())  # noqa: S314 - our own client's request
        except SyntaxError:
            return _trading_answer(call, "", [("5", "XML Parse error.", [])])
        with self.lock:
            return getattr(self, f"_{call}")(root)

    def _check_trading(self, request: Request, call: str) -> list[str]:
        problems = [f"missing header {h}" for h in ("X-EBAY-API-SITEID", "X-EBAY-API-COMPATIBILITY-LEVEL")
                    if not request.headers.get(h)]
        if call not in TRADING_CALLS:
            return [*problems, f"unknown call name {call!r}"]
        try:
            root = fromstring(request.get_data())  # noqa: S314 - our own client's request
        except SyntaxError as exc:
            return [*problems, f"unreadable XML: {exc}"]
        if root.tag != f"{{{TRADING_NS}}}{call}Request":
            problems.append(f"root element {root.tag} is not {{{TRADING_NS}}}{call}Request")
        shape = TRADING_CALLS[call]
        for child in root:
            name = _local(child.tag)
            if name not in shape["root"] | COMMON:
                problems.append(f"unknown element {name}")
            if name == shape["container"]:
                problems += [f"unknown element {name}.{_local(g.tag)}" for g in child
                             if _local(g.tag) not in shape["fields"]]
        return problems + _call_problems(call, root)

    def _trading_item(self, item_id: str) -> DemoListing | None:
        return next((i for i in self.listings if i.listing_id == item_id and i.sku not in self.offers), None)

    def _revised_item(self, status: Element) -> tuple[DemoListing | None, tuple[str, str, list[str]] | None]:
        """The listing (or variation) an InventoryStatus names, or the error eBay answers."""
        item_id, sku = _get(status, "ItemID"), _get(status, "SKU")
        by_sku = next((i for i in self.listings if sku and i.sku == sku and i.sku not in self.offers), None)
        if item_id:
            item = self._trading_item(item_id)
            if item is not None and item.parent and not sku:
                return None, ("21916583", "Variation is required for a listing that previously had variations.",
                              [item_id])
            if item is not None and item.parent:  # a multi-variation listing: the SKU names the variation
                if by_sku is None or by_sku.listing_id != item_id:
                    return None, ("21916799", "SKU does not exist in Non-ManageBySKU item specified by ItemID.",
                                  [item_id, sku])
                return by_sku, None
            found = item or by_sku
            return found, None if found else ("17", f"Item {item_id} cannot be accessed.", [item_id])
        return by_sku, None if by_sku else ("17", f"Item {sku} cannot be accessed.", [sku])

    def _ReviseInventoryStatus(self, root: Element) -> Response:  # noqa: N802 - eBay's call name
        revised, errors = [], []
        for status in _all(root, "InventoryStatus"):
            item, error = self._revised_item(status)
            if item is None:
                errors.append(error or ("17", "Item cannot be accessed.", []))
            elif not item.active:
                errors.append(("291", "You are not allowed to revise ended listings.", [item.listing_id]))
            else:  # a variation at 0 stays on the live listing, out of stock
                item.quantity = int(_get(status, "Quantity") or item.quantity)
                revised.append(f"<InventoryStatus><ItemID>{item.listing_id}</ItemID><SKU>{escape(item.sku)}</SKU>"
                               f"<Quantity>{item.quantity}</Quantity><StartPrice currencyID=\"GBP\">"
                               f"{item.price:.2f}</StartPrice></InventoryStatus>")
        return _trading_answer("ReviseInventoryStatus", "".join(revised), errors, partial=bool(revised))

    def _EndFixedPriceItem(self, root: Element) -> Response:  # noqa: N802 - eBay's call name
        item_id = _get(root, "ItemID")
        item = self._trading_item(item_id)
        if item is None:
            return _trading_answer("EndFixedPriceItem", "", [("17", f"Item {item_id} cannot be accessed.",
                                                              [item_id])])
        if not item.active:
            return _trading_answer("EndFixedPriceItem", "", [("1047", "The auction has already been closed.",
                                                              [item_id])])
        for ended in self._variations(item_id) or [item]:
            ended.active = False
        return _trading_answer("EndFixedPriceItem", f"<EndTime>{_now()}</EndTime>", [])

    def _RelistFixedPriceItem(self, root: Element) -> Response:  # noqa: N802 - eBay's call name
        node = next(iter(_all(root, "Item")), Element("Item"))
        item_id, uuid = _get(node, "ItemID"), _get(node, "UUID")
        if uuid and uuid in self.relist_uuids:
            made = self.relist_uuids[uuid]
            return _trading_answer("RelistFixedPriceItem", "", [(
                "488", f"Duplicate UUID used. This item was already listed as item {made}.", [made])])
        item = self._trading_item(item_id)
        if item is None or item.active:
            return _trading_answer("RelistFixedPriceItem", "", [(
                "17", f"Item {item_id} cannot be relisted: it is not an ended listing of yours.", [item_id])])
        relisted = self._variations(item_id) or [item]
        new_id = str(next(self._item_ids))
        for each in relisted:
            each.listing_id, each.active = new_id, True
        if _get(node, "Quantity") and not item.parent:
            item.quantity = int(_get(node, "Quantity"))
        if uuid:
            self.relist_uuids[uuid] = item.listing_id
        times = f"<StartTime>{_now()}</StartTime><EndTime>{_now()}</EndTime>"
        return _trading_answer("RelistFixedPriceItem", f"<ItemID>{item.listing_id}</ItemID>{times}", [])

    def _GetItem(self, root: Element) -> Response:  # noqa: N802 - eBay's call name
        """The listing with its Variations: each variation's SKU, price, quantity and VariationSpecifics."""
        item_id = _get(root, "ItemID")
        item = self._trading_item(item_id)
        if item is None:
            return _trading_answer("GetItem", "", [("17", f"Item {item_id} cannot be accessed.", [item_id])])
        variations = "".join(
            f"<Variation><SKU>{escape(v.sku)}</SKU><StartPrice currencyID=\"GBP\">{v.price:.2f}</StartPrice>"
            f"<Quantity>{v.quantity}</Quantity><VariationSpecifics>"
            + "".join(f"<NameValueList><Name>{escape(name)}</Name><Value>{escape(value)}</Value></NameValueList>"
                      for name, value in v.variation.items())
            + "</VariationSpecifics></Variation>" for v in self._variations(item_id))
        body = (f"<Item><ItemID>{item.listing_id}</ItemID><Title>{escape(item.title)}</Title>"
                f"<SellingStatus><ListingStatus>{'Active' if item.active else 'Completed'}</ListingStatus>"
                f"</SellingStatus>" + (f"<Variations>{variations}</Variations>" if variations else "")
                + (f"<SKU>{escape(item.sku)}</SKU>" if not item.parent else "") + "</Item>")
        return _trading_answer("GetItem", body, [])


def _call_problems(call: str, root: Element) -> list[str]:
    """What each call requires beyond its element names."""
    problems: list[str] = []
    if call == "ReviseInventoryStatus":
        statuses = _all(root, "InventoryStatus")
        if not 1 <= len(statuses) <= REVISE_LIMIT:
            problems.append(f"{len(statuses)} InventoryStatus (1 to {REVISE_LIMIT} allowed)")
        problems += ["InventoryStatus needs ItemID or SKU, and Quantity or StartPrice" for st in statuses
                     if not (_get(st, "ItemID") or _get(st, "SKU")) or not (_get(st, "Quantity") or _get(
                         st, "StartPrice"))]
    elif call == "EndFixedPriceItem":
        if not (_get(root, "ItemID") or _get(root, "SKU")):
            problems.append("ItemID or SKU is required")
        if _get(root, "EndingReason") not in ENDING_REASONS:
            problems.append(f"EndingReason {_get(root, 'EndingReason')!r} is not an EndReasonCodeType")
    elif call == "GetItem":
        if not (_get(root, "ItemID") or _get(root, "SKU")):
            problems.append("ItemID or SKU is required")
    elif call == "RelistFixedPriceItem":
        item = next(iter(_all(root, "Item")), None)
        if item is None or not _get(item, "ItemID"):
            problems.append("Item.ItemID is required")
        elif _get(item, "UUID") and (len(_get(item, "UUID")) != 32 or not all(
                c in "0123456789ABCDEF" for c in _get(item, "UUID"))):
            problems.append("Item.UUID must be 32 hexadecimal digits (upper case)")
    return problems


def _fulfillment_error(status: int, error_id: int, message: str) -> Response:
    return json_response({"errors": [{"errorId": error_id, "domain": "API_FULFILLMENT", "category": "REQUEST",
                                      "message": message}]}, status)


def _amount(value: float) -> dict[str, str]:
    return {"value": f"{value:.2f}", "currency": "GBP"}




def _in_group(item: DemoListing) -> Response:
    return _rest_error(400, 25754, f"The offer of SKU {item.sku} is a variation of the inventory item group "
                                   f"{item.parent}: publish or withdraw it by the group.")


def _rest_error(status: int, error_id: int, message: str) -> Response:
    return json_response({"errors": [_error(error_id, message)]}, status)


def _error(error_id: int, message: str) -> dict[str, Any]:
    return {"errorId": error_id, "domain": "API_INVENTORY", "category": "REQUEST", "message": message}


def _trading_answer(call: str, body: str, errors: list[tuple[str, str, list[str]]], *,
                    partial: bool = False) -> Response:
    """A Trading response: Timestamp, Ack, Errors, Version, Build, then the call's own elements."""
    ack = "Success" if not errors else ("PartialFailure" if partial else "Failure")
    rendered = "".join(
        f"<Errors><ShortMessage>{escape(text[:50])}</ShortMessage><LongMessage>{escape(text)}</LongMessage>"
        f"<ErrorCode>{code}</ErrorCode><SeverityCode>Error</SeverityCode>"
        + "".join(f'<ErrorParameters ParamID="{n}"><Value>{escape(v)}</Value></ErrorParameters>'
                  for n, v in enumerate(values))
        + "<ErrorClassification>RequestError</ErrorClassification></Errors>" for code, text, values in errors)
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<{call}Response xmlns="{TRADING_NS}">'
           f"<Timestamp>{_now()}</Timestamp><Ack>{ack}</Ack>{rendered}<Version>1349</Version>"
           f"<Build>E1349_CORE_API_STANDIN</Build>{body}</{call}Response>")
    return Response(xml.encode(), 200, content_type="text/xml; charset=utf-8")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _all(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _get(element: Element, name: str) -> str:
    found = next(iter(_all(element, name)), None)
    return (found.text or "").strip() if found is not None else ""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
