"""Pixmania, a Mirakl marketplace. Most sellers upload their catalogue file themselves; with a
marketplace URL and a shop API key the poller fetches it: OF52 asks for an asynchronous offers
export (CSV), OF53 polls it, OF54 downloads the files it names. Several chunk files become one
document (the header kept once), written exactly as Mirakl serves it otherwise.

Auth: the shop API key in the Authorization header (no scheme), as Mirakl documents.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from stocksync.channels.base import (
    SOURCE_MIRAKL,
    CatalogueDocument,
    CatalogueProgress,
    CatalogueStatus,
    ChannelAdapter,
    ChannelNotConfigured,
    ChannelRejected,
    stream_response,
)

EXPORT = "/api/offers/export/async"
CSV_CONTENT_TYPE = "text/csv; charset=UTF-8"


class PixmaniaAdapter(ChannelAdapter):
    label = "Pixmania"
    source: ClassVar[str] = SOURCE_MIRAKL

    def base_url(self) -> str:
        return str(self.settings.get("base_url") or "https://pixmania.mirakl.net")

    def catalogue_configured(self) -> bool:
        return bool(self.settings.get("base_url") and self.credentials.get("api_key"))

    def auth_headers(self, token: str | None) -> dict[str, str]:
        if not self.credentials.get("api_key"):
            raise ChannelNotConfigured("The Pixmania channel has no shop API key: upload the catalogue file instead")
        return {"Authorization": self.credentials["api_key"]}

    def _shop(self) -> dict[str, str]:
        return {"shop_id": str(self.settings["shop_id"])} if self.settings.get("shop_id") else {}

    # --- catalogue -----------------------------------------------------------------------

    def request_catalogue(self) -> CatalogueProgress:
        answer = self.call_json("POST", EXPORT, params=self._shop(), idempotent=False, json={
            "export_type": "text/csv",
            "megabytes_per_chunk": 100,
        })
        tracking_id = (answer or {}).get("tracking_id")
        if not tracking_id:
            raise ChannelRejected("Mirakl accepted the export but gave no tracking_id", details={"answer": answer})
        return CatalogueProgress(CatalogueStatus.REQUESTED, str(tracking_id))

    def poll_catalogue(self, report_id: str, details: Mapping[str, Any]) -> CatalogueProgress:
        answer = self.call_json("GET", f"{EXPORT}/status/{report_id}", params=self._shop())
        status = str(answer.get("status") or "")
        if status == "COMPLETED":
            return CatalogueProgress(CatalogueStatus.DONE, report_id, details={"urls": list(answer.get("urls") or [])})
        if status == "FAILED":
            error = answer.get("error") or {}
            return CatalogueProgress(CatalogueStatus.FAILED, report_id,
                                     message=f"Mirakl's offers export failed: {error.get('detail') or 'no detail'}")
        return CatalogueProgress(CatalogueStatus.IN_PROGRESS, report_id, message=f"Mirakl: {status or 'PENDING'}")

    def open_catalogue(self, progress: CatalogueProgress) -> CatalogueDocument:
        urls = list(progress.details.get("urls") or [])
        if not urls:
            raise ChannelRejected("Mirakl's export is complete but names no file", details=dict(progress.details))
        return CatalogueDocument(self.source, "csv", CSV_CONTENT_TYPE, self._chunks(urls))

    def _chunks(self, urls: list[str]) -> Iterator[bytes]:
        for index, url in enumerate(urls):
            response = self.call("GET", url, stream=True)
            body = stream_response(response)
            if index == 0:
                yield from body
            else:
                yield from _without_first_line(body)


def _without_first_line(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A later chunk file repeats the header: drop everything up to the first line break."""
    header_done = False
    for chunk in chunks:
        if header_done:
            yield chunk
            continue
        newline = chunk.find(b"\n")
        if newline >= 0:
            header_done = True
            if chunk[newline + 1:]:
                yield chunk[newline + 1:]
