"""Pixmania, a Mirakl marketplace. Most sellers upload their catalogue file themselves; with a
marketplace URL and a shop API key the poller fetches it: OF52 asks for an asynchronous offers
export (CSV), OF53 polls it, OF54 downloads the files it names. Several chunk files become one
document (the header kept once), written exactly as Mirakl serves it otherwise.

Stock goes by offer resubmission: OF24 (POST /api/offers) with every offer's price from the last
loaded catalogue and its quantity (OF24 resets every field not sent, so nothing is sent that we do
not know). Quantity 0 disables the offer (its availability ends now); a restock sends no end date,
which reactivates it. OF24 is asynchronous and allowed once a minute: its results are PENDING under
the import id until OF02 says the import is done and OF03's error report names the failed SKUs.

Auth: the shop API key in the Authorization header (no scheme), as Mirakl documents.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, ClassVar

from stocksync.channels.base import (
    SOURCE_MIRAKL,
    CatalogueDocument,
    CatalogueProgress,
    CatalogueStatus,
    ChannelAdapter,
    ChannelNotConfigured,
    ChannelRejected,
    QuantityResult,
    QuantityStatus,
    QuantityUpdate,
    shown_state,
    stream_response,
)

EXPORT = "/api/offers/export/async"
CSV_CONTENT_TYPE = "text/csv; charset=UTF-8"
OFFERS = "/api/offers"
OFFER_BULK = 10_000  # offers per OF24 call: Mirakl allows one call a minute, so one call carries a lot
OF24_RATE = (1 / 60, 1)  # "Maximum usage: Once per minute"
_IMPORT_RUNNING = {"WAITING_SYNCHRONIZATION_PRODUCT", "WAITING", "RUNNING"}  # OF02 status enum


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


    # --- stock ---------------------------------------------------------------------------

    bulk_size: ClassVar[int] = OFFER_BULK

    def send_quantity_batch(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        priced = [u for u in batch if u.price is not None]
        results = [QuantityResult(u.sku, QuantityStatus.ERROR, "no price from the last loaded catalogue: "
                                  "OF24 would reset it") for u in batch if u.price is None]
        if not priced:
            return results
        self.limited("of24", OF24_RATE)
        answer = self.call_json("POST", OFFERS, params=self._shop(), idempotent=False,
                                json={"offers": [self.offer(u) for u in priced]})
        import_id = (answer or {}).get("import_id")
        if import_id is None:
            raise ChannelRejected("Mirakl accepted the offers but gave no import_id", details={"answer": answer})
        return results + [QuantityResult(u.sku, QuantityStatus.PENDING, f"in Mirakl offer import {import_id}",
                                         state=shown_state(u), reference=str(import_id)) for u in priced]

    def offer(self, update: QuantityUpdate) -> dict[str, Any]:
        """An OF24 offer: every required field, the catalogue's price, and the quantity; at 0 the
        offer's availability ends now (disabled), a restock sends none (active again)."""
        offer: dict[str, Any] = {
            "shop_sku": update.sku, "product_id": update.sku,
            "product_id_type": str(self.settings.get("product_id_type") or "SHOP_SKU"),
            "state_code": str(self.settings.get("state_code") or "11"), "update_delete": "update",
            "price": update.price, "quantity": max(update.quantity, 0),
        }
        if update.quantity <= 0:
            offer["available_ended"] = (self.clock() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return offer

    def pending_outcome(self, reference: str) -> dict[str, str] | None:
        """OF02 until the import is done, then OF03's error report: the error text per SKU."""
        status = self.call_json("GET", f"{OFFERS}/imports/{reference}", params=self._shop()) or {}
        state = str(status.get("status") or "")
        if state in _IMPORT_RUNNING:
            return None
        if state != "COMPLETE":
            return {"*": f"Mirakl offer import {reference} ended {state}: {status.get('reason_status') or ''}"}
        if not status.get("has_error_report"):
            return {}
        report = self.call("GET", f"{OFFERS}/imports/{reference}/error_report", params=self._shop())
        rows = csv.DictReader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";")
        return {str(row.get("sku") or row.get("shop-sku")): str(row.get("error-message") or "refused")
                for row in rows if row.get("sku") or row.get("shop-sku")}


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
