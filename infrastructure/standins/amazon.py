"""Amazon SP-API stand-in: Login with Amazon tokens, Reports 2021-06-30 (createReport, getReport,
getReports, getReportDocument) and the pre-signed document download, served Cp1252 (optionally
gzip) like GET_MERCHANT_LISTINGS_ALL_DATA. A report is IN_QUEUE, then IN_PROGRESS, then DONE as
it is polled (`polls_until_done`).

Stock: Listings Items 2021-08-01 getListingsItem (includedData summaries, attributes, issues, offers,
fulfillmentAvailability, relationships, productTypes) and patchListingsItem, and the Feeds
2021-06-30 JSON_LISTINGS_FEED round trip; patches of fulfillment_availability take every op the
models allow (add, replace, merge, delete). Each operation keeps its own usage plan (`limits`), and
its 429 says it as SP-API does: no Retry-After, the operation's rate in x-amzn-RateLimit-Limit.

Variations: a listing with a `parent` is a variation child of that parent SKU, a listings item of
its own with no offer (DISCOVERABLE, never BUYABLE) and absent from the listings report, as
Amazon's parents are. searchListingsItems (pageSize up to 20, pageToken, at most 1,000 results
paged through; identifiers with identifiersType SKU, withoutStatus, variationParentSku) and
getListingsItem give each their VARIATION relationships (a parent's childSkus, a child's
parentSkus, and the variation theme: the attributes the children vary by), and a child's
attributes its value of each.

Orders: Orders API v2026-01-01 searchOrders (lastUpdatedAfter or createdAfter, marketplaceIds,
includedData, maxResultsPerPage, paginationToken) and getOrder, over the orders buyers placed
(`/_standin/orders`). A cancelled line keeps its quantityOrdered, as Amazon's does: the CANCELLATION
dataset (cancellation.cancellationExecution) and FULFILLMENT's quantityUnfulfilled 0 say it.
Notifications API v1: destinations (grantless: an LWA client_credentials
token with scope sellingpartnerapi::notifications) and the ORDER_CHANGE subscription (the
seller's token). With a subscription and an SQS endpoint (`sqs_endpoint_url`, the local stack's
moto), every order placed, shipped or cancelled sends an ORDER_CHANGE notification to the
destination's queue, from a worker thread (a slow queue never holds a buyer's request)."""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import queue
import threading
import uuid
import zlib
from datetime import UTC, datetime
from functools import cache
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.demo.listings import DemoListing, demo_listings, with_fba
from infrastructure.standins.base import PlacedOrder, StandIn, iso_millis, json_response, parse_iso
from infrastructure.standins.contract import Contract, RoutedContract, spec

logger = logging.getLogger(__name__)

ORDERS = "/orders/2026-01-01"
NOTIFICATIONS = "/notifications/v1"
MARKETPLACE_ID = "A1F83G8C2ARO7P"  # Amazon.co.uk
GRANTLESS_SCOPE = "sellingpartnerapi::notifications"
APPLICATION_ID = "amzn1.sellerapps.app.demo-stocksync"
_AMAZON_STATUS = {"open": "UNSHIPPED", "shipped": "SHIPPED", "cancelled": "CANCELLED"}
_NOTIFIED_STATUS = {"open": "Unshipped", "shipped": "Shipped", "cancelled": "Canceled"}
REPORTS = "/reports/2021-06-30"
LISTINGS = "/listings/2021-08-01"
SEARCH_PAGE = 20  # searchListingsItems: pageSize at most 20, and at most 20 identifiers
SEARCH_LIMIT = 1000  # items a search pages through at most
FEEDS = "/feeds/2021-06-30"
SELLER_ID = "A2DEMOSELLER"
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "amzn1.application-oa2-client.demo", "demo-secret", "Atzr|demo-refresh"
HEADER = ("item-name", "item-description", "listing-id", "seller-sku", "price", "quantity", "open-date",
          "image-url", "item-is-marketplace", "product-id-type", "zshop-shipping-fee", "item-note",
          "item-condition", "zshop-category1", "zshop-browse-path", "zshop-storefront-feature", "asin1", "asin2",
          "asin3", "will-ship-internationally", "expedited-shipping", "zshop-boldface", "product-id",
          "bid-for-featured-placement", "add-delete", "pending-quantity", "fulfillment-channel",
          "merchant-shipping-group", "status")
CONTENT_TYPE = "text/plain; charset=Cp1252"
PRODUCT_TYPE = "PRODUCT"
LISTED_AT = "2024-02-01T10:12:40Z"  # the listings report's open-date
QUANTITY_PATH = "/attributes/fulfillment_availability"
PATCH_OPS = ("add", "replace", "merge", "delete")  # PatchOperation.op, the listings feed's patches[].op
INCLUDED_DATA = ("summaries", "attributes", "issues", "offers", "fulfillmentAvailability", "procurement",
                 "relationships", "productTypes")
_CURRENCIES = {MARKETPLACE_ID: "GBP"}  # the other EU marketplaces of the demo sell in euros


def amazon_contract() -> RoutedContract:
    return RoutedContract([(REPORTS, Contract(spec("amazon", "reports_2021-06-30.oas3.json"))),
                           (LISTINGS, Contract(spec("amazon", "listingsItems_2021-08-01.oas3.json"))),
                           (FEEDS, Contract(spec("amazon", "feeds_2021-06-30.oas3.json"))),
                           (ORDERS, Contract(spec("amazon", "orders_2026-01-01.oas3.json"))),
                           (NOTIFICATIONS, Contract(spec("amazon", "notifications.oas3.json")))])


