"""eBay. Catalogue: the Sell Feed API's LMS_ACTIVE_INVENTORY_REPORT (every active listing, Inventory
API and legacy Trading alike, with ItemID, SKU, price and quantity), joined with the Inventory API's
inventory items (GET /inventory_item pages) to tell which SKUs are Inventory-API listings (and
their titles); every other SKU of the report is a Trading listing. The result is the normalized
listings CSV.

Why the feed and not only Inventory API offers: offers are read one SKU at a time (getOffers
needs `sku`) and never show Trading listings, which the stock issue must revise differently.

Auth: OAuth refresh-token grant at /identity/v1/oauth2/token, cached; `Authorization: Bearer`.
"""

from __future__ import annotations

import base64
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from typing import IO, Any, ClassVar
from xml.etree.ElementTree import iterparse  # eBay's own report; ElementTree expands no external entities

from stocksync.channels.base import (
    NORMALIZED_CONTENT_TYPE,
    SOURCE_STOCKSYNC,
    CatalogueDocument,
    CatalogueProgress,
    CatalogueStatus,
    ChannelAdapter,
    ChannelRejected,
    Listing,
    decimal_text,
    expires_in,
    normalized_csv,
)
from stocksync.http_client import CachedToken

API = "https://api.ebay.com"
SANDBOX_API = "https://api.sandbox.ebay.com"
FEED = "/sell/feed/v1"
INVENTORY = "/sell/inventory/v1"
SCOPES = "https://api.ebay.com/oauth/api_scope/sell.inventory"
ACTIVE_INVENTORY = "LMS_ACTIVE_INVENTORY_REPORT"
PAGE_SIZE = 200
CURRENCIES = {"EBAY_GB": "GBP", "EBAY_US": "USD", "EBAY_DE": "EUR", "EBAY_FR": "EUR", "EBAY_IT": "EUR",
              "EBAY_ES": "EUR", "EBAY_AU": "AUD", "EBAY_CA": "CAD", "EBAY_IE": "EUR"}

_DONE = {"COMPLETED"}
_FAILED = {"FAILED", "PARTIALLY_PROCESSED", "COMPLETED_WITH_ERROR"}  # a partial report is no snapshot
KIND_INVENTORY_API = "inventory_api"
KIND_TRADING = "trading"


