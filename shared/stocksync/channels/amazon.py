"""Amazon (SP-API). Catalogue: Reports 2021-06-30 GET_MERCHANT_LISTINGS_ALL_DATA, the document kept
exactly as Amazon serves it (gzip or not, usually Cp1252): the ingestion decodes it.

Variations: the report lists each variation child (a listing with its offer) but neither its parent
(which has no offer and is not listed) nor its attributes. Listings Items' searchListingsItems gives
them: the listings items that are not BUYABLE hold the parents (their VARIATION relationship names
their childSkus and the variation theme's attributes), and each parent's children
(variationParentSku) their value of each. When there are any, the report is passed on with two columns more,
`parent` and `variation` (compact ASCII JSON, so the document's charset is kept; a gzipped one is
passed on unzipped). A search pages through at most 1,000 items: parents beyond the first 1,000
listings items that are not buyable are not found, and their children load as listings of their own.

Orders: Orders API v2026-01-01. `searchOrders` by lastUpdatedAfter for the account's marketplaces,
100 a page, following `pagination.nextToken`; `getOrder` for one order (a notification). Both ask
for the FULFILLMENT dataset (the fulfilment status and who fulfils: AMAZON = FBA, which never
touches our stock), PROCEEDS (the order total) and CANCELLATION: a cancelled item keeps its
quantityOrdered (what the buyer ordered) and says it was cancelled only in
cancellation.cancellationExecution, so such an item holds nothing. fulfillmentStatus
PENDING_AVAILABILITY, PENDING, UNSHIPPED and PARTIALLY_SHIPPED are open (the buyer has the units),
SHIPPED shipped, CANCELLED and UNFULFILLABLE cancelled (nothing will leave our stock). searchOrders
allows 0.0056 requests/s (burst 20): one poll every 3 minutes.

The fast path is the ORDER_CHANGE notification to our SQS queue (Notifications API v1), taken as a
hint: it names the order, which getOrder then reads. So a notification (forged, or a summary that
words a cancelled item otherwise than the Orders API) never decides what we allocate, and the two
paths read one document per revision and cannot fight. The destination calls are grantless (an LWA
client_credentials token with scope sellingpartnerapi::notifications), the subscription calls
carry the seller's token.

Auth: Login with Amazon exchanges the refresh token for an access token (about an hour), cached
per credential set and sent as x-amz-access-token.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from stocksync.channels.base import (
    SOURCE_AMAZON,
    CatalogueDocument,
    CatalogueProgress,
    CatalogueStatus,
    ChannelAccount,
    ChannelAdapter,
    ChannelRejected,
    QuantityResult,
    QuantityStatus,
    QuantityUpdate,
    channel_error,
    expires_in,
    shown_state,
    stream_response,
)
from stocksync.channels.order_side import (
    ChannelOrder,
    ChannelOrderLine,
    NotifiedOrder,
    OrderPage,
    OrderStatus,
    iso_z,
    money,
    parse_time,
    required_time,
    units,
)
from stocksync.core.chunks import batched
from stocksync.core.http_client import CachedToken, RemoteError

SP_API_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_ENDPOINT = "https://api.amazon.com/auth/o2/token"
REPORTS = "/reports/2021-06-30"
LISTINGS_REPORT = "GET_MERCHANT_LISTINGS_ALL_DATA"
DEFAULT_CONTENT_TYPE = "text/plain; charset=Cp1252"

LISTINGS = "/listings/2021-08-01"
SEARCH_LISTINGS_RATE = (5.0, 5)  # searchListingsItems: 5 requests/s, burst 5
SEARCH_PAGE = 20  # searchListingsItems: pageSize at most 20
FEEDS = "/feeds/2021-06-30"
LISTINGS_FEED = "JSON_LISTINGS_FEED"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
FEED_MAX_MESSAGES = 25_000  # listings-feed-schema-v2.json: messages maxItems
DEFAULT_FEED_THRESHOLD = 50
# Usage plans in the models (requests per second, burst)
PATCH_RATE = (5.0, 5)  # patchListingsItem: 5 requests/s, burst 5
CREATE_FEED_DOCUMENT_RATE = (0.5, 15)
CREATE_FEED_RATE = (0.0083, 15)
GET_FEED_RATE = (2.0, 15)
GET_FEED_DOCUMENT_RATE = (0.0222, 10)  # a processing report every 45 s once the burst is spent

ORDERS = "/orders/2026-01-01"
NOTIFICATIONS = "/notifications/v1"
ORDER_DATA = "FULFILLMENT,PROCEEDS,CANCELLATION"  # includedData: fulfilment, order total, cancelled items
ORDERS_PAGE = 100  # searchOrders maxResultsPerPage: 1..100
SEARCH_ORDERS_RATE = (0.0056, 20)
GET_ORDER_RATE = (0.5, 30)
NOTIFICATIONS_RATE = (1.0, 5)
ORDER_CHANGE = "ORDER_CHANGE"
ORDER_CHANGE_PAYLOAD = "1.0"
GRANTLESS_SCOPE = "sellingpartnerapi::notifications"
DESTINATION_NAME = "stocksync-orders"
_ORDER_STATUSES = {
    "PENDING_AVAILABILITY": OrderStatus.OPEN, "PENDING": OrderStatus.OPEN, "UNSHIPPED": OrderStatus.OPEN,
    "PARTIALLY_SHIPPED": OrderStatus.OPEN, "SHIPPED": OrderStatus.SHIPPED, "CANCELLED": OrderStatus.CANCELLED,
    "UNFULFILLABLE": OrderStatus.CANCELLED,
}

_IN_PROGRESS = {"IN_QUEUE", "IN_PROGRESS"}
_FAILED_MESSAGES = {
    "CANCELLED": "Amazon cancelled the report (it does this when there is no listing data to report)",
    "FATAL": "Amazon could not generate the report (FATAL)",
}


class AmazonAdapter(ChannelAdapter):
    label = "Amazon"
    source: ClassVar[str] = SOURCE_AMAZON
    uses_bearer_token = True

    def __init__(self, account: ChannelAccount, **options: Any) -> None:
        super().__init__(account, **options)
        self.http.throttle_wait = rate_limit_wait  # SP-API throttles name the operation's rate, no Retry-After

    def base_url(self) -> str:
        return str(self.settings.get("sp_api_endpoint") or SP_API_ENDPOINTS[self.settings.get("region") or "eu"])

    def fetch_token(self, previous: CachedToken | None) -> CachedToken:
        self.require("lwa_client_id", "lwa_client_secret", "refresh_token")
        response = self.http.request("POST", str(self.settings.get("lwa_endpoint") or LWA_ENDPOINT), data={
            "grant_type": "refresh_token",
            "refresh_token": self.credentials["refresh_token"],
            "client_id": self.credentials["lwa_client_id"],
            "client_secret": self.credentials["lwa_client_secret"],
        })
        answer = response.json()
        return CachedToken(answer["access_token"], expires_in(answer.get("expires_in")))

    def auth_headers(self, token: str | None) -> dict[str, str]:
        return {"x-amz-access-token": token or ""}

    # --- catalogue -----------------------------------------------------------------------

    def request_catalogue(self) -> CatalogueProgress:
        answer = self.call_json("POST", f"{REPORTS}/reports", idempotent=False, json={
            "reportType": LISTINGS_REPORT,
            "marketplaceIds": list(self.settings.get("marketplace_ids") or []),
        })
        return CatalogueProgress(CatalogueStatus.REQUESTED, str(_field(answer, "reportId")))

    def poll_catalogue(self, report_id: str, details: Mapping[str, Any]) -> CatalogueProgress:
        return self._progress(self.call_json("GET", f"{REPORTS}/reports/{report_id}"))

    def find_catalogue_request(self, since: datetime) -> CatalogueProgress | None:
        answer = self.call_json("GET", f"{REPORTS}/reports", params={
            "reportTypes": LISTINGS_REPORT,
            "createdSince": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "marketplaceIds": ",".join(self.settings.get("marketplace_ids") or []),
            "pageSize": 10,
        })
        reports = sorted(answer.get("reports") or [], key=lambda r: r.get("createdTime", ""))
        return self._progress(reports[-1]) if reports else None

    def open_catalogue(self, progress: CatalogueProgress) -> CatalogueDocument:
        document_id = progress.details.get("reportDocumentId")
        if not document_id:
            raise ChannelRejected("Amazon's report is done but names no document", details=dict(progress.details))
        variations = self.variation_children()
        document = self.call_json("GET", f"{REPORTS}/documents/{document_id}")
        gzipped = str(document.get("compressionAlgorithm") or "").upper() == "GZIP"
        # A pre-signed URL: no SP-API auth; the body is taken as sent, gzip included.
        download = self.call("GET", str(_field(document, "url")), authenticated=False, stream=True)
        gzipped = gzipped or download.headers.get("Content-Encoding", "").lower() == "gzip"
        content_type = download.headers.get("Content-Type") or DEFAULT_CONTENT_TYPE
        chunks = stream_response(download)
        if variations:
            chunks = with_variation_columns(chunks, variations, gzipped=gzipped, charset=_charset(content_type))
            gzipped = False
        return CatalogueDocument(
            source=self.source,
            extension="tsv.gz" if gzipped else "tsv",
            content_type=content_type,
            chunks=chunks,
            closers=[download.close],
        )

    def variation_children(self) -> dict[str, tuple[str, dict[str, str]]]:
        """Every variation child: SKU -> (parent SKU, attribute -> value), from searchListingsItems."""
        if not self.settings.get("seller_id"):
            return {}
        themes: dict[str, list[str]] = {}  # parent -> the theme's attributes
        for item in self._search_listings({"withoutStatus": "BUYABLE", "includedData": "relationships"}):
            for by_marketplace in item.get("relationships") or []:
                for relation in (by_marketplace or {}).get("relationships") or []:
                    if relation.get("type") == "VARIATION" and relation.get("childSkus"):
                        theme = relation.get("variationTheme") or {}
                        themes[str(item.get("sku"))] = [str(a) for a in theme.get("attributes") or []]
        found: dict[str, tuple[str, dict[str, str]]] = {}
        for parent, names in themes.items():
            for child in self._search_listings({"variationParentSku": parent, "includedData": "attributes"}):
                attributes = child.get("attributes") or {}
                found[str(child.get("sku"))] = (parent, {
                    name: str(values[0].get("value")) for name in names
                    if isinstance(values := attributes.get(name), list) and values and isinstance(values[0], dict)
                    and values[0].get("value") is not None})
        return found

    def _search_listings(self, params: Mapping[str, str]) -> Iterator[Mapping[str, Any]]:
        seller = quote(str(self.settings["seller_id"]), safe="")
        token: str | None = None
        while True:
            self.limited("searchListingsItems", SEARCH_LISTINGS_RATE)
            answer = self.call_json("GET", f"{LISTINGS}/items/{seller}", params={
                "marketplaceIds": ",".join(self.settings.get("marketplace_ids") or []), "pageSize": SEARCH_PAGE,
                **params, **({"pageToken": token} if token else {})}) or {}
            yield from (item for item in answer.get("items") or [] if isinstance(item, dict))
            token = (answer.get("pagination") or {}).get("nextToken")
            if not token:
                return

    # --- stock ---------------------------------------------------------------------------
    # Quantity is keyed by (seller id, SKU): one patch names every marketplace of the account.
    # 0 makes the offer inactive on Amazon's side, a positive quantity active again.

    def quantity_batches(self, updates: Sequence[QuantityUpdate]) -> Iterator[list[QuantityUpdate]]:
        threshold = int(self.settings.get("feed_threshold") or DEFAULT_FEED_THRESHOLD)
        size = FEED_MAX_MESSAGES if len(updates) > threshold else 1
        yield from batched(updates, size)

    def calls_for(self, changed: int) -> int:
        threshold = int(self.settings.get("feed_threshold") or DEFAULT_FEED_THRESHOLD)
        return changed if changed <= threshold else -(-changed // FEED_MAX_MESSAGES)

    def send_quantity_batch(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        self.require("seller_id")
        if len(batch) == 1:
            return [self._patch_quantity(batch[0])]
        return self._feed_quantities(batch)

    def _patch_quantity(self, update: QuantityUpdate) -> QuantityResult:
        self.limited("patchListingsItem", PATCH_RATE)
        seller, sku = self.settings["seller_id"], quote(update.sku, safe="")
        answer = self.call_json("PATCH", f"{LISTINGS}/items/{seller}/{sku}", params={
            "marketplaceIds": ",".join(self.settings.get("marketplace_ids") or []),
        }, json={"productType": "PRODUCT", "patches": [quantity_patch(update.quantity)]})
        status = str((answer or {}).get("status") or "")
        if status == "ACCEPTED":
            # Amazon makes the offer inactive at 0: in our words the listing is disabled (it comes back on a restock).
            return QuantityResult(update.sku, QuantityStatus.OK, state=shown_state(update))
        issues = "; ".join(str(i.get("message")) for i in (answer or {}).get("issues") or [] if isinstance(i, dict))
        return QuantityResult(update.sku, QuantityStatus.ERROR, issues or f"Amazon answered {status or 'nothing'}")

    def _feed_quantities(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        feed = {
            "header": {"sellerId": self.settings["seller_id"], "version": "2.0", "issueLocale": "en_US"},
            "messages": [{"messageId": n, "sku": u.sku, "operationType": "PATCH", "productType": "PRODUCT",
                          "patches": [quantity_patch(u.quantity)]} for n, u in enumerate(batch, start=1)],
        }
        self.limited("createFeedDocument", CREATE_FEED_DOCUMENT_RATE)
        document = self.call_json("POST", f"{FEEDS}/documents", idempotent=False,
                                  json={"contentType": FEED_CONTENT_TYPE})
        # A pre-signed upload URL: no SP-API auth, the exact content type given above.
        self.call("PUT", str(_field(document, "url")), authenticated=False, data=json.dumps(feed).encode(),
                  headers={"Content-Type": FEED_CONTENT_TYPE})
        self.limited("createFeed", CREATE_FEED_RATE)
        created = self.call_json("POST", f"{FEEDS}/feeds", idempotent=False, json={
            "feedType": LISTINGS_FEED, "marketplaceIds": list(self.settings.get("marketplace_ids") or []),
            "inputFeedDocumentId": _field(document, "feedDocumentId"),
        })
        feed_id = str(_field(created, "feedId"))
        # Recorded as sent while Amazon processes the feed (the quantity too): the state it leaves them in.
        return [QuantityResult(u.sku, QuantityStatus.PENDING, reference=feed_id, state=shown_state(u),
                               message=f"in Amazon feed {feed_id}") for u in batch]

    def pending_outcome(self, reference: str) -> dict[str, str] | None:
        return self.feed_issues(reference)

    def feed_issues(self, feed_id: str) -> dict[str, str] | None:
        """None while the feed is processing; else the error text per SKU of its processing report
        (SKUs not named were accepted). A cancelled or fatal feed names every SKU with "*"."""
        self.limited("getFeed", GET_FEED_RATE)
        feed = self.call_json("GET", f"{FEEDS}/feeds/{feed_id}")
        status = str((feed or {}).get("processingStatus") or "")
        if status in _IN_PROGRESS:
            return None
        if status != "DONE":
            return {"*": f"Amazon feed {feed_id} ended {status}"}
        self.limited("getFeedDocument", GET_FEED_DOCUMENT_RATE)
        document = self.call_json("GET", f"{FEEDS}/documents/{_field(feed, 'resultFeedDocumentId')}")
        body = self.call("GET", str(_field(document, "url")), authenticated=False).content
        if str(document.get("compressionAlgorithm") or "").upper() == "GZIP":
            body = gzip.decompress(body)
        try:
            report = json.loads(body)
        except ValueError as exc:
            raise ChannelRejected(f"Amazon's processing report of feed {feed_id} is not JSON",
                                  details={"feedId": feed_id}) from exc
        return report_issues(report)

    # --- orders --------------------------------------------------------------------------

    order_poll_minutes: ClassVar[int] = 3  # searchOrders: 0.0056 requests/s
    order_poll_floor_s: ClassVar[float] = 180.0
    notifies_orders: ClassVar[bool] = True

    def orders_configured(self) -> bool:
        return bool(self.settings.get("marketplace_ids") and self.settings.get("seller_id")
                    and self.credentials.get("refresh_token"))

    def fetch_orders(self, updated_after: datetime, page: str | None = None) -> OrderPage:
        params: dict[str, Any] = {"marketplaceIds": ",".join(self.settings.get("marketplace_ids") or []),
                                  "includedData": ORDER_DATA, "maxResultsPerPage": ORDERS_PAGE}
        if page:
            params["paginationToken"] = page
        params["lastUpdatedAfter"] = iso_z(updated_after)
        self.limited("searchOrders", SEARCH_ORDERS_RATE)
        answer = self.call_json("GET", f"{ORDERS}/orders", params=params) or {}
        orders = [self.channel_order(order) for order in answer.get("orders") or [] if isinstance(order, dict)]
        next_token = (answer.get("pagination") or {}).get("nextToken")
        return OrderPage(orders, str(next_token) if next_token else None)

    def fetch_order(self, order_id: str) -> ChannelOrder | None:
        self.limited("getOrder", GET_ORDER_RATE)
        answer = self.call_json_or_none("GET", f"{ORDERS}/orders/{quote(order_id, safe='')}",
                                        params={"includedData": ORDER_DATA})
        if answer is None:
            return None
        order = answer.get("order")
        return self.channel_order(order) if isinstance(order, dict) else None

    def channel_order(self, order: Mapping[str, Any]) -> ChannelOrder:
        """An Orders API v2026-01-01 Order (with FULFILLMENT and PROCEEDS) as ours."""
        order_id = str(_field(order, "orderId"))
        fulfillment = order.get("fulfillment") or {}
        status_word = str(fulfillment.get("fulfillmentStatus") or "")
        status = _ORDER_STATUSES.get(status_word)
        if status is None:
            raise ChannelRejected(f"Amazon order {order_id} has an unknown fulfillment status {status_word!r}",
                                  details={"orderId": order_id})
        lines = []
        for item in order.get("orderItems") or []:
            product = item.get("product") or {}
            unit_price = (product.get("price") or {}).get("unitPrice") or {}
            cancelled = bool((item.get("cancellation") or {}).get("cancellationExecution"))
            lines.append(ChannelOrderLine(
                line_id=str(item.get("orderItemId") or ""), sku=str(product.get("sellerSku") or ""),
                quantity=0 if cancelled else units(item.get("quantityOrdered")), title=str(product.get("title") or ""),
                unit_price=money(unit_price.get("amount"))))
        total = (order.get("proceeds") or {}).get("grandTotal") or {}
        channel = order.get("salesChannel") or {}
        try:
            updated = required_time(order.get("lastUpdatedTime"), f"Amazon order {order_id}")
        except ValueError as exc:
            raise ChannelRejected(str(exc), details={"orderId": order_id}) from exc
        return ChannelOrder(
            order_id=order_id, status=status, fulfilled_by_channel=fulfillment.get("fulfilledBy") == "AMAZON",
            updated_at=updated, lines=tuple(lines), placed_at=parse_time(order.get("createdTime")),
            currency=total.get("currencyCode") or unit_price_currency(order), total=money(total.get("amount")),
            channel_status=status_word,
            raw_reference={k: v for k, v in {"marketplaceId": channel.get("marketplaceId"),
                                             "fulfilledBy": fulfillment.get("fulfilledBy")}.items() if v},
        )

    # --- order notifications ----------------------------------------------------------------
    # Destinations are the application's (grantless); the subscription is the seller's.

    def ensure_order_notifications(self, destination_arn: str) -> str | None:
        destination_id = self._destination_for(destination_arn)
        self.limited("notifications", NOTIFICATIONS_RATE)
        answer = self.call_json_or_none("GET", f"{NOTIFICATIONS}/subscriptions/{ORDER_CHANGE}",
                                        params={"payloadVersion": ORDER_CHANGE_PAYLOAD}) or {}
        existing = answer.get("payload") or {}
        if existing.get("subscriptionId") and existing.get("destinationId") == destination_id:
            return str(existing["subscriptionId"])
        if existing.get("subscriptionId"):  # to another destination: Amazon allows one per payload version
            self.limited("notifications", NOTIFICATIONS_RATE)
            self.call("DELETE", f"{NOTIFICATIONS}/subscriptions/{ORDER_CHANGE}/{existing['subscriptionId']}",
                      authenticated=False, headers=self._grantless_headers())
        self.limited("notifications", NOTIFICATIONS_RATE)
        created = self.call_json("POST", f"{NOTIFICATIONS}/subscriptions/{ORDER_CHANGE}", idempotent=False, json={
            "payloadVersion": ORDER_CHANGE_PAYLOAD, "destinationId": destination_id,
            "processingDirective": {"eventFilter": {"eventFilterType": ORDER_CHANGE,
                                                    "orderChangeTypes": ["OrderStatusChange",
                                                                         "BuyerRequestedChange"]}},
        }) or {}
        return str(_field(created.get("payload") or {}, "subscriptionId"))

    def _destination_for(self, destination_arn: str) -> str:
        """The application's destination for this SQS queue, created once."""
        self.limited("notifications", NOTIFICATIONS_RATE)
        answer = self.call_json("GET", f"{NOTIFICATIONS}/destinations", authenticated=False,
                                headers=self._grantless_headers()) or {}
        for destination in answer.get("payload") or []:
            if ((destination.get("resource") or {}).get("sqs") or {}).get("arn") == destination_arn:
                return str(_field(destination, "destinationId"))
        self.limited("notifications", NOTIFICATIONS_RATE)
        created = self.call_json("POST", f"{NOTIFICATIONS}/destinations", authenticated=False, idempotent=False,
                                 headers=self._grantless_headers(),
                                 json={"name": DESTINATION_NAME,
                                       "resourceSpecification": {"sqs": {"arn": destination_arn}}})
        return str(_field((created or {}).get("payload") or {}, "destinationId"))

    def _grantless_headers(self) -> dict[str, str]:
        key = f"{self.account.credentials_key()}:grantless"
        return {"x-amz-access-token": self.tokens.get(key, self._fetch_grantless_token)}

    def _fetch_grantless_token(self, previous: CachedToken | None) -> CachedToken:
        self.require("lwa_client_id", "lwa_client_secret")
        try:
            response = self.http.request("POST", str(self.settings.get("lwa_endpoint") or LWA_ENDPOINT), data={
                "grant_type": "client_credentials", "scope": GRANTLESS_SCOPE,
                "client_id": self.credentials["lwa_client_id"],
                "client_secret": self.credentials["lwa_client_secret"],
            })
        except RemoteError as exc:
            raise channel_error(exc, f"{self.label} (grantless token)") from exc
        answer = response.json()
        return CachedToken(answer["access_token"], expires_in(answer.get("expires_in")))

    @staticmethod
    def notified_orders(message: Mapping[str, Any]) -> list[NotifiedOrder]:
        """The order an ORDER_CHANGE notification names, to be read with getOrder: its summary is not
        taken on trust. `message` is the notification, or an SQS record / message whose `body` (or
        `Body`) is its JSON; other notification types name none."""
        notification: Any = message
        body = message.get("body", message.get("Body")) if isinstance(message, Mapping) else None
        if isinstance(body, str | bytes):
            try:
                notification = json.loads(body)
            except ValueError:
                return []
        if not isinstance(notification, Mapping) or notification.get("NotificationType") != ORDER_CHANGE:
            return []
        change = (notification.get("Payload") or {}).get("OrderChangeNotification") or {}
        seller, order_id = change.get("SellerId"), change.get("AmazonOrderId")
        if not (seller and order_id):
            return []
        return [NotifiedOrder(str(seller), str(order_id))]

    def _progress(self, report: Mapping[str, Any]) -> CatalogueProgress:
        report_id = str(_field(report, "reportId"))
        status = str(report.get("processingStatus") or "")
        if status == "DONE":
            return CatalogueProgress(CatalogueStatus.DONE, report_id,
                                     details={"reportDocumentId": report.get("reportDocumentId")})
        if status in _FAILED_MESSAGES:
            return CatalogueProgress(CatalogueStatus.FAILED, report_id, message=_FAILED_MESSAGES[status])
        if status in _IN_PROGRESS:
            return CatalogueProgress(CatalogueStatus.IN_PROGRESS, report_id, message=f"Amazon: {status}")
        raise ChannelRejected(f"Amazon answered an unknown report status {status!r}", details={"reportId": report_id})


