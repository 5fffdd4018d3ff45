"""One order revision read from two sources must not fight: Amazon's ORDER_CHANGE notification and
the poller's searchOrders, with a line cancelled, in both arrival orders; a notification is a hint to
fetch the order (getOrder), never content to allocate from. And eBay's cancelled lines as its
Fulfillment API shows them (a line refunded in full), then released."""

from __future__ import annotations

from typing import Any

import pytest
from order_support import add_channel, add_item, link, stock
from stock_sync_support import fast_adapter_factory, item_with_stock, listing, read_listing

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import amazon, ebay
from stocksync.api.context import services
from stocksync.channels.base import ChannelAccount
from stocksync.channels.registry import build_adapter
from stocksync.channels.types import ChannelType
from stocksync.core import db
from stocksync.core.automation_log import AutomationLog
from stocksync.core.db import OrderRecord
from stocksync.core.http_client import RetryPolicy, TokenCache
from stocksync.core.messages import RecordingQueue, StockChange
from stocksync.core.secrets import ParameterStore
from stocksync.orders.poller import OrderPoller
from stocksync.stock_sync.submitter import StockSubmitter

NO_WAIT = RetryPolicy(max_attempts=2, base_delay=0.0, sleep=lambda _s: None)


def demo(*skus: str) -> list[DemoListing]:
    return [DemoListing(sku=sku, title=sku, price=9.5, quantity=5, listing_id=str(110000000100 + n))
            for n, sku in enumerate(skus)]


def amazon_poller(standin: amazon.AmazonStandIn) -> OrderPoller:
    def adapter(account: ChannelAccount) -> Any:
        return build_adapter(ChannelAccount(account.channel_id, "amazon", {
            "sp_api_endpoint": standin.url, "lwa_endpoint": f"{standin.url}/auth/o2/token",
            "marketplace_ids": [amazon.MARKETPLACE_ID], "seller_id": amazon.SELLER_ID,
        }, {"lwa_client_id": amazon.CLIENT_ID, "lwa_client_secret": amazon.CLIENT_SECRET,
            "refresh_token": amazon.REFRESH_TOKEN}), policy=NO_WAIT, tokens=TokenCache())

    services().order_book.queue = RecordingQueue()
    return OrderPoller(services().order_book, ParameterStore(), AutomationLog(), adapter_factory=adapter)


@pytest.fixture
def amazon_shop(stack):
    with amazon.AmazonStandIn(listings=demo("MUG", "CAP", "HAT")) as standin:
        channel = add_channel("Amazon UK", ChannelType.AMAZON, seller_id=amazon.SELLER_ID,
                              marketplace_ids=[amazon.MARKETPLACE_ID])
        items = {sku: add_item(sku, 5) for sku in ("MUG", "CAP", "HAT")}
        for sku, item_id in items.items():
            link(channel, sku, item_id)
        yield standin, channel, items


def order_record(channel, order_id: str) -> OrderRecord:
    found = db.get_or_none(OrderRecord, OrderRecord.keys(db.order_id_of(channel.channel_id, order_id)))
    assert found is not None
    return found


def notification_of(standin: amazon.AmazonStandIn, placed) -> dict[str, Any]:
    """The ORDER_CHANGE the stand-in sends for the order as it is now."""
    return standin.order_change_notification(placed, "subscription-1")


def cancel_one_line(standin: amazon.AmazonStandIn):
    placed = standin.place_order([("MUG", 1), ("CAP", 1), ("HAT", 2)])
    return standin.cancel_order(placed.order_id, [placed.lines[1].line_id])


@pytest.mark.parametrize("first", ["notification", "poll"])
def test_given_an_amazon_line_cancelled_when_the_notification_and_the_poll_both_arrive_then_it_stays_released(
        amazon_shop, first):
    standin, channel, items = amazon_shop
    poller = amazon_poller(standin)
    placed = cancel_one_line(standin)
    arrivals = {"notification": lambda: poller.notified(notification_of(standin, placed)),
                "poll": lambda: poller.poll(channel, force=True)}

    arrivals[first]()
    arrivals["poll" if first == "notification" else "notification"]()

    assert (stock(items["MUG"]), stock(items["CAP"]), stock(items["HAT"])) == ((5, 1), (5, 0), (5, 2))
    lines = {line["sku"]: line["quantity"] for line in order_record(channel, placed.order_id).lines}
    assert lines == {"MUG": 1, "CAP": 0, "HAT": 2}
    assert standin.violations() == []


def test_given_a_notification_whose_summary_says_otherwise_when_handled_then_the_order_amazon_serves_counts(
        amazon_shop):
    standin, _channel, items = amazon_shop
    poller = amazon_poller(standin)
    placed = standin.place_order([("MUG", 1)])
    forged = notification_of(standin, placed)
    summary = forged["Payload"]["OrderChangeNotification"]["Summary"]
    summary["OrderItems"][0]["Quantity"] = 4  # not what the buyer ordered: Amazon's order says 1
    summary["OrderItems"].append({"OrderItemId": "999", "SellerSKU": "CAP", "SupplySourceId": None,
                                  "OrderItemStatus": "Unshipped", "Quantity": 3, "QuantityShipped": 0})

    outcomes = poller.notified(forged)

    assert [o.outcome for o in outcomes] == ["created"]
    assert (stock(items["MUG"]), stock(items["CAP"])) == ((5, 1), (5, 0))


