"""The stock submitter on the embedded AWS with a linked listing of each marketplace channel: the
stand-in shows what a buyer would see, and the listing record follows what the channel did."""

from __future__ import annotations

import pytest
from stock_sync_support import fast_adapter_factory, item_with_stock, listing, read_listing, set_stock

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import ebay, magento, mirakl, rakuten
from stocksync.channels.base import ChannelAccount
from stocksync.channels.registry import build_adapter
from stocksync.core.messages import StockChange
from stocksync.core.secrets import ParameterStore
from stocksync.stock_sync.submitter import StockSubmitter


@pytest.fixture
def submitter(stack):
    return StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())


def channel(api, kind: str, settings: dict, credentials: dict) -> str:
    answer = api.post("/channels", {"name": kind, "type": kind, "settings": settings, "credentials": credentials})
    assert answer.status == 201, answer.body
    return answer.body["channel_id"]


def sync(submitter: StockSubmitter, item_id: str) -> None:
    outcome = submitter.reconcile({"m": StockChange(reason="t", item_ids=[item_id])})
    assert outcome.retry == {} and outcome.errors == 0


def test_given_linked_ebay_trading_listing_when_stock_runs_out_and_returns_then_ended_and_relisted_under_the_new_id(
        api, submitter):
    mug = DemoListing("MUG-BLACK", "Mug", 9.5, 4, "110000000077")
    with ebay.EbayStandIn(listings=[mug], inventory_api_skus=set()) as standin:
        shop = channel(api, "ebay", {"api_base_url": standin.url, "marketplace_id": "EBAY_GB"},
                       {"client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET,
                        "refresh_token": ebay.REFRESH_TOKEN})
        item = item_with_stock(api, "MUG-BLACK", 6)
        listing(shop, "MUG-BLACK", item, channel_listing_id="110000000077", listing_kind="trading")

        sync(submitter, item)
        assert (standin.listing("MUG-BLACK").quantity, standin.listing("MUG-BLACK").active) == (6, True)

        set_stock(api, item, 0)
        sync(submitter, item)
        assert standin.listing("MUG-BLACK").active is False
        assert read_listing(shop, "MUG-BLACK").state == "ended"

        set_stock(api, item, 3)
        sync(submitter, item)

        shown = standin.listing("MUG-BLACK")
        recorded = read_listing(shop, "MUG-BLACK")
        assert (shown.active, shown.quantity) == (True, 3)
        assert recorded.channel_listing_id == shown.listing_id != "110000000077"
        assert (recorded.state, recorded.submitted_quantity, recorded.update_status) == ("active", 3, "ok")
        assert standin.violations() == []


def test_given_linked_magento_product_when_stock_runs_out_and_returns_then_disabled_then_enabled_on_its_source(
        api, submitter):
    tee = DemoListing("TEE-RED", "Tee", 12.0, 9, "1")
    with magento.MagentoStandIn(listings=[tee]) as standin:
        shop = channel(api, "magento", {"base_url": standin.url}, {"access_token": magento.ACCESS_TOKEN})
        location = api.get(f"/channels/{shop}").body["location_ids"][0]
        assert api.patch(f"/channels/{shop}", {"settings": {"base_url": standin.url,
                                                             "source_codes": {location: "overflow"}}}).status == 200
        item = item_with_stock(api, "TEE-RED", 5)
        listing(shop, "TEE-RED", item, channel_listing_id="1")

        sync(submitter, item)
        assert standin.sources["TEE-RED"] == {"default": 6, "overflow": 5}  # only the mapped source is ours

        set_stock(api, item, 0)
        sync(submitter, item)
        assert (standin.listing("TEE-RED").active, read_listing(shop, "TEE-RED").state) == (False, "disabled")

        set_stock(api, item, 2)
        sync(submitter, item)

        assert standin.listing("TEE-RED").active is True and standin.sources["TEE-RED"]["overflow"] == 2
        assert read_listing(shop, "TEE-RED").state == "active"
        assert standin.violations() == []


def test_given_linked_pixmania_offer_when_stock_runs_out_then_of24_carries_the_catalogue_price_and_disables_it(
        api, submitter):
    lamp = DemoListing("LAMP-1", "Lamp", 30.0, 2, "2001")
    with mirakl.MiraklStandIn(listings=[lamp]) as standin:
        shop = channel(api, "pixmania", {"base_url": standin.url}, {"api_key": mirakl.API_KEY})
        item = item_with_stock(api, "LAMP-1", 0)
        listing(shop, "LAMP-1", item, price=27.5, channel_listing_id="2001")

        outcome = submitter.reconcile({"m": StockChange(reason="t", item_ids=[item])})

        assert outcome.pending == 1 and read_listing(shop, "LAMP-1").update_status == "pending"
        assert submitter.settle_pending(shop) == 1
        shown = standin.listing("LAMP-1")
        assert (shown.quantity, shown.active, shown.price) == (0, False, 27.5)
        recorded = read_listing(shop, "LAMP-1")
        assert (recorded.update_status, recorded.submitted_quantity, recorded.state) == ("ok", 0, "disabled")
        assert standin.violations() == []


