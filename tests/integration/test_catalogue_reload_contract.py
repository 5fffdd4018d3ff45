"""Catalogue reloads against stand-ins as strict as the channels: eBay's active-inventory report
leaves out the listings we ended, Mirakl's full OF52 export the offers we disabled unless asked and
is allowed once a day (a differential export in between). A listing we ended or disabled at 0 must
survive the reload and come back when stock returns; a differential load removes only what it marks
deleted; a Pixmania stock update after a load sends the offer as that load exported it; a Rakuten
listing marked unlimited gets Ignore Sync, which no load clears or sets again (seed 004)."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from stock_sync_support import fast_adapter_factory, item_with_stock, read_listing, set_stock

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import ebay, mirakl, rakuten
from stocksync.api.context import services
from stocksync.catalogue.documents import CatalogueBucket
from stocksync.catalogue.ingest_messages import handle_ingest_message
from stocksync.catalogue.retrieval import FORCE_REFRESH_WINDOW, CatalogueRequests
from stocksync.channels.base import ChannelAccount, ChannelThrottled
from stocksync.channels.registry import build_adapter
from stocksync.core import db
from stocksync.core.automation_log import AutomationLog
from stocksync.core.db import ListingRecord
from stocksync.core.http_client import RetryPolicy, TokenCache
from stocksync.core.messages import StockChange
from stocksync.core.secrets import ParameterStore
from stocksync.core.settings import CatalogueIngestSettings
from stocksync.stock_sync.submitter import StockSubmitter
from stocksync.wiring import wiring

NO_WAIT = RetryPolicy(max_attempts=2, base_delay=0.0, sleep=lambda _s: None)


class Clock:
    def __init__(self) -> None:
        self.now = db.now()

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def poller(stack, clock):
    def factory(account):
        return build_adapter(account, policy=NO_WAIT, tokens=TokenCache(), clock=clock)

    return CatalogueRequests(services().channels, ParameterStore(), CatalogueBucket(
        services().settings.catalogue_bucket), AutomationLog(), clock=clock, adapter_factory=factory)


@pytest.fixture
def submitter(stack):
    return StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())


def reload(stack, poller: CatalogueRequests, channel_id: str) -> dict:
    """The poller asks the channel for its catalogue and writes the document; the loader loads it.
    Returns the load's counts."""
    state = poller.refresh(channel_id, confirm=True)
    for _ in range(5):
        if poller.step(services().channels.get(channel_id)) == "done":
            break
    sqs, url = boto3.client("sqs"), stack.ref("IngestQueue")
    loader = wiring(CatalogueIngestSettings).build_catalogue_loader()
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            handle_ingest_message(loader, json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    status = db.get_or_none(db.CatalogueStatusRecord, db.CatalogueStatusRecord.keys(channel_id))
    assert status is not None and status.last_status == "succeeded", (state, status and status.last_message)
    return status.last_counts.as_dict()


def channel(api, kind: str, settings: dict, credentials: dict) -> str:
    answer = api.post("/channels", {"name": kind, "type": kind, "settings": settings, "credentials": credentials})
    assert answer.status == 201, answer.body
    return answer.body["channel_id"]


def link(api, channel_id: str, sku: str, item_id: str) -> None:
    assert api.put(f"/channels/{channel_id}/listings/{sku}/link", {"item_id": item_id}).status == 200


def sync(submitter: StockSubmitter, item_id: str) -> None:
    outcome = submitter.reconcile({"m": StockChange(reason="t", item_ids=[item_id])})
    assert outcome.retry == {} and outcome.errors == 0


def listings(channel_id: str) -> dict[str, ListingRecord]:
    return {r.sku: r for r in ListingRecord.query(db.channel_pk(channel_id))}


def test_given_an_ebay_listing_we_ended_at_zero_when_the_catalogue_reloads_and_stock_returns_then_it_is_relisted(
        stack, api, poller, submitter):
    mug = DemoListing("MUG-BLACK", "Mug", 9.5, 4, "110000000077")
    with ebay.EbayStandIn(listings=[mug, DemoListing("CUP-1", "Cup", 3.0, 2, "110000000078")],
                          inventory_api_skus=set()) as standin:
        shop = channel(api, "ebay", {"api_base_url": standin.url, "marketplace_id": "EBAY_GB"},
                       {"client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET,
                        "refresh_token": ebay.REFRESH_TOKEN})
        reload(stack, poller, shop)
        item = item_with_stock(api, "MUG-BLACK", 0)
        link(api, shop, "MUG-BLACK", item)
        sync(submitter, item)
        assert standin.listing("MUG-BLACK").active is False and read_listing(shop, "MUG-BLACK").state == "ended"

        reload(stack, poller, shop)  # eBay's active-inventory report no longer lists it

        kept = read_listing(shop, "MUG-BLACK")
        assert (kept.removed, kept.state, kept.linked_item_id) == (False, "ended", item)
        set_stock(api, item, 3)
        sync(submitter, item)
        shown = standin.listing("MUG-BLACK")
        assert (shown.active, shown.quantity) == (True, 3)
        assert read_listing(shop, "MUG-BLACK").channel_listing_id == shown.listing_id
        assert standin.violations() == []


def test_given_an_ebay_listing_the_seller_ended_when_the_catalogue_reloads_then_it_is_removed(
        stack, api, poller):
    with ebay.EbayStandIn(listings=[DemoListing("CUP-1", "Cup", 3.0, 2, "110000000078"),
                                    DemoListing("CUP-2", "Cup", 3.0, 2, "110000000079")],
                          inventory_api_skus=set()) as standin:
        shop = channel(api, "ebay", {"api_base_url": standin.url, "marketplace_id": "EBAY_GB"},
                       {"client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET,
                        "refresh_token": ebay.REFRESH_TOKEN})
        reload(stack, poller, shop)
        standin.listing("CUP-2").active = False  # ended on eBay by the seller: we never ended it

        reload(stack, poller, shop)

        assert listings(shop)["CUP-2"].removed is True


def pixmania(api, standin: mirakl.MiraklStandIn) -> str:
    return channel(api, "pixmania", {"base_url": standin.url}, {"api_key": mirakl.API_KEY})


def lamps(count: int) -> list[DemoListing]:
    return [DemoListing(f"LAMP-{n}", f"Lamp {n}", 30.0, 2, str(2000 + n)) for n in range(count)]


def test_given_a_pixmania_offer_we_disabled_when_the_catalogue_reloads_and_stock_returns_then_it_is_active_again(
        stack, api, poller, submitter, clock):
    with mirakl.MiraklStandIn(listings=lamps(2)) as standin:
        standin.limits = {**standin.limits, "update_offers": (1 / 60, 3)}
        shop = pixmania(api, standin)
        reload(stack, poller, shop)
        item = item_with_stock(api, "LAMP-0", 0)
        link(api, shop, "LAMP-0", item)
        sync(submitter, item)
        submitter.settle_pending(shop)
        assert standin.listing("LAMP-0").active is False

        clock.now += mirakl.FULL_EXPORT_EVERY  # a day on: the full export, inactive offers included
        standin.last_full_export = None
        reload(stack, poller, shop)

        kept = read_listing(shop, "LAMP-0")
        assert (kept.removed, kept.state, kept.linked_item_id) == (False, "disabled", item)
        set_stock(api, item, 4)
        sync(submitter, item)
        submitter.settle_pending(shop)
        assert (standin.listing("LAMP-0").quantity, standin.listing("LAMP-0").active) == (4, True)
        assert standin.violations() == []


def test_given_a_pixmania_catalogue_loaded_today_when_it_reloads_then_only_the_changes_are_exported_and_loaded(
        stack, api, poller, clock):
    with mirakl.MiraklStandIn(listings=lamps(3)) as standin:
        shop = pixmania(api, standin)
        standin.last_updated = dict.fromkeys(standin.last_updated, clock.now - timedelta(hours=1))
        reload(stack, poller, shop)
        standin.change_offer("LAMP-1", quantity=9)
        standin.delete_offer("LAMP-2")

        clock.now += FULL_EXPORT_HOURS
        counts = reload(stack, poller, shop)

        exports = [e.json() for e in standin.exchanges if e.method == "POST" and e.path == mirakl.EXPORT]
        assert [("last_request_date" in body, body.get("include_inactive_offers")) for body in exports] == [
            (False, True), (True, None)]
        assert [e.status for e in standin.exchanges if e.path == mirakl.EXPORT] == [200, 200]
        after = listings(shop)
        assert (after["LAMP-0"].removed, after["LAMP-1"].quantity, after["LAMP-2"].removed) == (False, 9, True)
        assert (counts["rows"], counts["removed"]) == (2, 1)
        status = api.get(f"/channels/{shop}/catalogue").body
        assert status["totals"]["active"] == 2
        clock.now += FULL_EXPORT_HOURS
        assert reload(stack, poller, shop)["rows"] == 0  # nothing changed since: an empty file, nothing removed
        assert [r.sku for r in listings(shop).values() if not r.removed] == ["LAMP-0", "LAMP-1"]
        assert standin.violations() == []


FULL_EXPORT_HOURS = mirakl.FULL_EXPORT_EVERY / 8


def test_given_a_full_offers_export_today_when_another_full_one_is_asked_then_mirakl_refuses_it():
    with mirakl.MiraklStandIn(listings=lamps(1)) as standin:
        account = ChannelAccount("chan-pix", "pixmania", {"base_url": standin.url}, {"api_key": mirakl.API_KEY})
        adapter = build_adapter(account, policy=RetryPolicy(max_attempts=1, sleep=lambda _s: None), tokens=TokenCache())
        adapter.request_catalogue()

        with pytest.raises(ChannelThrottled):
            adapter.request_catalogue()
        assert [e.status for e in standin.exchanges] == [200, 429]


def test_given_a_loaded_pixmania_offer_when_its_stock_changes_then_the_sellers_offer_fields_are_kept(
        stack, api, poller, submitter):
    with mirakl.MiraklStandIn(listings=lamps(1)) as standin:
        before = dict(standin.offer_fields["LAMP-0"])
        shop = pixmania(api, standin)
        reload(stack, poller, shop)
        item = item_with_stock(api, "LAMP-0", 5)
        link(api, shop, "LAMP-0", item)

        sync(submitter, item)
        submitter.settle_pending(shop)

        assert standin.listing("LAMP-0").quantity == 5
        assert standin.offer_fields["LAMP-0"] == {k: v for k, v in before.items() if mirakl.SELLER_FIELDS[k]}


def rakuten_shop(api, standin: rakuten.RakutenStandIn) -> str:
    return channel(api, "rakuten", {"base_url": standin.url, "shop_id": rakuten.SHOP_ID}, {"api_key": rakuten.API_KEY})


def rakuten_reload(stack, poller: CatalogueRequests, clock: Clock, shop: str) -> None:
    clock.now += FORCE_REFRESH_WINDOW  # Force Mapping Refresh runs once in 4 hours
    reload(stack, poller, shop)


def test_given_a_rakuten_listing_marked_unlimited_when_loaded_then_ignore_sync_is_set_and_stays_once_unmarked(
        stack, api, poller, clock):
    with rakuten.RakutenStandIn(listings=[DemoListing("RK-1", "Print", 5.0, 3, "1"),
                                          DemoListing("RK-2", "Frame", 9.0, 2, "2")], unlimited={"RK-1"}) as standin:
        shop = rakuten_shop(api, standin)
        rakuten_reload(stack, poller, clock, shop)
        assert {sku: r.ignore_sync for sku, r in listings(shop).items()} == {"RK-1": True, "RK-2": False}

        standin.unlimited = {"RK-2"}  # the seller unmarks RK-1 and marks RK-2
        rakuten_reload(stack, poller, clock, shop)

        assert {sku: r.ignore_sync for sku, r in listings(shop).items()} == {"RK-1": True, "RK-2": True}


def test_given_ignore_sync_cleared_by_hand_on_an_unlimited_rakuten_listing_when_reloaded_then_it_stays_cleared(
        stack, api, poller, clock):
    with rakuten.RakutenStandIn(listings=[DemoListing("RK-1", "Print", 5.0, 3, "1")], unlimited={"RK-1"}) as standin:
        shop = rakuten_shop(api, standin)
        rakuten_reload(stack, poller, clock, shop)
        assert api.patch(f"/channels/{shop}/listings/RK-1", {"ignore_sync": False}).status == 200

        rakuten_reload(stack, poller, clock, shop)

        assert listings(shop)["RK-1"].ignore_sync is False