@cache
def _feed_validator() -> Any:
    from jsonschema import Draft7Validator

    return Draft7Validator(json.loads(spec("amazon", "listings-feed-schema-v2.json").read_text()))


@cache
def _notification_validator() -> Any:
    from jsonschema import Draft7Validator

    return Draft7Validator(json.loads(spec("amazon", "OrderChangeNotification.json").read_text()))


def queue_url(arn: str, endpoint_url: str) -> tuple[str, str]:
    """(region, queue URL) of an SQS queue ARN at `endpoint_url` (moto takes the standard path form)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"]:
        raise ValueError(f"not an SQS queue ARN: {arn}")
    region, account, name = parts[3], parts[4], parts[5]
    return region, f"{endpoint_url.rstrip('/')}/{account}/{name}"


class AmazonStandIn(StandIn):
    name = "amazon"
    # The usage plans in the models (requests per second, burst)
    limits = {"create_report": (0.0167, 15), "get_reports": (0.0222, 10), "get_report": (2.0, 15),
              "get_document": (0.0167, 15), "get_listing": (5.0, 10), "patch_listing": (5.0, 5),
              "search_listings": (5.0, 5),
              "create_feed_document": (0.5, 15), "create_feed": (0.0083, 15), "get_feed": (2.0, 15),
              "get_feed_document": (0.0222, 10),
              "search_orders": (0.0056, 20), "get_order": (0.5, 30),
              "get_destinations": (1.0, 5), "create_destination": (1.0, 5), "get_subscription": (1.0, 5),
              "create_subscription": (1.0, 5), "delete_subscription": (1.0, 5)}
    serves_orders = True

    def __init__(self, *, listings: list[DemoListing] | None = None, gzip_documents: bool = True,
                 polls_until_done: int = 2, sqs_endpoint_url: str | None = None,
                 gzip_processing_reports: bool = False, refuse_feeds: str | None = None,
                 **kwargs: Any) -> None:
        self.listings = listings if listings is not None else with_fba(demo_listings("AMZ"), 3)
        self.gzip_documents = gzip_documents
        # Amazon may compress a processing report (getFeedDocument then says compressionAlgorithm GZIP).
        self.gzip_processing_reports = gzip_processing_reports
        # A feed-level ERROR (no messageId, no sku): Amazon refused the whole feed with this message.
        self.refuse_feeds = refuse_feeds
        self.compressed_documents: set[str] = set()
        self.revoked_refresh_tokens: set[str] = set()
        self.listing_updated: dict[str, str] = {}  # SKU -> when a patch last changed it
        self.polls_until_done = polls_until_done
        self.reports: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, bytes] = {}
        self.tokens: set[str] = set()
        self.feeds: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes | None] = {}
        self.feed_violations: list[str] = []
        self._ids = itertools.count(50001)
        self.grantless_tokens: set[str] = set()
        self.destinations: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}  # notification type -> subscription
        self.sqs_endpoint_url = sqs_endpoint_url
        self.notifications_sent: list[tuple[str, dict[str, Any]]] = []  # (queue URL, notification)
        self.notification_violations: list[str] = []
        self.delivery_errors: list[str] = []
        self._outbox: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._courier: threading.Thread | None = None
        kwargs.setdefault("contract", amazon_contract())
        super().__init__(**kwargs)

    def rules(self) -> list[Rule]:
        return [
            Rule("/auth/o2/token", endpoint="token", methods=["POST"]),
            Rule(f"{REPORTS}/reports", endpoint="create_report", methods=["POST"]),
            Rule(f"{REPORTS}/reports", endpoint="get_reports", methods=["GET"]),
            Rule(f"{REPORTS}/reports/<report_id>", endpoint="get_report", methods=["GET"]),
            Rule(f"{REPORTS}/documents/<document_id>", endpoint="get_document", methods=["GET"]),
            Rule("/documents-store/<document_id>", endpoint="download", methods=["GET"]),
            Rule(f"{LISTINGS}/items/<seller_id>", endpoint="search_listings", methods=["GET"]),
            Rule(f"{LISTINGS}/items/<seller_id>/<sku>", endpoint="get_listing", methods=["GET"]),
            Rule(f"{LISTINGS}/items/<seller_id>/<sku>", endpoint="patch_listing", methods=["PATCH"]),
            Rule(f"{FEEDS}/documents", endpoint="create_feed_document", methods=["POST"]),
            Rule(f"{FEEDS}/feeds", endpoint="create_feed", methods=["POST"]),
            Rule(f"{FEEDS}/feeds/<feed_id>", endpoint="get_feed", methods=["GET"]),
            Rule(f"{FEEDS}/documents/<document_id>", endpoint="get_feed_document", methods=["GET"]),
            Rule("/uploads/<document_id>", endpoint="upload", methods=["PUT"]),
            Rule(f"{ORDERS}/orders", endpoint="search_orders", methods=["GET"]),
            Rule(f"{ORDERS}/orders/<order_id>", endpoint="get_order", methods=["GET"]),
            Rule(f"{NOTIFICATIONS}/destinations", endpoint="get_destinations", methods=["GET"]),
            Rule(f"{NOTIFICATIONS}/destinations", endpoint="create_destination", methods=["POST"]),
            Rule(f"{NOTIFICATIONS}/subscriptions/<notification_type>", endpoint="get_subscription",
                 methods=["GET"]),
            Rule(f"{NOTIFICATIONS}/subscriptions/<notification_type>", endpoint="create_subscription",
                 methods=["POST"]),
            Rule(f"{NOTIFICATIONS}/subscriptions/<notification_type>/<subscription_id>",
                 endpoint="delete_subscription", methods=["DELETE"]),
        ]

    def violations(self) -> list[str]:
        return [*super().violations(), *self.feed_violations, *self.notification_violations]

    def start(self) -> AmazonStandIn:
        super().start()
        self._courier = threading.Thread(target=self._deliver, name=f"{self.name}-notifications", daemon=True)
        self._courier.start()
        return self

    def stop(self) -> None:
        if self._courier is not None:
            self._outbox.put(None)
            self._courier.join(timeout=5)
            self._courier = None
        super().stop()

    def listing(self, sku: str) -> DemoListing:
        return next(item for item in self.listings if item.sku == sku)

    def fault_response(self, status: int) -> Response:
        code = {429: "QuotaExceeded", 500: "InternalFailure", 503: "ServiceUnavailable"}.get(status, "Error")
        return json_response({"errors": [{"code": code, "message": f"Stand-in fault {status}"}]}, status)

    def throttled(self, endpoint: str) -> Response | None:
        """SP-API's 429 carries no Retry-After: only x-amzn-RateLimit-Limit, the requests per second of
        the operation throttled (each operation its own usage plan)."""
        refused = super().throttled(endpoint)
        if refused is not None and refused.status_code == 429 and endpoint in self.limits:
            refused.headers["x-amzn-RateLimit-Limit"] = str(self.limits[endpoint][0])
        return refused

    # --- LWA -------------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") == "client_credentials":  # grantless: the application's own token
            if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET) or (
                    form.get("scope") != GRANTLESS_SCOPE):
                return json_response({"error": "invalid_scope" if form.get("client_id") == CLIENT_ID
                                      else "invalid_client", "error_description": "Grantless token refused"}, 401)
            token = f"Atc|demo-{next(self._ids)}"
            with self.lock:
                self.grantless_tokens.add(token)
            return json_response({"access_token": token, "token_type": "bearer", "expires_in": 3600})
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return json_response({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        if form.get("grant_type") != "refresh_token":
            return json_response({"error": "unsupported_grant_type",
                                  "error_description": "The authorization grant type is not supported"}, 400)
        if form.get("refresh_token") != REFRESH_TOKEN or form.get("refresh_token") in self.revoked_refresh_tokens:
            # LWA (RFC 6749 5.2): a refresh token revoked, expired or never issued is a 400 invalid_grant;
            # the client itself is fine.
            return json_response({"error": "invalid_grant",
                                  "error_description": "The request has an invalid grant parameter : refresh_token"},
                                 400)
        token = f"Atza|demo-{next(self._ids)}"
        with self.lock:
            self.tokens.add(token)
        return json_response({"access_token": token, "token_type": "bearer", "expires_in": 3600})

    def _not_grantless(self, request: Request) -> Response | None:
        if request.headers.get("x-amz-access-token") in self.grantless_tokens:
            return None
        return json_response({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                          "details": "This operation needs a grantless token "
                                                     f"(scope {GRANTLESS_SCOPE})."}]}, 403)

    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("x-amz-access-token") in self.tokens:
            return None
        return json_response({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                          "details": "The access token you provided is revoked or invalid."}]}, 403)

    # --- Reports ---------------------------------------------------------------------------

    def create_report(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        body = request.get_json(silent=True) or {}
        if body.get("reportType") != "GET_MERCHANT_LISTINGS_ALL_DATA" or not body.get("marketplaceIds"):
            return json_response({"errors": [{"code": "InvalidInput", "message": "Unsupported report request"}]}, 400)
        with self.lock:
            report_id = str(next(self._ids))
            self.reports[report_id] = {
                "reportId": report_id, "reportType": body["reportType"], "marketplaceIds": body["marketplaceIds"],
                "createdTime": _now(), "processingStatus": "IN_QUEUE", "polls": 0,
            }
        return json_response({"reportId": report_id}, 202)

    def get_reports(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        since = request.args.get("createdSince", "")
        with self.lock:
            reports = [_public(r) for r in self.reports.values() if r["createdTime"] >= since]
        return json_response({"reports": reports})

    def get_report(self, request: Request, report_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            report = self.reports.get(report_id)
            if report is None:
                return json_response({"errors": [{"code": "NotFound", "message": "Report not found"}]}, 404)
            report["polls"] += 1
            if report["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS"):
                if report["polls"] >= self.polls_until_done:
                    self._finish(report)
                else:
                    report["processingStatus"] = "IN_PROGRESS"
                    report["processingStartTime"] = _now()
            return json_response(_public(report))

    def _finish(self, report: dict[str, Any]) -> None:
        document_id = f"amzn1.spdoc.1.4.eu.{report['reportId']}"
        body = self.report_tsv()
        self.documents[document_id] = gzip.compress(body) if self.gzip_documents else body
        report.update(processingStatus="DONE", processingEndTime=_now(), reportDocumentId=document_id)

    def get_document(self, request: Request, document_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        if document_id not in self.documents:
            return json_response({"errors": [{"code": "NotFound", "message": "Document not found"}]}, 404)
        answer = {"reportDocumentId": document_id, "url": f"{self.url}/documents-store/{document_id}"}
        if self.gzip_documents:
            answer["compressionAlgorithm"] = "GZIP"
        return json_response(answer)

    def download(self, request: Request, document_id: str) -> Response:
        with self.lock:
            body = self.documents.get(document_id)
        if body is None:
            return Response(b"<Error><Code>NoSuchKey</Code></Error>", 404, content_type="application/xml")
        return Response(body, 200, headers={"Content-Type": CONTENT_TYPE})

    # --- Listings Items and Feeds (stock) ---------------------------------------------------

    def _apply_patches(self, sku: str, patches: list[dict[str, Any]], *, preview: bool = False) -> str | None:
        """Apply JSON Patch operations on fulfillment_availability (every op the listings feed schema
        and PatchOperation allow: add, replace, merge, delete), all or none (none when `preview`); the
        error text when the SKU cannot take them."""
        listing = next((item for item in self.listings if item.sku == sku), None)
        if listing is None:
            return f"SKU {sku} is not in the seller's catalogue"
        if listing.fba:
            return "The quantity of a listing fulfilled by Amazon cannot be set by the seller"
        quantity = listing.quantity
        for patch in patches:
            patched = _patched_quantity(quantity, patch)
            if isinstance(patched, str):
                return patched
            quantity = patched
        if preview:
            return None
        listing.quantity = quantity
        listing.active = quantity > 0  # 0 = inactive, a positive quantity reactivates
        self.listing_updated[sku] = _now()
        return None

    def get_listing(self, request: Request, seller_id: str, sku: str) -> Response:
        """getListingsItem: the listing with the data sets `includedData` asks for (summaries by default)."""
        if refused := self._unauthorized(request):
            return refused
        marketplaces = [m for m in (request.args.get("marketplaceIds") or "").split(",") if m]
        included = {d for d in (request.args.get("includedData") or "summaries").split(",") if d}
        if seller_id != SELLER_ID or not marketplaces:
            return _invalid("Unknown seller or marketplace")
        if included - set(INCLUDED_DATA):
            return _invalid(f"Unknown includedData {', '.join(sorted(included - set(INCLUDED_DATA)))}")
        with self.lock:
            found = next(((n, item) for n, item in enumerate(self.listings) if item.sku == sku), None)
            if found is None:
                return json_response({"errors": [{"code": "NOT_FOUND", "message": f"SKU '{sku}' not found in "
                                                  f"marketplace {','.join(marketplaces)}"}]}, 404,
                                     {"x-amzn-RateLimit-Limit": str(self.limits["get_listing"][0])})
            item = self.listings_item(*found, marketplaces, included)
        return json_response(item, headers={"x-amzn-RateLimit-Limit": str(self.limits["get_listing"][0])})

    def listings_item(self, number: int, listing: DemoListing, marketplaces: list[str],
                      included: set[str]) -> dict[str, Any]:
        """An Item of the Listings Items 2021-08-01 model (the data sets asked for)."""
        channel = "AMAZON_EU" if listing.fba else "DEFAULT"
        asin = f"B0DEMO{number:04d}"  # as the listings report names it
        item: dict[str, Any] = {"sku": listing.sku}
        if "summaries" in included:
            # Out of stock, the detail page stays but the offer cannot be bought.
            status = ["BUYABLE", "DISCOVERABLE"] if listing.active else ["DISCOVERABLE"]
            item["summaries"] = [{"marketplaceId": m, "asin": asin, "productType": PRODUCT_TYPE,
                                  "conditionType": "new_new", "status": status, "itemName": listing.title,
                                  "createdDate": LISTED_AT, "lastUpdatedDate": self.listing_updated.get(
                                      listing.sku, LISTED_AT)} for m in marketplaces]
        if "attributes" in included:
            availability: dict[str, Any] = {"fulfillment_channel_code": channel}
            if not listing.fba:
                availability["quantity"] = listing.quantity
            item["attributes"] = {
                "item_name": [{"value": listing.title, "language_tag": "en_GB", "marketplace_id": m}
                              for m in marketplaces],
                "condition_type": [{"value": "new_new", "marketplace_id": m} for m in marketplaces],
                "purchasable_offer": [{"currency": _currency(m), "marketplace_id": m,
                                       "our_price": [{"schedule": [{"value_with_tax": listing.price}]}]}
                                      for m in marketplaces],
                "fulfillment_availability": [availability],
            }
        if "issues" in included:
            item["issues"] = []
        if "offers" in included:
            item["offers"] = [{"marketplaceId": m, "offerType": "B2C",
                               "price": {"currencyCode": _currency(m), "amount": f"{listing.price:.2f}"}}
                              for m in marketplaces]
        if "fulfillmentAvailability" in included:
            item["fulfillmentAvailability"] = [{"fulfillmentChannelCode": channel, "quantity": listing.quantity}]
        if "relationships" in included:
            relationships = []
            if listing.parent:
                relationships = [{"type": "VARIATION", "parentSkus": [listing.parent],
                                  "variationTheme": self.variation_theme(listing.parent)}]
            item["relationships"] = [{"marketplaceId": m, "relationships": relationships} for m in marketplaces]
        if "attributes" in included and listing.variation:
            for name, value in listing.variation.items():
                item["attributes"][name] = [{"value": value, "language_tag": "en_GB", "marketplace_id": m}
                                            for m in marketplaces]
        if "productTypes" in included:
            item["productTypes"] = [{"marketplaceId": m, "productType": PRODUCT_TYPE} for m in marketplaces]
        return item  # procurement is vendors' (a seller's listing has none)

    def variation_theme(self, parent: str) -> dict[str, Any]:
        names = sorted({name for item in self.listings if item.parent == parent for name in item.variation})
        return {"attributes": names, "theme": "/".join(name.upper() for name in names)}

    def parent_item(self, parent: str, marketplaces: list[str], included: set[str]) -> dict[str, Any]:
        """A variation parent: a listings item with no offer, only DISCOVERABLE, naming its children."""
        children = sorted(item.sku for item in self.listings if item.parent == parent)
        item: dict[str, Any] = {"sku": parent}
        if "summaries" in included:
            item["summaries"] = [{"marketplaceId": m, "asin": f"B0PARENT{zlib.crc32(parent.encode()) % 10000:04d}",
                                  "productType": PRODUCT_TYPE, "conditionType": "new_new", "status": ["DISCOVERABLE"],
                                  "itemName": parent, "createdDate": LISTED_AT, "lastUpdatedDate": LISTED_AT}
                                 for m in marketplaces]
        if "attributes" in included:
            item["attributes"] = {"item_name": [{"value": parent, "language_tag": "en_GB", "marketplace_id": m}
                                                for m in marketplaces],
                                  "parentage_level": [{"value": "parent", "marketplace_id": m} for m in marketplaces]}
        if "relationships" in included:
            item["relationships"] = [{"marketplaceId": m, "relationships": [{
                "type": "VARIATION", "childSkus": children, "variationTheme": self.variation_theme(parent)}]}
                for m in marketplaces]
        for name in ("issues", "offers", "fulfillmentAvailability"):
            if name in included:
                item[name] = []
        return item

    def search_listings(self, request: Request, seller_id: str) -> Response:  # noqa: PLR0911 - one answer per refusal
        """searchListingsItems over the seller's listings and variation parents, in SKU order."""
        if refused := self._unauthorized(request):
            return refused
        args = request.args
        marketplaces = [m for m in (args.get("marketplaceIds") or "").split(",") if m]
        included = {d for d in (args.get("includedData") or "summaries").split(",") if d}
        if seller_id != SELLER_ID or not marketplaces:
            return _invalid("Unknown seller or marketplace")
        if included - set(INCLUDED_DATA):
            return _invalid(f"Unknown includedData {', '.join(sorted(included - set(INCLUDED_DATA)))}")
        identifiers = [i for i in (args.get("identifiers") or "").split(",") if i]
        if bool(identifiers) != bool(args.get("identifiersType")) or (identifiers and (
                args.get("identifiersType") != "SKU" or len(identifiers) > SEARCH_PAGE)):
            return _invalid(f"identifiers (at most {SEARCH_PAGE}) need identifiersType SKU")
        if identifiers and args.get("variationParentSku"):
            return _invalid("variationParentSku cannot be used with identifiers")
        size = int(args.get("pageSize") or 10)
        if not 1 <= size <= SEARCH_PAGE:
            return _invalid(f"pageSize must be 1 to {SEARCH_PAGE}")
        without = {s for s in (args.get("withoutStatus") or "").split(",") if s}
        with self.lock:
            found: list[tuple[str, dict[str, Any]]] = []
            for n, listing in enumerate(self.listings):
                found.append((listing.sku, self.listings_item(n, listing, marketplaces, included | {"summaries"})))
            for parent in sorted({item.parent for item in self.listings if item.parent}):
                found.append((parent, self.parent_item(parent, marketplaces, included | {"summaries"})))
            if identifiers:
                found = [(sku, item) for sku, item in found if sku in identifiers]
            if args.get("variationParentSku"):
                children = {i.sku for i in self.listings if i.parent == args["variationParentSku"]}
                found = [(sku, item) for sku, item in found if sku in children]
            if without:
                found = [(sku, item) for sku, item in found
                         if not without & set(item["summaries"][0]["status"])]
        found.sort(key=lambda pair: pair[0])
        items = [item if "summaries" in included else {k: v for k, v in item.items() if k != "summaries"}
                 for _sku, item in found[:SEARCH_LIMIT]]
        start = int(args.get("pageToken") or 0)
        answer: dict[str, Any] = {"numberOfResults": len(found), "items": items[start:start + size]}
        if start + size < len(items):
            answer["pagination"] = {"nextToken": str(start + size)}
        return json_response(answer, headers={"x-amzn-RateLimit-Limit": str(self.limits["search_listings"][0])})

    def patch_listing(self, request: Request, seller_id: str, sku: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        body = request.get_json(silent=True) or {}
        if seller_id != SELLER_ID or not request.args.get("marketplaceIds"):
            return json_response({"errors": [{"code": "InvalidInput", "message": "Unknown seller or marketplace"}]},
                                 400)
        preview = request.args.get("mode") == "VALIDATION_PREVIEW"  # checked, not applied
        with self.lock:
            error = self._apply_patches(sku, body.get("patches") or [], preview=preview)
            submission = f"sub-{next(self._ids)}"
        if error:
            return json_response({"sku": sku, "status": "INVALID", "submissionId": submission, "issues": [
                {"code": "90220", "message": error, "severity": "ERROR", "categories": ["INVALID_ATTRIBUTE"]}]})
        return json_response({"sku": sku, "status": "VALID" if preview else "ACCEPTED", "submissionId": submission,
                              "issues": []})

    def create_feed_document(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            document_id = f"amzn1.tortuga.4.eu.{next(self._ids)}"
            self.uploads[document_id] = None
        return json_response({"feedDocumentId": document_id, "url": f"{self.url}/uploads/{document_id}"}, 201)

    def upload(self, request: Request, document_id: str) -> Response:
        with self.lock:
            if document_id not in self.uploads:
                return Response(b"<Error><Code>NoSuchUpload</Code></Error>", 404, content_type="application/xml")
            self.uploads[document_id] = request.get_data()
        return Response(b"", 200)

    def create_feed(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        body = request.get_json(silent=True) or {}
        with self.lock:
            content = self.uploads.get(str(body.get("inputFeedDocumentId")))
            if body.get("feedType") != "JSON_LISTINGS_FEED" or content is None:
                return json_response({"errors": [{"code": "InvalidInput", "message": "No such uploaded document"}]},
                                     400)
            feed_id = str(next(self._ids))
            self.feeds[feed_id] = {"feedId": feed_id, "feedType": body["feedType"],
                                   "marketplaceIds": body.get("marketplaceIds") or [], "createdTime": _now(),
                                   "processingStatus": "IN_QUEUE", "content": content, "polls": 0}
        return json_response({"feedId": feed_id}, 202)

    def get_feed(self, request: Request, feed_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            feed = self.feeds.get(feed_id)
            if feed is None:
                return json_response({"errors": [{"code": "NotFound", "message": "Feed not found"}]}, 404)
            feed["polls"] += 1
            if feed["processingStatus"] == "IN_QUEUE" and feed["polls"] >= self.polls_until_done:
                self._process_feed(feed)
            return json_response({k: v for k, v in feed.items() if k not in ("content", "polls")})

    def _process_feed(self, feed: dict[str, Any]) -> None:
        document = json.loads(feed["content"])
        problems = [f"feed {feed['feedId']}: {e.message}" for e in _feed_validator().iter_errors(document)]
        self.feed_violations.extend(problems)
        issues: list[dict[str, Any]] = []
        for message in [] if self.refuse_feeds else document.get("messages") or []:
            error = self._apply_patches(str(message.get("sku")), message.get("patches") or [])
            if error:
                issues.append({"messageId": message.get("messageId"), "sku": message.get("sku"), "code": "90220",
                               "severity": "ERROR", "message": error})
        if self.refuse_feeds:
            issues.append({"code": "4000004", "severity": "ERROR", "message": self.refuse_feeds})
        report_id = f"amzn1.tortuga.4.eu.report.{feed['feedId']}"
        count = len(document.get("messages") or [])
        if self.refuse_feeds:
            count = 0
        report = json.dumps({
            "header": {"sellerId": SELLER_ID, "version": "2.0", "feedId": feed["feedId"]}, "issues": issues,
            "summary": {"errors": len(issues), "warnings": 0, "messagesProcessed": count,
                        "messagesAccepted": count - len({i["messageId"] for i in issues if "messageId" in i}),
                        "messagesInvalid": len({i["messageId"] for i in issues if "messageId" in i})},
        }).encode()
        if self.gzip_processing_reports:
            report = gzip.compress(report)
            self.compressed_documents.add(report_id)
        self.documents[report_id] = report
        feed.update(processingStatus="DONE", processingEndTime=_now(), resultFeedDocumentId=report_id)

    def get_feed_document(self, request: Request, document_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        if document_id not in self.documents:
            return json_response({"errors": [{"code": "NotFound", "message": "Document not found"}]}, 404)
        answer = {"feedDocumentId": document_id, "url": f"{self.url}/documents-store/{document_id}"}
        if document_id in self.compressed_documents:
            answer["compressionAlgorithm"] = "GZIP"
        return json_response(answer)

    # --- Orders API v2026-01-01 --------------------------------------------------------------

    def order_id_for(self, number: int) -> str:
        return f"202-{4000000 + number:07d}-{7100000 + number:07d}"

    def line_id_for(self, number: int, index: int) -> str:
        return f"{60000000 + number:08d}{index:06d}"

    def take_units(self, item: Any, quantity: int) -> None:
        item.quantity -= quantity
        item.active = item.quantity > 0  # at 0 the offer is out of stock (inactive)

    def return_units(self, item: Any, quantity: int) -> None:
        item.quantity += quantity
        item.active = item.quantity > 0

    def order_document(self, placed: PlacedOrder, included: set[str]) -> dict[str, Any]:
        """An Order of the 2026-01-01 model, with the datasets asked for."""
        status = _AMAZON_STATUS[placed.status]
        document: dict[str, Any] = {
            "orderId": placed.order_id, "createdTime": iso_millis(placed.created),
            "lastUpdatedTime": iso_millis(placed.updated),
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": MARKETPLACE_ID,
                             "marketplaceName": "Amazon.co.uk"},
            "orderItems": [],
        }
        for line in placed.lines:
            item: dict[str, Any] = {
                "orderItemId": line.line_id, "quantityOrdered": line.quantity,
                "product": {"asin": f"B0DEMO{zlib.crc32(line.sku.encode()) % 10000:04d}", "title": line.title,
                            "sellerSku": line.sku,
                            "price": {"unitPrice": {"amount": f"{line.unit_price:.2f}", "currencyCode": "GBP"}}},
            }
            # A cancelled item keeps quantityOrdered (what the buyer ordered): only the CANCELLATION
            # dataset says it was cancelled, and nothing of it is left to ship.
            if "FULFILLMENT" in included:
                shipped = line.quantity if placed.status == "shipped" and not line.cancelled else 0
                left = 0 if line.cancelled else line.quantity - shipped
                item["fulfillment"] = {"quantityFulfilled": shipped, "quantityUnfulfilled": left}
            if "CANCELLATION" in included and line.cancelled:
                item["cancellation"] = {"cancellationExecution": {"cancelledBy": "BUYER",
                                                                  "cancelReason": "Buyer requested cancellation"}}
            document["orderItems"].append(item)
        if "FULFILLMENT" in included:
            document["fulfillment"] = {"fulfillmentStatus": status,
                                       "fulfilledBy": "AMAZON" if placed.fulfilled_by_channel else "MERCHANT",
                                       "fulfillmentServiceLevel": "STANDARD"}
        if "PROCEEDS" in included:
            total = sum(line.unit_price * line.quantity for line in placed.lines if not line.cancelled)
            document["proceeds"] = {"grandTotal": {"amount": f"{total:.2f}", "currencyCode": "GBP"}}
        return document

    def search_orders(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        args = request.args
        given = [name for name in ("createdAfter", "lastUpdatedAfter") if args.get(name)]
        marketplaces = set((args.get("marketplaceIds") or "").split(",")) - {""}
        if len(given) != 1 or not marketplaces:
            return _invalid("Exactly one of createdAfter and lastUpdatedAfter, and marketplaceIds, are required")
        since = parse_iso(args[given[0]])
        size = int(args.get("maxResultsPerPage") or 100)
        if since is None or not 1 <= size <= 100:
            return _invalid("A date is not ISO 8601, or maxResultsPerPage is not within 1..100")
        start = int(args.get("paginationToken") or 0) if (args.get("paginationToken") or "0").isdigit() else -1
        if start < 0:
            return _invalid("Invalid paginationToken")
        included = set((args.get("includedData") or "").split(","))
        chosen = self.orders_changed_since(since) if given[0] == "lastUpdatedAfter" else sorted(
            (o for o in self.orders_changed_since(None) if o.created >= since), key=lambda o: o.number)
        if MARKETPLACE_ID not in marketplaces:
            chosen = []
        page = chosen[start:start + size]
        with self.lock:
            answer: dict[str, Any] = {"orders": [self.order_document(o, included) for o in page]}
        if start + size < len(chosen):
            answer["pagination"] = {"nextToken": str(start + size)}
        return json_response(answer, headers={"x-amzn-RateLimit-Limit": "0.0056"})

    def get_order(self, request: Request, order_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            placed = self.orders.get(order_id)
            if placed is None:
                return json_response({"errors": [{"code": "NotFound", "message": f"Order {order_id} not found"}]}, 404)
            document = self.order_document(placed, set((request.args.get("includedData") or "").split(",")))
        return json_response({"order": document}, headers={"x-amzn-RateLimit-Limit": "0.5"})

    # --- Notifications API v1 ---------------------------------------------------------------

    def get_destinations(self, request: Request) -> Response:
        if refused := self._not_grantless(request):
            return refused
        with self.lock:
            return json_response({"payload": list(self.destinations.values())})

    def create_destination(self, request: Request) -> Response:
        if refused := self._not_grantless(request):
            return refused
        body = request.get_json(silent=True) or {}
        arn = ((body.get("resourceSpecification") or {}).get("sqs") or {}).get("arn")
        if not body.get("name") or not arn:
            return _invalid("name and resourceSpecification.sqs.arn are required")
        with self.lock:
            if any(d["resource"]["sqs"]["arn"] == arn for d in self.destinations.values()):
                return json_response({"errors": [{"code": "Conflict",
                                                  "message": "A destination for this resource exists already"}]}, 409)
            destination_id = str(uuid.uuid4())
            self.destinations[destination_id] = {"name": body["name"], "destinationId": destination_id,
                                                 "resource": {"sqs": {"arn": arn}}}
            return json_response({"payload": self.destinations[destination_id]})

    def get_subscription(self, request: Request, notification_type: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            subscription = self.subscriptions.get(notification_type)
        if subscription is None:
            return json_response({"errors": [{"code": "NotFound", "message": "The subscription was not found."}]}, 404)
        return json_response({"payload": subscription})

    def create_subscription(self, request: Request, notification_type: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        body = request.get_json(silent=True) or {}
        with self.lock:
            if body.get("destinationId") not in self.destinations or not body.get("payloadVersion"):
                return _invalid("An existing destinationId and a payloadVersion are required")
            if notification_type in self.subscriptions:
                return json_response({"errors": [{"code": "Conflict", "message": "A subscription exists already "
                                                  "for this notification type and payload version"}]}, 409)
            subscription = {"subscriptionId": str(uuid.uuid4()), "payloadVersion": body["payloadVersion"],
                            "destinationId": body["destinationId"]}
            if body.get("processingDirective"):
                subscription["processingDirective"] = body["processingDirective"]
            self.subscriptions[notification_type] = subscription
        return json_response({"payload": subscription})

    def delete_subscription(self, request: Request, notification_type: str, subscription_id: str) -> Response:
        if refused := self._not_grantless(request):
            return refused
        with self.lock:
            if (self.subscriptions.get(notification_type) or {}).get("subscriptionId") != subscription_id:
                return json_response({"errors": [{"code": "NotFound", "message": "The subscription was not found."}]},
                                     404)
            del self.subscriptions[notification_type]
        return json_response({})

    def order_changed(self, placed: PlacedOrder) -> None:
        """ORDER_CHANGE to the subscribed destination's queue, sent by the courier thread."""
        with self.lock:
            subscription = self.subscriptions.get("ORDER_CHANGE")
            destination = self.destinations.get((subscription or {}).get("destinationId", ""))
            if subscription is None or destination is None:
                return
            notification = self.order_change_notification(placed, subscription["subscriptionId"])
        problems = [f"ORDER_CHANGE {placed.order_id}: {e.message}"
                    for e in _notification_validator().iter_errors(notification)]
        self.notification_violations.extend(problems)
        self._outbox.put((destination["resource"]["sqs"]["arn"], notification))

    def order_change_notification(self, placed: PlacedOrder, subscription_id: str) -> dict[str, Any]:
        shipped = placed.status == "shipped"
        # The schema knows two item statuses (Unshipped, Shipped): a cancelled line shows as 0 units.
        items = [{"OrderItemId": line.line_id, "SellerSKU": line.sku, "SupplySourceId": None,
                  "OrderItemStatus": "Shipped" if shipped else "Unshipped",
                  "Quantity": 0 if line.cancelled else line.quantity,
                  "QuantityShipped": line.quantity if shipped else 0}
                 for line in placed.lines]
        count = sum(line.quantity for line in placed.lines)
        now = iso_millis(datetime.now(UTC))
        return {
            "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
            "EventTime": now,
            "Payload": {"OrderChangeNotification": {
                "NotificationLevel": "OrderLevel", "SellerId": SELLER_ID, "AmazonOrderId": placed.order_id,
                "OrderChangeType": "OrderStatusChange",
                "OrderChangeTrigger": {"TimeOfOrderChange": iso_millis(placed.updated),
                                       "ChangeReason": "Order status changed"},
                "Summary": {
                    "MarketplaceId": MARKETPLACE_ID, "OrderStatus": _NOTIFIED_STATUS[placed.status],
                    "PurchaseDate": iso_millis(placed.created), "DestinationPostalCode": None,
                    "FulfillmentType": "AFN" if placed.fulfilled_by_channel else "MFN", "OrderType": "StandardOrder",
                    "NumberOfItemsShipped": count if shipped else 0, "NumberOfItemsUnshipped": 0 if shipped else count,
                    "OrderItems": items,
                },
            }},
            "NotificationMetadata": {"ApplicationId": APPLICATION_ID, "SubscriptionId": subscription_id,
                                     "PublishTime": now, "NotificationId": str(uuid.uuid4())},
        }

    def _deliver(self) -> None:
        """The courier: each queued notification to its SQS queue, in order, until stopped."""
        clients: dict[str, Any] = {}
        while True:
            task = self._outbox.get()
            if task is None:
                self._outbox.task_done()
                return
            arn, notification = task
            try:
                if not self.sqs_endpoint_url:
                    raise RuntimeError("the stand-in has no sqs_endpoint_url")
                region, url = queue_url(arn, self.sqs_endpoint_url)
                client = clients.get(region)
                if client is None:
                    import boto3  # the local stack's SQS (moto) only: fixed fake credentials, explicit endpoint

                    client = clients[region] = boto3.client(
                        "sqs", region_name=region, endpoint_url=self.sqs_endpoint_url,
                        aws_access_key_id="standin", aws_secret_access_key="standin")  # noqa: S106
                client.send_message(QueueUrl=url, MessageBody=json.dumps(notification))
                with self.lock:
                    self.notifications_sent.append((url, notification))
            except Exception as exc:  # a failed delivery is recorded; the courier goes on
                logger.warning("ORDER_CHANGE delivery to %s failed: %s", arn, exc)
                self.delivery_errors.append(f"{arn}: {exc}")
            finally:
                self._outbox.task_done()

    def wait_for_deliveries(self, timeout: float = 5.0) -> None:
        """Tests: until every notification queued so far has been sent (or failed)."""
        import time

        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def report_tsv(self) -> bytes:
        """GET_MERCHANT_LISTINGS_ALL_DATA as Amazon writes it: tab-separated, CRLF, Cp1252."""
        lines = ["\t".join(HEADER)]
        with self.lock:
            for n, item in enumerate(self.listings):  # a variation parent has no offer: it is not listed
                row = dict.fromkeys(HEADER, "")
                row.update({
                    "item-name": item.title, "listing-id": item.listing_id, "seller-sku": item.sku,
                    "price": f"{item.price:.2f}", "quantity": "" if item.fba else str(item.quantity),
                    "open-date": "01/02/2024 10:12:40 GMT", "item-is-marketplace": "y", "product-id-type": "1",
                    "item-condition": "11", "asin1": f"B0DEMO{n:04d}", "product-id": f"B0DEMO{n:04d}",
                    "fulfillment-channel": "AMAZON_EU" if item.fba else "DEFAULT",
                    "merchant-shipping-group": "Migrated Template", "status": "Active" if item.active else "Inactive",
                })
                lines.append("\t".join(row[column] for column in HEADER))
        return ("\r\n".join(lines) + "\r\n").encode("cp1252", errors="replace")


def _public(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "polls"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")




def _patched_quantity(quantity: int, patch: dict[str, Any]) -> int | str:
    """The merchant quantity after one JSON Patch operation on fulfillment_availability, or why Amazon
    refuses it."""
    op, values = patch.get("op"), patch.get("value") or []
    if op not in PATCH_OPS or patch.get("path") != QUANTITY_PATH:
        return f"unsupported patch {op} {patch.get('path')}"
    if any(value.get("fulfillment_channel_code", "DEFAULT") != "DEFAULT" for value in values):
        return "Only the seller's own fulfillment_availability (fulfillment_channel_code DEFAULT) can be set"
    if op == "delete":
        return 0  # no merchant availability left: nothing to sell, the offer is inactive
    if not values:
        return f"{op} of fulfillment_availability needs a value"
    for value in values:
        if op == "merge" and "quantity" not in value:
            continue  # a merge keeps what it does not name
        given = value.get("quantity", 0)  # add / replace: availability without a quantity shows none
        if not isinstance(given, int) or isinstance(given, bool) or given < 0:
            return "fulfillment_availability quantity must be an integer of at least 0"
        quantity = given
    return quantity


def _currency(marketplace_id: str) -> str:
    return _CURRENCIES.get(marketplace_id, "EUR")


def _invalid(message: str) -> Response:
    return json_response({"errors": [{"code": "InvalidInput", "message": message}]}, 400)