def test_given_pixmania_offers_in_sync_when_force_updated_then_sent_now_and_only_the_refused_one_changes_on_settling(
        api, submitter):
    with mirakl.MiraklStandIn(listings=[DemoListing("LAMP-1", "Lamp", 30.0, 4, "2001")]) as standin:
        shop = channel(api, "pixmania", {"base_url": standin.url}, {"api_key": mirakl.API_KEY})
        lamp, vase = item_with_stock(api, "LAMP-1", 4), item_with_stock(api, "VASE-1", 2)
        listing(shop, "LAMP-1", lamp, price=30.0, channel_listing_id="2001", submitted_quantity=4, update_status="ok")
        listing(shop, "VASE-1", vase, price=12.0, submitted_quantity=2, update_status="ok")  # gone from Mirakl

        outcome = submitter.submit([read_listing(shop, "LAMP-1"), read_listing(shop, "VASE-1")], force=True,
                                   reason="force_update")

        assert outcome.pending == 2
        for sku in ("LAMP-1", "VASE-1"):  # what Mirakl last accepted, sent again: still in sync, sent now
            sent = read_listing(shop, sku)
            assert (sent.update_status, sent.GSI3PK) == ("ok", None) and sent.last_update is not None
        assert submitter.settle_pending(shop) == 1
        assert read_listing(shop, "LAMP-1").update_status == "ok"
        refused = read_listing(shop, "VASE-1")
        assert (refused.update_status, refused.update_error) == ("error", "The product does not exist")
        assert refused.GSI3PK is not None  # the scheduled run comes back to it
        assert standin.listing("LAMP-1").quantity == 4 and standin.violations() == []


def test_given_linked_rakuten_listing_when_stock_runs_out_and_returns_then_disabled_then_active_again(
        api, submitter):
    with rakuten.RakutenStandIn(listings=[DemoListing("RK-1", "x", 5.0, 3, "1")]) as standin:
        shop = channel(api, "rakuten", {"base_url": standin.url, "shop_id": rakuten.SHOP_ID},
                       {"api_key": rakuten.API_KEY})
        item = item_with_stock(api, "RK-1", 0)
        listing(shop, "RK-1", item)

        sync(submitter, item)
        assert (standin.listing("RK-1").active, read_listing(shop, "RK-1").state) == (False, "disabled")

        set_stock(api, item, 8)
        sync(submitter, item)

        assert (standin.listing("RK-1").quantity, standin.listing("RK-1").active) == (8, True)
        assert read_listing(shop, "RK-1").state == "active"


def test_given_magento_sources_when_stock_moves_between_locations_at_the_same_total_then_the_new_split_is_sent(
        api, submitter):
    tee = DemoListing("TEE-RED", "Tee", 12.0, 9, "1")
    with magento.MagentoStandIn(listings=[tee]) as standin:
        shop = channel(api, "magento", {"base_url": "https://shop.example.com"}, {"access_token": magento.ACCESS_TOKEN})
        main = api.get(f"/channels/{shop}").body["location_ids"][0]
        annex = api.post("/locations", {"name": "Annex"}).body["location_id"]
        assert api.patch(f"/channels/{shop}", {"location_ids": [main, annex], "settings": {
            "base_url": standin.url, "source_codes": {main: "default", annex: "overflow"}}}).status == 200
        item = item_with_stock(api, "TEE-RED", 3)
        api.put(f"/items/{item}/stock/{annex}", {"level": 2})
        listing(shop, "TEE-RED", item, channel_listing_id="1")
        sync(submitter, item)
        assert standin.sources["TEE-RED"] == {"default": 3, "overflow": 2}

        set_stock(api, item, 1)
        api.put(f"/items/{item}/stock/{annex}", {"level": 4})  # still 5 in all
        sync(submitter, item)
        sync(submitter, item)  # nothing moved since: nothing sent

        assert standin.sources["TEE-RED"] == {"default": 1, "overflow": 4}
        posts = [e for e in standin.exchanges if e.path.endswith("/inventory/source-items") and e.method == "POST"]
        assert len(posts) == 2
        assert read_listing(shop, "TEE-RED").submitted_split == "default=1,overflow=4"


def ebay_channel(api, standin: ebay.EbayStandIn) -> str:
    return channel(api, "ebay", {"api_base_url": standin.url, "marketplace_id": "EBAY_GB"},
                   {"client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET,
                    "refresh_token": ebay.REFRESH_TOKEN})


