"""Rakuten: the listings report and inventory contract of docs/channels/rakuten.md (Rakuten UK
closed in 2016, so the contract is ours). Catalogue: GET /v1/shops/{shop_id}/listings, page by
page with `page_token`, into the normalized listings CSV. Fetched every 30 minutes by schedule.

Auth: `Authorization: Bearer <api_key>`.
"""

from __future__ import annotations

from collections.abc import Iterator

from stocksync.channels.base import ChannelNotConfigured, Listing, PagedListingsAdapter

PAGE_SIZE = 500


class RakutenAdapter(PagedListingsAdapter):
    label = "Rakuten"

    def base_url(self) -> str:
        if not self.settings.get("base_url"):
            raise ChannelNotConfigured("The Rakuten channel has no base_url")
        return str(self.settings["base_url"])

    def auth_headers(self, token: str | None) -> dict[str, str]:
        self.require("api_key")
        return {"Authorization": f"Bearer {self.credentials['api_key']}"}

    def listings(self) -> Iterator[Listing]:
        self.require("shop_id")
        params: dict[str, str | int] = {"page_size": PAGE_SIZE}
        while True:
            page = self.call_json("GET", f"/v1/shops/{self.settings['shop_id']}/listings", params=params)
            for item in page.get("listings") or []:
                yield Listing.from_json(item)
            token = page.get("next_page_token")
            if not token:
                return
            params = {"page_size": PAGE_SIZE, "page_token": token}
