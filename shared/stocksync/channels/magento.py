"""Magento 2 (Adobe Commerce) REST. Catalogue: products search pages (searchCriteria pageSize /
currentPage), stopping on total_count because asking past the last page answers the last page
again; quantities from MSI source items (summed over the channel's mapped sources, or every
source) or, for the legacy inventory, the product's stock item.

Auth: an integration access token as `Authorization: Bearer`, or, given consumer key/secret and
token secret, OAuth 1.0a HMAC-SHA256 signatures (Magento's default for integration tokens).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from stocksync.channels.base import ChannelNotConfigured, Listing, PagedListingsAdapter, decimal_text

PAGE_SIZE = 100
ENABLED = 1


class MagentoAdapter(PagedListingsAdapter):
    label = "Magento"

    def base_url(self) -> str:
        if not self.settings.get("base_url"):
            raise ChannelNotConfigured("The Magento channel has no base_url")
        store = self.settings.get("store_code") or "default"
        return f"{str(self.settings['base_url']).rstrip('/')}/rest/{store}/V1"

    @property
    def oauth1(self) -> bool:
        return all(self.credentials.get(n) for n in ("consumer_key", "consumer_secret", "access_token_secret"))

    def auth_headers(self, token: str | None) -> dict[str, str]:
        if self.oauth1:
            return {}
        self.require("access_token")
        return {"Authorization": f"Bearer {self.credentials['access_token']}"}

    def sign(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        if not self.oauth1:
            return {}
        return {"Authorization": oauth1_header(method, url, self.credentials)}

    # --- catalogue -----------------------------------------------------------------------

    def listings(self) -> Iterator[Listing]:
        for products in self.product_pages():
            quantities = self.quantities(products)
            for product in products:
                sku = str(product.get("sku") or "")
                yield Listing(
                    sku=sku, title=str(product.get("name") or ""), price=decimal_text(product.get("price")),
                    quantity=decimal_text(quantities.get(sku)), listing_id=str(product.get("id") or ""),
                    state="active" if int(product.get("status") or ENABLED) == ENABLED else "disabled",
                )

    def product_pages(self) -> Iterator[list[dict[str, Any]]]:
        page, seen = 1, 0
        while True:
            answer = self.call_json("GET", "products", params={
                "searchCriteria[pageSize]": PAGE_SIZE, "searchCriteria[currentPage]": page,
                "searchCriteria[sortOrders][0][field]": "entity_id",
                "searchCriteria[sortOrders][0][direction]": "ASC",
            })
            items = list(answer.get("items") or [])
            total = int(answer.get("total_count") or 0)
            items = items[: max(total - seen, 0)]
            if items:
                yield items
            seen += len(items)
            if not items or seen >= total:
                return
            page += 1

    def quantities(self, products: list[dict[str, Any]]) -> dict[str, float]:
        if self.settings.get("inventory_api", "msi") == "legacy":
            return {
                str(p.get("sku")): float(stock.get("qty") or 0)
                for p in products
                if (stock := self._stock_item(p)) is not None
            }
        return self._source_quantities([str(p.get("sku")) for p in products])

    def _stock_item(self, product: Mapping[str, Any]) -> Mapping[str, Any] | None:
        stock = (product.get("extension_attributes") or {}).get("stock_item")
        if stock is None:
            stock = self.call_json("GET", f"stockItems/{quote(str(product.get('sku')), safe='')}")
        return stock

    def _source_quantities(self, skus: list[str]) -> dict[str, float]:
        sources = set((self.settings.get("source_codes") or {}).values())
        totals: dict[str, float] = {}
        page, seen = 1, 0
        while skus:
            answer = self.call_json("GET", "inventory/source-items", params={
                "searchCriteria[filterGroups][0][filters][0][field]": "sku",
                "searchCriteria[filterGroups][0][filters][0][value]": ",".join(skus),
                "searchCriteria[filterGroups][0][filters][0][conditionType]": "in",
                "searchCriteria[pageSize]": 500, "searchCriteria[currentPage]": page,
            })
            items = list(answer.get("items") or [])
            total = int(answer.get("total_count") or 0)
            items = items[: max(total - seen, 0)]
            for item in items:
                if not sources or item.get("source_code") in sources:
                    sku = str(item.get("sku"))
                    totals[sku] = totals.get(sku, 0) + float(item.get("quantity") or 0)
            seen += len(items)
            if not items or seen >= total:
                break
            page += 1
        return totals


def oauth1_header(method: str, url: str, credentials: Mapping[str, str], *, nonce: str | None = None,
                  timestamp: int | None = None) -> str:
    """RFC 5849 `Authorization: OAuth ...` with HMAC-SHA256 over the method, URL and query."""
    parts = urlsplit(url)
    oauth = {
        "oauth_consumer_key": credentials["consumer_key"],
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": str(timestamp or int(time.time())),
        "oauth_token": credentials["access_token"],
        "oauth_version": "1.0",
    }
    params = sorted((_enc(k), _enc(v)) for k, v in [*parse_qsl(parts.query, keep_blank_values=True), *oauth.items()])
    normalized = "&".join(f"{k}={v}" for k, v in params)
    base_url = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))
    base_string = "&".join([method.upper(), _enc(base_url), _enc(normalized)])
    key = f"{_enc(credentials['consumer_secret'])}&{_enc(credentials['access_token_secret'])}"
    signature = base64.b64encode(hmac.new(key.encode(), base_string.encode(), hashlib.sha256).digest()).decode()
    oauth["oauth_signature"] = signature
    return "OAuth " + ", ".join(f'{k}="{_enc(v)}"' for k, v in oauth.items())


def _enc(value: str) -> str:
    return quote(str(value), safe="~-._")