def _charset(content_type: str) -> str:
    found = re.search(r"charset=([\w-]+)", content_type, re.IGNORECASE)
    return found.group(1) if found else "cp1252"


def with_variation_columns(chunks: Iterator[bytes], variations: Mapping[str, tuple[str, Mapping[str, str]]], *,
                           gzipped: bool, charset: str) -> Iterator[bytes]:
    """The report with `parent` and `variation` columns after its own, line by line: the bytes of its
    own cells are passed on untouched (the SKU is decoded only to look it up). Rows end as they do."""
    decompress = zlib.decompressobj(wbits=31) if gzipped else None
    sku_column: int | None = None
    pending = b""

    def extended(line: bytes) -> bytes:
        nonlocal sku_column
        body = line.rstrip(b"\r\n")
        end = line[len(body):]
        cells = body.split(b"\t")
        if sku_column is None:
            names = [cell.decode(charset, errors="replace").strip().lstrip("\ufeff").casefold() for cell in cells]
            sku_column = names.index("seller-sku") if "seller-sku" in names else 0
            return body + b"\tparent\tvariation" + end
        sku = cells[sku_column].decode(charset, errors="replace").strip() if sku_column < len(cells) else ""
        parent, attributes = variations.get(sku, ("", {}))
        variation = json.dumps(dict(attributes), separators=(",", ":")) if attributes else ""  # ASCII
        return body + b"\t" + parent.encode(charset, errors="replace") + b"\t" + variation.encode() + end

    for chunk in chunks:
        data = decompress.decompress(chunk) if decompress is not None else chunk
        pending += data
        *lines, pending = pending.split(b"\n")
        if lines:
            yield b"".join(extended(line + b"\n") for line in lines)
    if decompress is not None:
        pending += decompress.flush()
    if pending:
        yield extended(pending)