def test_given_a_trading_multi_variation_listing_when_a_size_sells_out_and_returns_then_only_it_goes_to_0_and_back(
        api, submitter):
    item_id = "110000000500"
    tees = [DemoListing(f"TEE-{size}", "Tee", 12.0, 2, item_id, parent=item_id, variation={"Size": size})
            for size in ("S", "M", "L")]
    with ebay.EbayStandIn(listings=tees, inventory_api_skus=set()) as standin:
        shop = ebay_channel(api, standin)
        items = {}
        for tee in tees:
            items[tee.sku] = item_with_stock(api, tee.sku, 2)
            listing(shop, tee.sku, items[tee.sku], channel_listing_id=item_id, listing_kind="trading",
                    variation_parent=item_id, max_listed=1 if tee.sku == "TEE-S" else None)
        sync(submitter, items["TEE-S"])
        assert standin.listing("TEE-S").quantity == 1  # its own Max Listed: the limits are per child

        set_stock(api, items["TEE-M"], 0)
        sync(submitter, items["TEE-M"])

        medium = standin.listing("TEE-M")
        assert (medium.quantity, medium.active, medium.listing_id) == (0, True, item_id)  # the listing stays live
        assert all(standin.listing(sku).active for sku in ("TEE-S", "TEE-L"))
        assert (read_listing(shop, "TEE-M").state, read_listing(shop, "TEE-M").submitted_quantity) == ("active", 0)

        set_stock(api, items["TEE-M"], 5)
        sync(submitter, items["TEE-M"])
        assert (standin.listing("TEE-M").quantity, standin.listing("TEE-M").listing_id) == (5, item_id)
        assert standin.violations() == []


def test_given_an_inventory_item_group_when_every_variation_sells_out_then_the_listing_is_withdrawn_and_published_back(
        api, submitter):
    hoodies = [DemoListing(f"HOOD-{colour}", "Hoodie", 30.0, 1, "110000000600", parent="HOOD",
                           variation={"Colour": colour}) for colour in ("BLACK", "GREY")]
    with ebay.EbayStandIn(listings=hoodies, inventory_api_skus={h.sku for h in hoodies}) as standin:
        shop = ebay_channel(api, standin)
        items = {}
        for hoodie in hoodies:
            items[hoodie.sku] = item_with_stock(api, hoodie.sku, 1)
            listing(shop, hoodie.sku, items[hoodie.sku], channel_listing_id="110000000600",
                    listing_kind="inventory_api", variation_parent="HOOD")

        set_stock(api, items["HOOD-BLACK"], 0)
        sync(submitter, items["HOOD-BLACK"])
        assert (standin.listing("HOOD-BLACK").quantity, standin.listing("HOOD-BLACK").active) == (0, True)
        assert read_listing(shop, "HOOD-BLACK").state == "active"

        set_stock(api, items["HOOD-GREY"], 0)
        sync(submitter, items["HOOD-GREY"])
        assert [standin.listing(h.sku).active for h in hoodies] == [False, False]  # every variation at 0
        assert read_listing(shop, "HOOD-GREY").state == "ended"

        set_stock(api, items["HOOD-BLACK"], 4)
        sync(submitter, items["HOOD-BLACK"])
        black = standin.listing("HOOD-BLACK")
        assert (black.active, black.quantity, standin.listing("HOOD-GREY").active) == (True, 4, True)
        recorded = read_listing(shop, "HOOD-BLACK")
        assert (recorded.state, recorded.channel_listing_id) == ("active", black.listing_id)
        assert black.listing_id != "110000000600"  # published again: a new listing
        assert standin.violations() == []


def test_given_a_rakuten_variation_listing_when_read_and_a_size_sells_out_then_only_that_item_is_disabled(
        api, submitter):
    shirts = [DemoListing(f"RK-SHIRT-{size}", "Shirt", 20.0, 3, f"30{n}", parent="200001", variation={"Size": size})
              for n, size in enumerate(("S", "M"))]
    with rakuten.RakutenStandIn(listings=shirts, unlimited=set()) as standin:
        shop = channel(api, "rakuten", {"base_url": standin.url, "shop_id": rakuten.SHOP_ID},
                       {"api_key": rakuten.API_KEY})
        account = ChannelAccount(shop, "rakuten", {"base_url": standin.url, "shop_id": rakuten.SHOP_ID},
                                 {"api_key": rakuten.API_KEY})
        read = {found.sku: found for found in build_adapter(account).listings()}
        assert (read["RK-SHIRT-M"].parent, dict(read["RK-SHIRT-M"].variation)) == ("200001", {"Size": "M"})
        items = {shirt.sku: item_with_stock(api, shirt.sku, 3) for shirt in shirts}
        for sku, item in items.items():
            listing(shop, sku, item, variation_parent="200001")

        set_stock(api, items["RK-SHIRT-M"], 0)
        sync(submitter, items["RK-SHIRT-M"])

        assert [standin.listing(s.sku).active for s in shirts] == [True, False]
        assert read_listing(shop, "RK-SHIRT-M").state == "disabled"
        assert standin.violations() == []
