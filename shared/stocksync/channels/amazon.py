"""Amazon (SP-API). Catalogue: Reports 2021-06-30 GET_MERCHANT_LISTINGS_ALL_DATA, the document kept
exactly as Amazon serves it (gzip or not, usually Cp1252): the ingestion decodes it.

Auth: Login with Amazon exchanges the refresh token for an access token (about an hour), cached
per credential set and sent as x-amz-access-token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from stocksync.channels.base import (
    SOURCE_AMAZON,
    CatalogueDocument,
    CatalogueProgress,
    CatalogueStatus,
    ChannelAdapter,
    ChannelRejected,
    QuantityResult,
    QuantityStatus,
    QuantityUpdate,
    expires_in,
    stream_response,
)
from stocksync.http_client import CachedToken

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
FEEDS = "/feeds/2021-06-30"
LISTINGS_FEED = "JSON_LISTINGS_FEED"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
FEED_MAX_MESSAGES = 25_000  # listings-feed-schema-v2.json: messages maxItems
DEFAULT_FEED_THRESHOLD = 50
# Usage plans in the models (requests per second, burst)
PATCH_RATE = (5.0, 10)
CREATE_FEED_DOCUMENT_RATE = (0.5, 15)
CREATE_FEED_RATE = (0.0083, 15)

_IN_PROGRESS = {"IN_QUEUE", "IN_PROGRESS"}
_FAILED_MESSAGES = {
    "CANCELLED": "Amazon cancelled the report (it does this when there is no listing data to report)",
    "FATAL": "Amazon could not generate the report (FATAL)",
}


class AmazonAdapter(ChannelAdapter):
    label = "Amazon"
    source: ClassVar[str] = SOURCE_AMAZON
    uses_bearer_token = True

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
        document = self.call_json("GET", f"{REPORTS}/documents/{document_id}")
        gzipped = str(document.get("compressionAlgorithm") or "").upper() == "GZIP"
        # A pre-signed URL: no SP-API auth; the body is taken as sent, gzip included.
        download = self.call("GET", str(_field(document, "url")), authenticated=False, stream=True)
        gzipped = gzipped or download.headers.get("Content-Encoding", "").lower() == "gzip"
        return CatalogueDocument(
            source=self.source,
            extension="tsv.gz" if gzipped else "tsv",
            content_type=download.headers.get("Content-Type") or DEFAULT_CONTENT_TYPE,
            chunks=stream_response(download),
            closers=[download.close],
        )

    # --- stock ---------------------------------------------------------------------------
    # Quantity is keyed by (seller id, SKU): one patch names every marketplace of the account.
    # 0 makes the offer inactive on Amazon's side, a positive quantity active again.

    def quantity_batches(self, updates: Sequence[QuantityUpdate]) -> Iterator[list[QuantityUpdate]]:
        threshold = int(self.settings.get("feed_threshold") or DEFAULT_FEED_THRESHOLD)
        size = FEED_MAX_MESSAGES if len(updates) > threshold else 1
        for start in range(0, len(updates), size):
            yield list(updates[start:start + size])

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
            return QuantityResult(update.sku, QuantityStatus.OK, state="active" if update.quantity else "inactive")
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
        return [QuantityResult(u.sku, QuantityStatus.PENDING, reference=feed_id,
                               message=f"in Amazon feed {feed_id}") for u in batch]

    def pending_outcome(self, reference: str) -> dict[str, str] | None:
        return self.feed_issues(reference)

    def feed_issues(self, feed_id: str) -> dict[str, str] | None:
        """None while the feed is processing; else the error text per SKU of its processing report
        (SKUs not named were accepted). A cancelled or fatal feed names every SKU with "*"."""
        feed = self.call_json("GET", f"{FEEDS}/feeds/{feed_id}")
        status = str((feed or {}).get("processingStatus") or "")
        if status in _IN_PROGRESS:
            return None
        if status != "DONE":
            return {"*": f"Amazon feed {feed_id} ended {status}"}
        document = self.call_json("GET", f"{FEEDS}/documents/{_field(feed, 'resultFeedDocumentId')}")
        report = self.call("GET", str(_field(document, "url")), authenticated=False).json()
        issues: dict[str, str] = {}
        for issue in report.get("issues") or []:
            if issue.get("severity") == "ERROR" and issue.get("sku"):
                text = f"{issue.get('code', '')}: {issue.get('message', '')}".strip(": ")
                issues[str(issue["sku"])] = "; ".join(filter(None, [issues.get(str(issue["sku"])), text]))
        return issues

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


def quantity_patch(quantity: int) -> dict[str, Any]:
    """The merge of fulfillment_availability a patch or a feed message carries (merchant-fulfilled)."""
    return {"op": "merge", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": max(int(quantity), 0)}]}


def _field(answer: Any, name: str) -> Any:
    if not isinstance(answer, Mapping) or not answer.get(name):
        raise ChannelRejected(f"Amazon's answer has no {name}", details={"answer": str(answer)[:300]})
    return answer[name]
