"""Each adapter's order side against its stand-in: orders changed after a time, page by page, the
channel's statuses as ours, one order by id, throttling as ChannelThrottled, and every exchange
valid against the channel's published contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import amazon, ebay, generic, magento, mirakl, rakuten
from infrastructure.standins.contract import spec
from stocksync.channels import amazon as amazon_channel
from stocksync.channels import ebay as ebay_channel
from stocksync.channels import generic as generic_channel
from stocksync.channels import magento as magento_channel
from stocksync.channels import pixmania as pixmania_channel
from stocksync.channels import rakuten as rakuten_channel
from stocksync.channels.base import ChannelAccount, ChannelThrottled
from stocksync.channels.order_side import ChannelOrder, NotifiedOrder, OrderStatus
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda _s: None)
HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:stocksync-order-notifications"


def listings(prefix: str, count: int = 4, quantity: int = 10) -> list[DemoListing]:
    return [DemoListing(f"{prefix}-{n}", f"Item {n}", 2.5, quantity, str(110000000000 + n)) for n in range(count)]


def adapter(channel_type: str, settings: dict, credentials: dict):
    return build_adapter(ChannelAccount("chan-1", channel_type, settings, credentials), policy=NO_WAIT,
                         tokens=TokenCache())


def all_orders(subject, since: datetime = HOUR_AGO) -> tuple[list[ChannelOrder], int]:
    """Every order changed since `since`, following the pages; and how many pages it took."""
    orders, page, pages = [], None, 0
    while True:
        answer = subject.fetch_orders(since, page)
        orders += answer.orders
        pages += 1
        page = answer.next_page
        if page is None:
            return orders, pages


# --- Amazon -------------------------------------------------------------------------------------


def amazon_adapter(standin):
    return adapter("amazon", {"sp_api_endpoint": standin.url, "lwa_endpoint": f"{standin.url}/auth/o2/token",
                              "marketplace_ids": [amazon.MARKETPLACE_ID], "seller_id": amazon.SELLER_ID},
                   {"lwa_client_id": amazon.CLIENT_ID, "lwa_client_secret": amazon.CLIENT_SECRET,
                    "refresh_token": amazon.REFRESH_TOKEN})


def amazon_shop():
    items = listings("AMZ")
    items.append(DemoListing("AMZ-0-FBA", "Item 0 (FBA)", 2.5, 0, "9", fba=True))
    return amazon.AmazonStandIn(listings=items)


def test_given_amazon_orders_when_fetched_by_pages_then_each_comes_once_with_our_status(monkeypatch):
    monkeypatch.setattr(amazon_channel, "ORDERS_PAGE", 2)
    with amazon_shop() as standin:
        placed = [standin.place_order([(f"AMZ-{n}", 1)]) for n in range(3)]
        standin.ship_order(placed[1].order_id)
        standin.cancel_order(placed[2].order_id)

        orders, pages = all_orders(amazon_adapter(standin))

        assert pages == 2
        by_id = {o.order_id: o for o in orders}
        assert [by_id[p.order_id].status for p in placed] == [OrderStatus.OPEN, OrderStatus.SHIPPED,
                                                              OrderStatus.CANCELLED]
        first = by_id[placed[0].order_id]
        assert (first.lines[0].sku, first.lines[0].quantity, first.lines[0].unit_price) == ("AMZ-0", 1, Decimal("2.50"))
        assert (first.fulfilled_by_channel, first.currency, first.total, first.channel_status) == (
            False, "GBP", Decimal("2.50"), "UNSHIPPED")
        searches = [e for e in standin.exchanges if e.path.endswith("/orders")]
        assert searches[0].query["marketplaceIds"] == [amazon.MARKETPLACE_ID]
        assert set(searches[0].query["includedData"][0].split(",")) == {"FULFILLMENT", "PROCEEDS", "CANCELLATION"}
        assert standin.violations() == []


def test_given_an_amazon_item_cancelled_when_fetched_then_it_holds_nothing_though_amazon_keeps_its_quantity():
    with amazon_shop() as standin:
        placed = standin.place_order([("AMZ-0", 1), ("AMZ-1", 2)])
        standin.cancel_order(placed.order_id, [placed.lines[1].line_id])

        order = amazon_adapter(standin).fetch_order(placed.order_id)
        (polled,) = all_orders(amazon_adapter(standin))[0]

        assert order is not None and order.status == polled.status == OrderStatus.OPEN
        assert [line.quantity for line in order.lines] == [line.quantity for line in polled.lines] == [1, 0]
        lookup = next(e for e in reversed(standin.exchanges) if e.path.endswith(placed.order_id))
        items = json.loads(lookup.response_body)["order"]["orderItems"]
        assert [item["quantityOrdered"] for item in items] == [1, 2]  # as Amazon answers a cancelled item
        assert standin.violations() == []


def test_given_an_fba_order_when_fetched_then_it_is_fulfilled_by_the_channel():
    with amazon_shop() as standin:
        fba = standin.place_order([("AMZ-0-FBA", 2)], fulfilled_by_channel=True)

        order = amazon_adapter(standin).fetch_order(fba.order_id)

        assert order is not None and order.fulfilled_by_channel
        assert order.raw_reference["fulfilledBy"] == "AMAZON"
        assert standin.violations() == []


def test_given_an_amazon_order_changed_before_the_cursor_when_fetched_then_it_is_not_in_the_page():
    with amazon_shop() as standin:
        old = standin.place_order([("AMZ-0", 1)])
        cursor = old.updated + timedelta(seconds=1)
        orders, _ = all_orders(amazon_adapter(standin), cursor)
        assert orders == []


def test_given_an_unknown_amazon_order_when_fetched_then_none():
    with amazon_shop() as standin:
        assert amazon_adapter(standin).fetch_order("999-0000000-0000000") is None


def test_given_amazon_throttles_search_orders_when_polled_then_channel_throttled_with_retry_after():
    with amazon_shop() as standin:
        standin.fail_next("search_orders", 429, 429, 429)
        with pytest.raises(ChannelThrottled) as raised:
            amazon_adapter(standin).fetch_orders(HOUR_AGO)
        assert raised.value.retry_after > 0


def test_given_no_subscription_when_ensured_twice_then_one_destination_and_one_subscription():
    with amazon_shop() as standin:
        subject = amazon_adapter(standin)

        first = subject.ensure_order_notifications(QUEUE_ARN)
        again = amazon_adapter(standin).ensure_order_notifications(QUEUE_ARN)

        assert first == again == standin.subscriptions["ORDER_CHANGE"]["subscriptionId"]
        assert [d["resource"]["sqs"]["arn"] for d in standin.destinations.values()] == [QUEUE_ARN]
        creates = [e for e in standin.exchanges if e.method == "POST" and "/notifications/" in e.path]
        assert len(creates) == 2  # one destination, one subscription
        assert standin.violations() == []


def test_given_a_subscription_to_another_queue_when_ensured_then_it_is_moved_to_ours():
    with amazon_shop() as standin:
        old = amazon_adapter(standin).ensure_order_notifications(QUEUE_ARN + "-old")

        new = amazon_adapter(standin).ensure_order_notifications(QUEUE_ARN)

        assert new != old
        destination = standin.destinations[standin.subscriptions["ORDER_CHANGE"]["destinationId"]]
        assert destination["resource"]["sqs"]["arn"] == QUEUE_ARN
        assert standin.violations() == []


def test_given_destination_calls_when_made_then_they_carry_a_grantless_token():
    with amazon_shop() as standin:
        amazon_adapter(standin).ensure_order_notifications(QUEUE_ARN)
        destination_calls = [e for e in standin.exchanges if e.path.endswith("/destinations")]
        assert destination_calls and all(e.headers["X-Amz-Access-Token"] in standin.grantless_tokens
                                         for e in destination_calls)
        subscription_calls = [e for e in standin.exchanges if "/subscriptions/" in e.path]
        assert all(e.headers["X-Amz-Access-Token"] in standin.tokens for e in subscription_calls)


def order_change(order_id: str = "903-8868176-2219830", kind: str = "ORDER_CHANGE") -> dict:
    example = json.loads(spec("amazon", "OrderChangeNotification.json").read_text())["examples"][0]
    example["NotificationType"] = kind
    example["Payload"]["OrderChangeNotification"]["AmazonOrderId"] = order_id
    return example


def test_given_an_order_change_notification_when_read_then_it_names_the_seller_and_the_order_only():
    record = {"messageId": "m-1", "body": json.dumps(order_change())}

    (notified,) = amazon_channel.AmazonAdapter.notified_orders(record)

    # The summary (status, items, quantities) is not taken on trust: the order is read with getOrder.
    assert notified == NotifiedOrder("A3TH9S8BH6GOGM", "903-8868176-2219830")
    assert amazon_channel.AmazonAdapter.notified_orders(order_change()) == [notified]


def test_given_a_notification_without_items_when_read_then_it_names_the_order_to_look_up():
    bare = order_change()
    del bare["Payload"]["OrderChangeNotification"]["Summary"]

    assert amazon_channel.AmazonAdapter.notified_orders(bare) == [
        NotifiedOrder("A3TH9S8BH6GOGM", "903-8868176-2219830")]


def test_given_another_notification_type_or_garbage_when_read_then_no_order():
    other = {"body": json.dumps(order_change(kind="ANY_OFFER_CHANGED"))}
    assert amazon_channel.AmazonAdapter.notified_orders(other) == []
    assert amazon_channel.AmazonAdapter.notified_orders({"body": "not json"}) == []
    assert ebay_channel.EbayAdapter.notified_orders({"body": json.dumps(order_change())}) == []


# --- eBay -----------------------------------------------------------------------------------------


def ebay_adapter(standin):
    return adapter("ebay", {"api_base_url": standin.url, "marketplace_id": "EBAY_GB"},
                   {"client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET,
                    "refresh_token": ebay.REFRESH_TOKEN})


def test_given_ebay_orders_when_fetched_by_pages_then_statuses_map_and_lines_carry_skus(monkeypatch):
    monkeypatch.setattr(ebay_channel, "ORDERS_PAGE", 2)
    with ebay.EbayStandIn(listings=listings("EB")) as standin:
        placed = [standin.place_order([(f"EB-{n}", n + 1)]) for n in range(3)]
        standin.ship_order(placed[1].order_id)
        standin.cancel_order(placed[2].order_id)

        orders, pages = all_orders(ebay_adapter(standin))

        assert pages == 2
        by_id = {o.order_id: o for o in orders}
        assert [by_id[p.order_id].status for p in placed] == [OrderStatus.OPEN, OrderStatus.SHIPPED,
                                                              OrderStatus.CANCELLED]
        line = by_id[placed[2].order_id].lines[0]
        assert (line.sku, line.quantity, line.line_id, line.unit_price) == ("EB-2", 3, placed[2].lines[0].line_id,
                                                                            Decimal("2.5"))
        assert by_id[placed[0].order_id].buyer_name == "demo-buyer"
        modified = next(e for e in standin.exchanges if e.path.endswith("/order"))
        assert modified.query["filter"][0].startswith("lastmodifieddate:[") and modified.query["filter"][0].endswith(
            "Z..]")
        assert standin.violations() == []


def ebay_line(status: str = "NOT_STARTED", *refunded: str, discounted: str | None = None) -> dict:
    line = {"lineItemId": "1", "sku": "EB-0", "quantity": 2, "lineItemCost": {"value": "5.00", "currency": "GBP"},
            "lineItemFulfillmentStatus": status,
            "refunds": [{"refundId": f"r{n}", "amount": {"value": value, "currency": "GBP"}}
                        for n, value in enumerate(refunded)]}
    if discounted:
        line["discountedLineItemCost"] = {"value": discounted, "currency": "GBP"}
    return line


@pytest.mark.parametrize(("line", "cancelled"), [
    (ebay_line(), False),
    (ebay_line("NOT_STARTED", "5.00"), True),  # refunded in full before shipping: cancelled out of the order
    (ebay_line("NOT_STARTED", "2.00", "3.00"), True),  # in two refunds
    (ebay_line("NOT_STARTED", "4.00", discounted="4.00"), True),  # its discounted cost
    (ebay_line("NOT_STARTED", "1.00"), False),  # a partial refund: a price adjustment, the units still go
    (ebay_line("FULFILLED", "5.00"), False),  # shipped, then refunded: a return, not a cancellation
])
def test_given_an_ebay_line_and_its_refunds_when_read_then_only_a_full_refund_before_shipping_cancels_it(
        line, cancelled):
    assert ebay_channel.line_cancelled(line) is cancelled


def test_given_an_ebay_order_cancelled_when_looked_up_then_its_completed_cancel_request_is_listed_only_there():
    with ebay.EbayStandIn(listings=listings("EB")) as standin:
        placed = standin.place_order([("EB-0", 1), ("EB-1", 1)])
        standin.cancel_order(placed.order_id, [placed.lines[0].line_id])
        partly = ebay_adapter(standin).fetch_order(placed.order_id)
        standin.cancel_order(placed.order_id)

        looked_up = ebay_adapter(standin).fetch_order(placed.order_id)
        (polled,) = all_orders(ebay_adapter(standin))[0]

        assert partly is not None and (partly.status, [line.quantity for line in partly.lines]) == (
            OrderStatus.OPEN, [0, 1])
        assert looked_up is not None and looked_up.status == polled.status == OrderStatus.CANCELLED
        getorder = next(e for e in reversed(standin.exchanges) if e.path.endswith(placed.order_id))
        requests = json.loads(getorder.response_body)["cancelStatus"]["cancelRequests"]
        assert [r["cancelRequestState"] for r in requests] == ["COMPLETED"]
        search = next(e for e in reversed(standin.exchanges) if e.path.endswith("/order"))
        assert json.loads(search.response_body)["orders"][0]["cancelStatus"]["cancelRequests"] == []
        assert standin.violations() == []


def test_given_a_legacy_listing_without_sku_when_its_order_is_fetched_then_the_line_is_keyed_by_item_id():
    items = [DemoListing("", "Old listing", 5.0, 3, "110000000777"), *listings("EB", 1)]
    with ebay.EbayStandIn(listings=items, inventory_api_skus=set()) as standin:
        placed = standin.place_order([("", 1)])

        order = ebay_adapter(standin).fetch_order(placed.order_id)

        assert order is not None and order.lines[0].sku == "110000000777"
        assert ebay_adapter(standin).fetch_order("99-99999-99999") is None
        assert standin.violations() == []


def test_given_ebay_throttles_get_orders_when_polled_then_channel_throttled():
    with ebay.EbayStandIn(listings=listings("EB")) as standin:
        standin.fail_next("get_orders", 429, 429, 429)
        with pytest.raises(ChannelThrottled) as raised:
            ebay_adapter(standin).fetch_orders(HOUR_AGO)
        assert raised.value.retry_after == 1.0


# --- Magento --------------------------------------------------------------------------------------


def magento_adapter(standin):
    return adapter("magento", {"base_url": standin.url}, {"access_token": magento.ACCESS_TOKEN})


def magento_shop():
    items = [*listings("TEE"), DemoListing("WEB-ONLY-001", "Lot", 4.0, 5, "77")]
    return magento.MagentoStandIn(listings=items)


def test_given_a_configurable_product_ordered_when_fetched_then_parent_and_child_count_once():
    with magento_shop() as standin:
        placed = standin.place_order([("TEE-1", 2), ("WEB-ONLY-001", 1)])

        [order] = magento_adapter(standin).fetch_orders(HOUR_AGO).orders

        assert order.order_id == placed.order_id and order.raw_reference["entity_id"] == str(placed.number)
        assert [(line.sku, line.quantity) for line in order.lines] == [("TEE-1", 2), ("WEB-ONLY-001", 1)]
        assert (order.status, order.channel_status, order.buyer_name) == (OrderStatus.OPEN, "processing",
                                                                          "Demo Buyer")
        assert standin.violations() == []


def test_given_magento_orders_when_paged_then_every_order_once_and_statuses_map(monkeypatch):
    monkeypatch.setattr(magento_channel, "ORDERS_PAGE", 2)
    with magento_shop() as standin:
        placed = [standin.place_order([(f"TEE-{n}", 1)]) for n in range(3)]
        standin.ship_order(placed[1].order_id)
        standin.cancel_order(placed[2].order_id)

        orders, pages = all_orders(magento_adapter(standin))

        assert pages == 2 and len(orders) == 3
        by_id = {o.order_id: o for o in orders}
        assert [by_id[p.order_id].status for p in placed] == [OrderStatus.OPEN, OrderStatus.SHIPPED,
                                                              OrderStatus.CANCELLED]
        assert by_id[placed[2].order_id].lines[0].quantity == 0  # qty_canceled taken off
        assert magento_adapter(standin).fetch_order(placed[1].order_id).status == OrderStatus.SHIPPED
        assert magento_adapter(standin).fetch_order("000999999") is None
        assert standin.violations() == []


def test_given_magento_items_when_mapped_then_closed_depends_on_shipment_and_bundles_count_children():
    assert magento_channel.order_status("closed", shipped_any=True) == OrderStatus.SHIPPED
    assert magento_channel.order_status("closed", shipped_any=False) == OrderStatus.CANCELLED
    assert magento_channel.order_status("holded", shipped_any=False) == OrderStatus.OPEN
    items = [{"item_id": 1, "sku": "BOX", "product_type": "bundle", "qty_ordered": 1},
             {"item_id": 2, "sku": "MUG", "product_type": "simple", "parent_item_id": 1, "qty_ordered": 2},
             {"item_id": 3, "sku": "TEE", "product_type": "simple", "parent_item_id": 1, "qty_ordered": 1,
              "qty_refunded": 1}]
    assert [(line.sku, line.quantity) for line in magento_channel.order_lines(items, shipped=False)] == [
        ("MUG", 2), ("TEE", 0)]


# --- Pixmania (Mirakl) ----------------------------------------------------------------------------


def pixmania_adapter(standin):
    return adapter("pixmania", {"base_url": standin.url}, {"api_key": mirakl.API_KEY})


def test_given_mirakl_orders_when_fetched_by_pages_then_states_map_and_cancelled_lines_count_nothing(monkeypatch):
    monkeypatch.setattr(pixmania_channel, "ORDERS_PAGE", 2)
    with mirakl.MiraklStandIn(listings=listings("PIX")) as standin:
        standin.limits = {**standin.limits, "list_orders": (100.0, 10)}  # several OR11 calls in a row here
        two_lines = standin.place_order([("PIX-0", 2), ("PIX-1", 1)])
        shipped = standin.place_order([("PIX-2", 1)])
        cancelled = standin.place_order([("PIX-3", 1)])
        standin.cancel_order(two_lines.order_id, [two_lines.lines[1].line_id])
        standin.ship_order(shipped.order_id)
        standin.cancel_order(cancelled.order_id)

        orders, pages = all_orders(pixmania_adapter(standin))

        assert pages == 2
        by_id = {o.order_id: o for o in orders}
        assert [by_id[p.order_id].status for p in (two_lines, shipped, cancelled)] == [
            OrderStatus.OPEN, OrderStatus.SHIPPED, OrderStatus.CANCELLED]
        assert [(line.sku, line.quantity) for line in by_id[two_lines.order_id].lines] == [("PIX-0", 2), ("PIX-1", 0)]
        assert by_id[shipped.order_id].channel_status == "SHIPPED"
        assert standin.listing("PIX-1").quantity == 10  # the cancelled line's unit went back
        assert pixmania_adapter(standin).fetch_order(shipped.order_id).status == OrderStatus.SHIPPED
        assert pixmania_adapter(standin).fetch_order("NOPE-1-A") is None
        assert standin.violations() == []


def test_given_mirakl_throttles_or11_when_polled_then_channel_throttled():
    with mirakl.MiraklStandIn(listings=listings("PIX")) as standin:
        standin.fail_next("list_orders", 429, 429, 429)
        with pytest.raises(ChannelThrottled):
            pixmania_adapter(standin).fetch_orders(HOUR_AGO)


# --- Rakuten and the generic website (our contracts) ----------------------------------------------


def rakuten_adapter(standin):
    return adapter("rakuten", {"base_url": standin.url, "shop_id": rakuten.SHOP_ID}, {"api_key": rakuten.API_KEY})


def website_adapter(standin):
    return adapter("generic", {"base_url": standin.url}, {"api_key": generic.API_KEY})


@pytest.mark.parametrize(("module", "standin_class", "build", "word"), [
    (rakuten_channel, rakuten.RakutenStandIn, rakuten_adapter, "paid"),
    (generic_channel, generic.GenericStandIn, website_adapter, "open"),
])
def test_given_our_contract_orders_when_fetched_by_pages_then_statuses_map_and_one_is_found_by_id(
        monkeypatch, module, standin_class, build, word):
    monkeypatch.setattr(module, "ORDERS_PAGE" if module is rakuten_channel else "ORDERS_PER_PAGE", 2)
    with standin_class(listings=listings("OUR")) as standin:
        two_lines = standin.place_order([("OUR-0", 2), ("OUR-1", 1)])
        shipped = standin.place_order([("OUR-2", 1)])
        cancelled = standin.place_order([("OUR-3", 1)])
        standin.cancel_order(two_lines.order_id, [two_lines.lines[1].line_id])
        standin.ship_order(shipped.order_id)
        standin.cancel_order(cancelled.order_id)

        orders, pages = all_orders(build(standin))

        assert pages == 2
        by_id = {o.order_id: o for o in orders}
        assert [by_id[p.order_id].status for p in (two_lines, shipped, cancelled)] == [
            OrderStatus.OPEN, OrderStatus.SHIPPED, OrderStatus.CANCELLED]
        assert by_id[two_lines.order_id].channel_status == word
        assert [(line.sku, line.quantity) for line in by_id[two_lines.order_id].lines] == [("OUR-0", 2), ("OUR-1", 0)]
        assert build(standin).fetch_order(shipped.order_id).status == OrderStatus.SHIPPED
        assert build(standin).fetch_order("NOPE") is None
        assert orders_after(build(standin), shipped.updated + timedelta(seconds=1)) == []


def orders_after(subject, since: datetime) -> list[ChannelOrder]:
    return all_orders(subject, since)[0]


def test_given_rakuten_throttles_orders_when_polled_then_channel_throttled_with_retry_after():
    with rakuten.RakutenStandIn(listings=listings("OUR")) as standin:
        standin.fail_next("get_orders", 429, 429, 429)
        with pytest.raises(ChannelThrottled) as raised:
            rakuten_adapter(standin).fetch_orders(HOUR_AGO)
        assert raised.value.retry_after == 1.0


def test_given_adapters_when_asked_then_cadence_and_push_follow_each_channel():
    assert (amazon_channel.AmazonAdapter.order_poll_minutes, amazon_channel.AmazonAdapter.notifies_orders) == (3, True)
    assert not any(cls.notifies_orders for cls in (ebay_channel.EbayAdapter, magento_channel.MagentoAdapter,
                                                   pixmania_channel.PixmaniaAdapter, rakuten_channel.RakutenAdapter,
                                                   generic_channel.GenericAdapter))