class EbayAdapter(ChannelAdapter):
    label = "eBay"
    source: ClassVar[str] = SOURCE_STOCKSYNC
    uses_bearer_token = True

    def base_url(self) -> str:
        if self.settings.get("api_base_url"):
            return str(self.settings["api_base_url"])
        return SANDBOX_API if self.settings.get("sandbox") else API

    @property
    def marketplace_id(self) -> str:
        return str(self.settings.get("marketplace_id") or "EBAY_GB")

    def fetch_token(self, previous: CachedToken | None) -> CachedToken:
        self.require("client_id", "client_secret", "refresh_token")
        basic = base64.b64encode(f"{self.credentials['client_id']}:{self.credentials['client_secret']}".encode())
        response = self.http.request(
            "POST", "/identity/v1/oauth2/token",
            headers={"Authorization": f"Basic {basic.decode()}"},
            data={"grant_type": "refresh_token", "refresh_token": self.credentials["refresh_token"], "scope": SCOPES},
        )
        answer = response.json()
        return CachedToken(answer["access_token"], expires_in(answer.get("expires_in"), 7200))

    def auth_headers(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    # --- catalogue -----------------------------------------------------------------------

    def request_catalogue(self) -> CatalogueProgress:
        response = self.call("POST", f"{FEED}/inventory_task", idempotent=False,
                             headers={"X-EBAY-C-MARKETPLACE-ID": self.marketplace_id},
                             json={"feedType": ACTIVE_INVENTORY, "schemaVersion": "1.0"})
        location = response.headers.get("Location") or response.headers.get("location") or ""
        task_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not task_id:
            raise ChannelRejected("eBay accepted the inventory task but gave no Location", details={})
        return CatalogueProgress(CatalogueStatus.REQUESTED, task_id)

    def poll_catalogue(self, report_id: str, details: Mapping[str, Any]) -> CatalogueProgress:
        task = self.call_json("GET", f"{FEED}/inventory_task/{report_id}")
        status = str(task.get("status") or "")
        if status in _DONE:
            return CatalogueProgress(CatalogueStatus.DONE, report_id)
        if status in _FAILED:
            return CatalogueProgress(CatalogueStatus.FAILED, report_id, message=f"eBay's inventory task ended {status}")
        return CatalogueProgress(CatalogueStatus.IN_PROGRESS, report_id, message=f"eBay: {status or 'pending'}")

    def open_catalogue(self, progress: CatalogueProgress) -> CatalogueDocument:
        titles = dict(self.inventory_items())
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - closed by the document
        download = self.call("GET", f"{FEED}/task/{progress.report_id}/download_result_file", stream=True)
        try:
            for chunk in download.iter_content(1024 * 1024):
                spool.write(chunk)
        finally:
            download.close()
        spool.seek(0)
        listings = self._report_listings(spool, titles)
        return CatalogueDocument(self.source, "csv", NORMALIZED_CONTENT_TYPE, normalized_csv(listings),
                                 closers=[spool.close])

    def inventory_items(self) -> Iterator[tuple[str, str]]:
        """(SKU, title) of every Inventory-API inventory item, page by page."""
        offset = 0
        while True:
            page = self.call_json("GET", f"{INVENTORY}/inventory_item",
                                  params={"limit": str(PAGE_SIZE), "offset": str(offset)})
            items = page.get("inventoryItems") or []
            for item in items:
                yield str(item.get("sku") or ""), str((item.get("product") or {}).get("title") or "")
            offset += len(items)
            if not items or offset >= int(page.get("total") or 0):
                return

    def _report_listings(self, spool: IO[bytes], inventory_titles: dict[str, str]) -> Iterator[Listing]:
        currency = CURRENCIES.get(self.marketplace_id, "")
        try:
            archive = zipfile.ZipFile(spool)
        except zipfile.BadZipFile:  # some feeds come as the bare XML
            spool.seek(0)
            yield from _sku_details(spool, inventory_titles, currency)
            return
        with archive:
            for name in archive.namelist():
                with archive.open(name) as member:
                    yield from _sku_details(member, inventory_titles, currency)


def _sku_details(stream: IO[bytes], titles: dict[str, str], currency: str) -> Iterator[Listing]:
    """Each SKUDetails (and each of its Variations) of an ActiveInventoryReport, streamed."""
    try:
        for _event, element in iterparse(stream, events=("end",)):  # noqa: S314
            if _local(element.tag) != "SKUDetails":
                continue
            fields = {_local(child.tag): child for child in element}
            item_id = (fields["ItemID"].text or "").strip() if "ItemID" in fields else ""
            variations = [v for v in element.iter() if _local(v.tag) == "Variation"]
            for row in variations or [element]:
                values = {_local(child.tag): child for child in row}
                sku = (values["SKU"].text or "").strip() if "SKU" in values else ""
                if not sku:
                    continue
                price = values.get("Price")
                yield Listing(
                    sku=sku, title=titles.get(sku, ""),
                    price=decimal_text((price.text or "").strip()) if price is not None else "",
                    quantity=(values["Quantity"].text or "").strip() if "Quantity" in values else "",
                    currency=(price.get("currencyID") if price is not None else None) or currency,
                    listing_id=item_id,
                    listing_kind=KIND_INVENTORY_API if sku in titles else KIND_TRADING,
                )
            element.clear()
    except SyntaxError as exc:  # ElementTree's ParseError
        raise ChannelRejected(f"eBay's active inventory report is not readable XML: {exc}") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
