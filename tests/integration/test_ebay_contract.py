"""eBay's contract where our adapter once read it wrong: getInventoryItems pages by page number
with a `next` link, and a revoked refresh token is 400 invalid_grant (the seller must reconnect)."""

from __future__ import annotations

import csv
import io
import json
from xml.etree import ElementTree

import pytest

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import ebay
from stocksync.channels.base import ChannelAccount, ChannelAuthFailed, QuantityStatus, QuantityUpdate
from stocksync.channels.ebay import KIND_INVENTORY_API
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

NO_WAIT = RetryPolicy(max_attempts=2, base_delay=0.0, sleep=lambda _s: None)


def adapter_on(running: ebay.EbayStandIn):
    account = ChannelAccount("chan-ebay", "ebay", {"api_base_url": running.url, "marketplace_id": "EBAY_GB"},
                             {"client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET,
                              "refresh_token": ebay.REFRESH_TOKEN})
    return build_adapter(account, policy=NO_WAIT, tokens=TokenCache())


def inventory_listings(count: int) -> list[DemoListing]:
    return [DemoListing(sku=f"INV-{n:03d}", title=f"Item {n}", price=9.99, quantity=5,
                        listing_id=str(110000000000 + n)) for n in range(count)]


def test_given_450_inventory_items_when_read_then_every_page_is_followed_and_each_item_read_once():
    items = inventory_listings(450)
    with ebay.EbayStandIn(listings=items, inventory_api_skus={i.sku for i in items}) as running:
        read = list(adapter_on(running).inventory_items())

        assert sorted(item["sku"] for item in read) == sorted(i.sku for i in items)
        assert running.violations() == []


def test_given_the_seller_revoked_our_access_when_a_quantity_is_sent_then_the_seller_is_told_to_reconnect():
    items = inventory_listings(1)
    with ebay.EbayStandIn(listings=items, inventory_api_skus={i.sku for i in items}) as running:
        running.revoke_refresh_token()
        adapter = adapter_on(running)

        with pytest.raises(ChannelAuthFailed, match="reconnect the eBay account"):
            adapter.submit_quantities([QuantityUpdate("INV-000", 3, listing_kind=KIND_INVENTORY_API)])
        with pytest.raises(ChannelAuthFailed):
            adapter.request_catalogue()


def variation_listings() -> list[DemoListing]:
    """A Trading T-shirt in three sizes (one ItemID) and an Inventory-API hoodie group in two colours."""
    tees = [DemoListing(f"TEE-{size}", "Tee", 12.0, n + 1, "110000000500", parent="110000000500",
                        variation={"Size": size}) for n, size in enumerate(("S", "M", "L"))]
    hoodies = [DemoListing(f"HOOD-{colour.upper()}", f"Hoodie {colour}", 30.0, 2, "110000000600", parent="HOOD",
                           variation={"Colour": colour}) for colour in ("Black", "Grey")]
    return [*tees, *hoodies, DemoListing("MUG", "Mug", 5.0, 3, "110000000700")]


def catalogue_rows(adapter) -> dict[str, dict[str, str]]:
    progress = adapter.poll_catalogue(adapter.request_catalogue().report_id, {})
    with adapter.open_catalogue(progress) as document:
        text = b"".join(document.chunks).decode()
    return {row["sku"]: row for row in csv.DictReader(io.StringIO(text))}


def test_given_multi_variation_listings_when_the_catalogue_is_read_then_each_variation_names_its_parent():
    listings = variation_listings()
    with ebay.EbayStandIn(listings=listings, inventory_api_skus={"HOOD-BLACK", "HOOD-GREY"}) as running:
        rows = catalogue_rows(adapter_on(running))

        assert set(rows) == {"TEE-S", "TEE-M", "TEE-L", "HOOD-BLACK", "HOOD-GREY", "MUG"}
        tee = rows["TEE-M"]
        assert (tee["parent"], json.loads(tee["variation"]), tee["quantity"], tee["listing_kind"]) == (
            "110000000500", {"Size": "M"}, "2", "trading")
        hood = rows["HOOD-GREY"]
        assert (hood["parent"], json.loads(hood["variation"]), hood["listing_id"], hood["listing_kind"]) == (
            "HOOD", {"Colour": "Grey"}, "110000000600", "inventory_api")
        assert (rows["MUG"]["parent"], rows["MUG"]["variation"]) == ("", "")
        assert running.violations() == []


def test_given_a_multi_variation_listing_when_revised_by_item_id_alone_then_ebay_asks_for_the_variation():
    with ebay.EbayStandIn(listings=variation_listings(), inventory_api_skus={"HOOD-BLACK", "HOOD-GREY"}) as running:
        adapter = adapter_on(running)

        answer = adapter.trading("ReviseInventoryStatus", "<InventoryStatus><ItemID>110000000500</ItemID>"
                                                          "<Quantity>0</Quantity></InventoryStatus>", per_item=True)
        refused = adapter.submit_quantities([QuantityUpdate("HOOD-GREY", 0, listing_kind=KIND_INVENTORY_API)])

        assert "ErrorCode>21916583</" in ElementTree.tostring(answer, encoding="unicode")
        assert [running.listing(f"TEE-{size}").quantity for size in ("S", "M", "L")] == [1, 2, 3]
        # without its group, a variation's offer would be withdrawn alone: eBay refuses that
        assert refused[0].status == QuantityStatus.ERROR and running.listing("HOOD-GREY").active is True
