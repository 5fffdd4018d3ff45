"""Amazon (SP-API). Catalogue: Reports 2021-06-30 GET_MERCHANT_LISTINGS_ALL_DATA, the document kept
exactly as Amazon serves it (gzip or not, usually Cp1252): the ingestion decodes it.

Auth: Login with Amazon exchanges the refresh token for an access token (about an hour), cached
per credential set and sent as x-amz-access-token.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from stocksync.channels.base import (
    SOURCE_AMAZON,
    CatalogueDocument,
    CatalogueProgress,
    CatalogueStatus,
    ChannelAdapter,
    ChannelRejected,
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


def _field(answer: Any, name: str) -> Any:
    if not isinstance(answer, Mapping) or not answer.get(name):
        raise ChannelRejected(f"Amazon's answer has no {name}", details={"answer": str(answer)[:300]})
    return answer[name]
