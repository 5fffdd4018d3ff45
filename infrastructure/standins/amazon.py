"""Amazon SP-API stand-in: Login with Amazon tokens, Reports 2021-06-30 (createReport, getReport,
getReports, getReportDocument) and the pre-signed document download, served Cp1252 (optionally
gzip) like GET_MERCHANT_LISTINGS_ALL_DATA. A report is IN_QUEUE, then IN_PROGRESS, then DONE as
it is polled (`polls_until_done`)."""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, datetime
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.standins.base import StandIn, json_response
from infrastructure.standins.contract import Contract, RoutedContract, spec
from infrastructure.standins.demo_listings import DemoListing, demo_listings, with_fba

REPORTS = "/reports/2021-06-30"
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "amzn1.application-oa2-client.demo", "demo-secret", "Atzr|demo-refresh"
HEADER = ("item-name", "item-description", "listing-id", "seller-sku", "price", "quantity", "open-date",
          "image-url", "item-is-marketplace", "product-id-type", "zshop-shipping-fee", "item-note",
          "item-condition", "zshop-category1", "zshop-browse-path", "zshop-storefront-feature", "asin1", "asin2",
          "asin3", "will-ship-internationally", "expedited-shipping", "zshop-boldface", "product-id",
          "bid-for-featured-placement", "add-delete", "pending-quantity", "fulfillment-channel",
          "merchant-shipping-group", "status")
CONTENT_TYPE = "text/plain; charset=Cp1252"


def amazon_contract() -> RoutedContract:
    return RoutedContract([(REPORTS, Contract(spec("amazon", "reports_2021-06-30.oas3.json")))])


class AmazonStandIn(StandIn):
    name = "amazon"
    limits = {"create_report": (0.0167, 15), "get_report": (2.0, 15)}  # the usage plan in the model

    def __init__(self, *, listings: list[DemoListing] | None = None, gzip_documents: bool = True,
                 polls_until_done: int = 2, **kwargs: Any) -> None:
        self.listings = listings if listings is not None else with_fba(demo_listings("AMZ"), 3)
        self.gzip_documents = gzip_documents
        self.polls_until_done = polls_until_done
        self.reports: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, bytes] = {}
        self.tokens: set[str] = set()
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
        ]

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