def report_issues(report: Mapping[str, Any]) -> dict[str, str]:
    """The error text per SKU of a JSON_LISTINGS_FEED processing report. An ERROR naming no SKU is
    about the feed itself (Amazon refused all of it): it is then every SKU's error, "*"."""
    issues: dict[str, str] = {}
    for issue in report.get("issues") or []:
        if not isinstance(issue, Mapping) or issue.get("severity") != "ERROR":
            continue
        key = str(issue.get("sku") or "*")
        text = f"{issue.get('code', '')}: {issue.get('message', '')}".strip(": ")
        issues[key] = "; ".join(filter(None, [issues.get(key), text]))
    if "*" in issues:
        return {"*": "; ".join(filter(None, [issues["*"], *(f"{sku}: {text}" for sku, text in issues.items()
                                                            if sku != "*")]))}
    return issues


def rate_limit_wait(response: requests.Response) -> float | None:
    """How long an SP-API throttle asks us to wait. Its 429s name no Retry-After, only the operation's
    rate in x-amzn-RateLimit-Limit (requests per second): its token bucket holds the next request
    1/rate seconds later (0.2 s for patchListingsItem, 45 s for getFeedDocument)."""
    try:
        rate = float(response.headers.get("x-amzn-RateLimit-Limit") or "")
    except ValueError:
        return None
    return 1.0 / rate if rate > 0 else None


def quantity_patch(quantity: int) -> dict[str, Any]:
    """The merge of fulfillment_availability a patch or a feed message carries (merchant-fulfilled)."""
    return {"op": "merge", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": max(int(quantity), 0)}]}


def unit_price_currency(order: Mapping[str, Any]) -> str | None:
    """The order's currency from its first priced item, when the order total is not given."""
    for item in order.get("orderItems") or []:
        currency = (((item.get("product") or {}).get("price") or {}).get("unitPrice") or {}).get("currencyCode")
        if currency:
            return str(currency)
    return None


def _field(answer: Any, name: str) -> Any:
    if not isinstance(answer, Mapping) or not answer.get(name):
        raise ChannelRejected(f"Amazon's answer has no {name}", details={"answer": str(answer)[:300]})
    return answer[name]