def test_given_a_notification_naming_an_order_amazon_does_not_know_when_handled_then_nothing_is_allocated(
        amazon_shop):
    standin, _channel, items = amazon_shop
    poller = amazon_poller(standin)
    placed = standin.place_order([("MUG", 1)])
    forged = notification_of(standin, placed)
    forged["Payload"]["OrderChangeNotification"]["AmazonOrderId"] = "202-0000000-0000000"

    assert poller.notified(forged) == []
    assert stock(items["MUG"]) == (5, 0)


# --- eBay -----------------------------------------------------------------------------------------


@pytest.fixture
def ebay_shop(stack):
    with ebay.EbayStandIn(listings=demo("MUG", "CAP")) as standin:
        channel = add_channel("eBay UK", ChannelType.EBAY)
        items = {sku: add_item(sku, 5) for sku in ("MUG", "CAP")}
        for sku, item_id in items.items():
            link(channel, sku, item_id)

        def adapter(account: ChannelAccount) -> Any:
            return build_adapter(ChannelAccount(account.channel_id, "ebay", {
                "api_base_url": standin.url, "marketplace_id": ebay.MARKETPLACE_ID,
            }, {"client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET,
                "refresh_token": ebay.REFRESH_TOKEN}), policy=NO_WAIT, tokens=TokenCache())

        services().order_book.queue = RecordingQueue()
        poller = OrderPoller(services().order_book, ParameterStore(), AutomationLog(), adapter_factory=adapter)
        yield standin, channel, items, poller


def test_given_an_ebay_line_cancelled_after_its_import_when_polled_again_then_its_unit_is_released(ebay_shop):
    standin, channel, items, poller = ebay_shop
    placed = standin.place_order([("MUG", 1), ("CAP", 2)])
    poller.poll(channel, force=True)
    assert (stock(items["MUG"]), stock(items["CAP"])) == ((5, 1), (5, 2))

    standin.cancel_order(placed.order_id, [placed.lines[1].line_id])  # eBay refunds the line in full
    poller.poll(channel, force=True)

    assert (stock(items["MUG"]), stock(items["CAP"])) == ((5, 1), (5, 0))
    assert standin.listing("CAP").quantity == 5  # eBay put the units back on the listing
    record = order_record(channel, placed.order_id)
    assert (record.status, {line["sku"]: line["quantity"] for line in record.lines}) == ("open", {"MUG": 1, "CAP": 0})
    assert standin.violations() == []


def test_given_an_ebay_order_with_a_cancelled_line_when_the_rest_ships_then_only_the_rest_leaves_stock(ebay_shop):
    standin, channel, items, poller = ebay_shop
    placed = standin.place_order([("MUG", 1), ("CAP", 2)])
    standin.cancel_order(placed.order_id, [placed.lines[1].line_id])
    poller.poll(channel, force=True)
    standin.ship_order(placed.order_id)

    poller.poll(channel, force=True)
    looked_up = poller.adapter_factory(ChannelAccount(channel.channel_id, "ebay", {}, {})).fetch_order(placed.order_id)

    assert (stock(items["MUG"]), stock(items["CAP"])) == ((4, 0), (5, 0))
    assert looked_up is not None and {line.sku: line.quantity for line in looked_up.lines} == {"MUG": 1, "CAP": 0}
    assert standin.violations() == []


def test_given_an_ebay_listing_we_ended_at_0_when_a_line_of_its_sale_is_cancelled_then_it_is_relisted_with_the_unit(
        api):
    """The fault run's "listing ended at 0 still showing a unit": eBay put the cancelled unit back on the
    listing we had ended, and while we never released the line the listing stayed ended with it."""
    sold_out = [DemoListing("MUG", "Mug", 9.5, 1, "110000000077"), DemoListing("CAP", "Cap", 9.5, 5, "110000000078")]
    with ebay.EbayStandIn(listings=sold_out, inventory_api_skus=set()) as standin:
        shop = api.post("/channels", {"name": "eBay UK", "type": "ebay", "settings": {
            "api_base_url": standin.url, "marketplace_id": ebay.MARKETPLACE_ID}, "credentials": {
            "client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET, "refresh_token": ebay.REFRESH_TOKEN}})
        channel = services().channels.get(shop.body["channel_id"])
        mug, cap = item_with_stock(api, "MUG", 1), item_with_stock(api, "CAP", 5)
        listing(channel.channel_id, "MUG", mug, channel_listing_id="110000000077", listing_kind="trading")
        listing(channel.channel_id, "CAP", cap, channel_listing_id="110000000078", listing_kind="trading")
        submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())
        orders = OrderPoller(services().order_book, ParameterStore(), AutomationLog(),
                             adapter_factory=lambda one: build_adapter(one, policy=NO_WAIT, tokens=TokenCache()))
        placed = standin.place_order([("MUG", 1), ("CAP", 1)])
        orders.poll(channel, force=True)
        submitter.reconcile({"m": StockChange(reason="sale", item_ids=[mug])}, force=True)
        assert (read_listing(channel.channel_id, "MUG").state, standin.listing("MUG").active) == ("ended", False)

        standin.cancel_order(placed.order_id, [placed.lines[0].line_id])  # the unit goes back on the ended listing
        orders.poll(channel, force=True)
        submitter.reconcile({"m": StockChange(reason="order_changed", item_ids=[mug])}, force=True)

        relisted = standin.listing("MUG")
        assert stock(mug) == (1, 0)
        assert (relisted.active, relisted.quantity) == (True, 1)
        assert read_listing(channel.channel_id, "MUG").channel_listing_id == relisted.listing_id != "110000000077"
        assert standin.violations() == []
