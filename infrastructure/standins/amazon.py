"""Amazon SP-API stand-in: Login with Amazon tokens, Reports 2021-06-30 (createReport, getReport,
getReports, getReportDocument) and the pre-signed document download, served Cp1252 (optionally
gzip) like GET_MERCHANT_LISTINGS_ALL_DATA. A report is IN_QUEUE, then IN_PROGRESS, then DONE as
it is polled (`polls_until_done`)."""

from __future__ import annotations

import gzip
import itertools
import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.standins.base import StandIn, json_response
from infrastructure.standins.contract import Contract, RoutedContract, spec
from infrastructure.standins.demo_listings import DemoListing, demo_listings, with_fba

REPORTS = "/reports/2021-06-30"
LISTINGS = "/listings/2021-08-01"
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


def amazon_contract() -> RoutedContract:
    return RoutedContract([(REPORTS, Contract(spec("amazon", "reports_2021-06-30.oas3.json"))),
                           (LISTINGS, Contract(spec("amazon", "listingsItems_2021-08-01.oas3.json"))),
                           (FEEDS, Contract(spec("amazon", "feeds_2021-06-30.oas3.json")))])


@cache
def _feed_validator() -> Any:
    from jsonschema import Draft7Validator

    return Draft7Validator(json.loads(spec("amazon", "listings-feed-schema-v2.json").read_text()))


class AmazonStandIn(StandIn):
    name = "amazon"
    # The usage plans in the models (requests per second, burst)
    limits = {"create_report": (0.0167, 15), "get_report": (2.0, 15), "patch_listing": (5.0, 10),
              "create_feed_document": (0.5, 15), "create_feed": (0.0083, 15), "get_feed": (2.0, 15)}

    def __init__(self, *, listings: list[DemoListing] | None = None, gzip_documents: bool = True,
                 polls_until_done: int = 2, **kwargs: Any) -> None:
        self.listings = listings if listings is not None else with_fba(demo_listings("AMZ"), 3)
        self.gzip_documents = gzip_documents
        self.polls_until_done = polls_until_done
        self.reports: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, bytes] = {}
        self.tokens: set[str] = set()
        self.feeds: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes | None] = {}
        self.feed_violations: list[str] = []
        self._ids = itertools.count(50001)
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
            Rule(f"{LISTINGS}/items/<seller_id>/<sku>", endpoint="patch_listing", methods=["PATCH"]),
            Rule(f"{FEEDS}/documents", endpoint="create_feed_document", methods=["POST"]),
            Rule(f"{FEEDS}/feeds", endpoint="create_feed", methods=["POST"]),
            Rule(f"{FEEDS}/feeds/<feed_id>", endpoint="get_feed", methods=["GET"]),
            Rule(f"{FEEDS}/documents/<document_id>", endpoint="get_feed_document", methods=["GET"]),
            Rule("/uploads/<document_id>", endpoint="upload", methods=["PUT"]),
        ]

    def violations(self) -> list[str]:
        return [*super().violations(), *self.feed_violations]

    def listing(self, sku: str) -> DemoListing:
        return next(item for item in self.listings if item.sku == sku)

    def fault_response(self, status: int) -> Response:
        headers = {"x-amzn-RateLimit-Limit": "0.0167"} if status == 429 else {}
        code = {429: "QuotaExceeded", 500: "InternalFailure", 503: "ServiceUnavailable"}.get(status, "Error")
        return json_response({"errors": [{"code": code, "message": f"Stand-in fault {status}"}]}, status, headers)

    # --- LWA -------------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        form = request.form
        if (form.get("client_id"), form.get("client_secret"), form.get("refresh_token")) != (
                CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN) or form.get("grant_type") != "refresh_token":
            return json_response({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        token = f"Atza|demo-{next(self._ids)}"
        with self.lock:
            self.tokens.add(token)
        return json_response({"access_token": token, "token_type": "bearer", "expires_in": 3600})

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

    def _apply_patches(self, sku: str, patches: list[dict[str, Any]]) -> str | None:
        """Apply merge patches of fulfillment_availability; the error text when the SKU cannot take them."""
        listing = next((item for item in self.listings if item.sku == sku), None)
        if listing is None:
            return f"SKU {sku} is not in the seller's catalogue"
        if listing.fba:
            return "The quantity of a listing fulfilled by Amazon cannot be set by the seller"
        for patch in patches:
            if patch.get("op") != "merge" or patch.get("path") != "/attributes/fulfillment_availability":
                return f"unsupported patch {patch.get('op')} {patch.get('path')}"
            for value in patch.get("value") or []:
                if value.get("fulfillment_channel_code") != "DEFAULT" or not isinstance(value.get("quantity"), int):
                    return "fulfillment_availability needs fulfillment_channel_code DEFAULT and an integer quantity"
                listing.quantity = value["quantity"]
                listing.active = value["quantity"] > 0  # 0 = inactive, a positive quantity reactivates
        return None

    def patch_listing(self, request: Request, seller_id: str, sku: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        body = request.get_json(silent=True) or {}
        if seller_id != SELLER_ID or not request.args.get("marketplaceIds"):
            return json_response({"errors": [{"code": "InvalidInput", "message": "Unknown seller or marketplace"}]},
                                 400)
        with self.lock:
            error = self._apply_patches(sku, body.get("patches") or [])
            submission = f"sub-{next(self._ids)}"
        if error:
            return json_response({"sku": sku, "status": "INVALID", "submissionId": submission, "issues": [
                {"code": "90220", "message": error, "severity": "ERROR", "categories": ["INVALID_ATTRIBUTE"]}]})
        return json_response({"sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": []})

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
        issues = []
        for message in document.get("messages") or []:
            error = self._apply_patches(str(message.get("sku")), message.get("patches") or [])
            if error:
                issues.append({"messageId": message.get("messageId"), "sku": message.get("sku"), "code": "90220",
                               "severity": "ERROR", "message": error})
        report_id = f"amzn1.tortuga.4.eu.report.{feed['feedId']}"
        count = len(document.get("messages") or [])
        self.documents[report_id] = json.dumps({
            "header": {"sellerId": SELLER_ID, "version": "2.0", "feedId": feed["feedId"]}, "issues": issues,
            "summary": {"errors": len(issues), "warnings": 0, "messagesProcessed": count,
                        "messagesAccepted": count - len({i["messageId"] for i in issues}),
                        "messagesInvalid": len({i["messageId"] for i in issues})},
        }).encode()
        feed.update(processingStatus="DONE", processingEndTime=_now(), resultFeedDocumentId=report_id)

    def get_feed_document(self, request: Request, document_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        if document_id not in self.documents:
            return json_response({"errors": [{"code": "NotFound", "message": "Document not found"}]}, 404)
        return json_response({"feedDocumentId": document_id, "url": f"{self.url}/documents-store/{document_id}"})

    def report_tsv(self) -> bytes:
        """GET_MERCHANT_LISTINGS_ALL_DATA as Amazon writes it: tab-separated, CRLF, Cp1252."""
        lines = ["\t".join(HEADER)]
        with self.lock:
            for n, item in enumerate(self.listings):
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



