"""The order poller and the notification path, with fake channels serving orders."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from order_support import FakeOrderChannel, add_channel, add_item, at, link, order, stock

from infrastructure.local.template import load_handler, load_template
from stocksync.api.context import services
from stocksync.channels.order_side import OrderStatus
from stocksync.channels.store import ChannelInput
from stocksync.channels.types import ChannelType
from stocksync.core import db
from stocksync.core.automation_log import AutomationLog
from stocksync.core.db import OrderPollStateRecord, OrderRecord
from stocksync.core.messages import RecordingQueue
from stocksync.core.secrets import ParameterStore
from stocksync.orders.poller import OVERLAP, OrderPoller


class Clock:
    def __init__(self) -> None:
        self.now = at(60)

    def __call__(self):
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fakes() -> dict[str, FakeOrderChannel]:
    return {}


@pytest.fixture
def poller(stack, clock, fakes):
    services().order_book.queue = RecordingQueue()
    return OrderPoller(services().order_book, ParameterStore(), AutomationLog(), clock=clock,
                       adapter_factory=lambda account: fakes[account.channel_id],
                       notification_queue_arn="arn:aws:sqs:eu-west-1:123456789012:orders")


def state(channel) -> OrderPollStateRecord:
    found = db.get_or_none(OrderPollStateRecord, OrderPollStateRecord.keys(channel.channel_id))
    assert found is not None
    return found


def orders_of(channel) -> dict[str, OrderRecord]:
    return {r.channel_order_id: r for r in OrderRecord.gsi2.query(db.orders_of_pk(channel.channel_id))}


def test_given_orders_over_several_pages_when_the_poller_ticks_then_all_are_imported_and_the_mark_moves(
        poller, clock, fakes):
    channel = add_channel("Shop")
    item_id = add_item("HOT", 20)
    link(channel, "HOT", item_id)
    fakes[channel.channel_id] = FakeOrderChannel([order(f"O-{n}", ("HOT", 1), minute=n) for n in range(5)])

    outcomes = poller.tick()

    assert outcomes == {channel.channel_id: "polled"}
    assert [page for _after, page in fakes[channel.channel_id].calls] == [None, "2", "4"]
    assert stock(item_id) == (20, 5)
    after = state(channel)
    assert after.high_water == at(4) and after.page_token is None and after.initial is False
    events, _ = services().automation_log.list(channel.channel_id, limit=5, cursor=None, kind="ORDERS_IMPORTED")
    assert events[0].message == "5 orders imported"

    fakes[channel.channel_id].put(order("O-9", ("HOT", 2), minute=30))
    clock.advance(1)
    poller.tick()

    assert fakes[channel.channel_id].calls[-2:] == [(at(4) - OVERLAP, None), (at(4) - OVERLAP, "2")]
    assert stock(item_id) == (20, 7)
    assert state(channel).high_water == at(30)


def test_given_the_first_sweep_when_orders_already_shipped_then_only_open_ones_are_imported(poller, fakes):
    channel = add_channel("Shop")
    item_id = add_item("HOT", 20)
    link(channel, "HOT", item_id)
    fakes[channel.channel_id] = FakeOrderChannel([order("OLD", ("HOT", 3), status=OrderStatus.SHIPPED),
                                                  order("NEW", ("HOT", 1), minute=1)])

    poller.tick()

    assert stock(item_id) == (20, 1)
    assert set(orders_of(channel)) == {"NEW"}


def test_given_a_throttled_channel_when_it_ticks_then_it_stops_and_the_next_tick_continues_the_window(
        poller, clock, fakes):
    throttled, calm = add_channel("Throttled"), add_channel("Calm")
    item_id = add_item("HOT", 20)
    link(throttled, "HOT", item_id)
    link(calm, "HOT", item_id)
    fakes[throttled.channel_id] = FakeOrderChannel([order(f"T-{n}", ("HOT", 1), minute=n) for n in range(4)])
    fakes[throttled.channel_id].throttle_at = {2}
    fakes[calm.channel_id] = FakeOrderChannel([order("C-1", ("HOT", 1))])

    outcomes = poller.tick()

    assert outcomes == {throttled.channel_id: "throttled", calm.channel_id: "polled"}
    halted = state(throttled)
    assert halted.page_token == "2" and "throttled" in (halted.last_error or "")
    assert stock(item_id) == (20, 3)

    clock.advance(1)
    assert poller.tick()[throttled.channel_id] == "polled"

    calls = fakes[throttled.channel_id].calls
    assert calls[-1] == (calls[0][0], "2")  # the same window, from where it stopped
    assert stock(item_id) == (20, 5)
    assert state(throttled).last_error is None


def test_given_a_doubled_tick_when_it_runs_then_nothing_is_imported_twice(poller, fakes):
    channel = add_channel("Shop")
    item_id = add_item("HOT", 20)
    link(channel, "HOT", item_id)
    fakes[channel.channel_id] = FakeOrderChannel([order(f"O-{n}", ("HOT", 1), minute=n) for n in range(6)])

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda _n: poller.tick(), range(2)))
    again = poller.tick()  # the same minute once more

    assert {outcome[channel.channel_id] for outcome in outcomes} <= {"polled", "busy", "not_due"}
    assert again == {channel.channel_id: "not_due"}
    assert stock(item_id) == (20, 6)
    assert len(orders_of(channel)) == 6


def test_given_a_channel_that_pushes_orders_when_it_first_ticks_then_it_subscribes_once(poller, clock, fakes):
    channel = add_channel("Amazon")
    fakes[channel.channel_id] = FakeOrderChannel(notifies=True)

    poller.tick()
    clock.advance(5)
    poller.tick()

    assert fakes[channel.channel_id].subscribed == ["arn:aws:sqs:eu-west-1:123456789012:orders"]
    assert state(channel).subscription_id == "sub-1"


def test_given_an_unmapped_line_linked_without_the_hook_when_the_poller_ticks_then_it_allocates(poller, fakes):
    channel = add_channel("Shop")
    item_id = add_item("HOT", 5)
    link(channel, "NEW-1", None)
    fakes[channel.channel_id] = FakeOrderChannel()
    services().order_book.import_order(channel, order("U-1", ("NEW-1", 2)))
    link(channel, "NEW-1", item_id)  # written straight to the table: no re-link call

    poller.tick()

    assert stock(item_id) == (5, 2)


def amazon_notification(seller_id: str, order_id: str) -> dict[str, Any]:
    return {"NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
            "EventTime": "2026-11-20T09:00:00Z",
            "Payload": {"OrderChangeNotification": {"NotificationLevel": "OrderLevel", "SellerId": seller_id,
                                                    "AmazonOrderId": order_id}},
            "NotificationMetadata": {"NotificationId": "n-1"}}


def test_given_an_order_change_notification_when_handled_then_that_order_is_imported(poller, fakes):
    channel = add_channel("Amazon UK", ChannelType.AMAZON, seller_id="SELLER-1")
    add_channel("Amazon DE", ChannelType.AMAZON, seller_id="SELLER-2")
    item_id = add_item("HOT", 5)
    link(channel, "HOT", item_id)
    fakes[channel.channel_id] = FakeOrderChannel([order("123-456", ("HOT", 2))])

    outcomes = poller.notified(amazon_notification("SELLER-1", "123-456"))
    again = poller.notified(amazon_notification("SELLER-1", "123-456"))  # SQS delivers it twice

    assert [o.outcome for o in outcomes] == ["created"]
    assert [o.outcome for o in again] == ["duplicate"]
    assert stock(item_id) == (5, 2)
    assert poller.notified(amazon_notification("SOMEONE-ELSE", "1")) == []


def test_given_a_notification_carrying_a_summary_when_handled_then_the_order_is_still_looked_up(poller, fakes):
    channel = add_channel("Amazon UK", ChannelType.AMAZON, seller_id="SELLER-1")
    item_id = add_item("HOT", 5)
    link(channel, "HOT", item_id)
    fakes[channel.channel_id] = FakeOrderChannel([order("123-789", ("HOT", 1))])
    notification = amazon_notification("SELLER-1", "123-789")
    notification["Payload"]["OrderChangeNotification"]["Summary"] = {
        "OrderStatus": "Unshipped", "FulfillmentType": "MFN",
        "OrderItems": [{"OrderItemId": "I-1", "SellerSKU": "HOT", "Quantity": 3, "OrderItemStatus": "Unshipped"}]}

    outcomes = poller.notified(notification)

    assert [o.outcome for o in outcomes] == ["created"]
    assert stock(item_id) == (5, 1)  # as the channel's order says, not the summary


class _Context:
    function_name = "OrderNotificationsFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:OrderNotificationsFunction"
    aws_request_id = "req"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 59_000


def test_given_the_notifications_function_when_a_record_is_unreadable_then_only_it_fails(stack):
    handler = load_handler(load_template(), "OrderNotificationsFunction")
    records = [
        {"messageId": "good", "receiptHandle": "r1", "body": json.dumps(amazon_notification("NOBODY", "1")),
         "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
         "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders", "awsRegion": "eu-west-1"},
        {"messageId": "bad", "receiptHandle": "r2", "body": "not json", "attributes": {}, "messageAttributes": {},
         "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders",
         "awsRegion": "eu-west-1"},
    ]

    answer = handler({"Records": records}, _Context())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "bad"}]}


def test_given_the_poller_function_when_no_channel_exists_then_it_ticks_cleanly(stack):
    handler = load_handler(load_template(), "OrderPollerFunction")

    assert handler({"source": "aws.events"}, _Context()) == {"channels": {}}


def test_given_the_stock_queue_fails_after_a_commit_when_the_next_tick_runs_then_it_is_announced_once(
        poller, clock, fakes):
    channel = add_channel("Shop")
    item_id = add_item("HOT", 5)
    link(channel, "HOT", item_id)
    fakes[channel.channel_id] = FakeOrderChannel([order("O-1", ("HOT", 2))])
    delivered = RecordingQueue()

    class FailingOnce(RecordingQueue):
        failed = False

        def publish(self, changes):
            if not self.failed:
                self.failed = True
                raise ConnectionError("stock queue unreachable")
            delivered.publish(changes)

    services().order_book.queue = FailingOnce()

    assert poller.tick() == {channel.channel_id: "failed"}
    assert state(channel).last_error and orders_of(channel)["O-1"].pending_announce == {item_id}
    clock.advance(1)
    assert poller.tick() == {channel.channel_id: "polled"}

    assert stock(item_id) == (5, 2)
    assert [change.item_ids for change in delivered.changes] == [[item_id]]
    assert not orders_of(channel)["O-1"].pending_announce


def test_given_a_sped_up_schedule_when_it_ticks_then_no_channel_is_polled_faster_than_its_api_allows(
        stack, clock, fakes):
    services().order_book.queue = RecordingQueue()
    sped_up = OrderPoller(services().order_book, ParameterStore(), AutomationLog(), clock=clock,
                          adapter_factory=lambda account: fakes[account.channel_id], cadence_speedup=60)
    free, limited = add_channel("Web shop"), add_channel("Marketplace")
    fakes[free.channel_id] = FakeOrderChannel()
    fakes[limited.channel_id] = FakeOrderChannel()
    fakes[limited.channel_id].order_poll_floor_s = 60.0  # type: ignore[misc]  # one call a minute

    first = sped_up.tick()
    clock.advance(0.5)
    soon = sped_up.tick()
    clock.advance(0.5)
    after_a_minute = sped_up.tick()

    assert first == {free.channel_id: "polled", limited.channel_id: "polled"}
    assert soon == {free.channel_id: "polled", limited.channel_id: "not_due"}  # 1 minute / 60 for the shop
    assert after_a_minute == {free.channel_id: "polled", limited.channel_id: "polled"}


def test_given_more_mirakl_orders_than_a_page_when_polled_then_one_or11_call_a_minute_and_the_rest_next_tick(
        stack, monkeypatch):
    from infrastructure.standins import mirakl
    from stocksync.channels import pixmania
    from stocksync.channels.registry import build_adapter
    from stocksync.core.http_client import RetryPolicy, TokenCache
    from stocksync.stock_sync.rate_limit import TableRateLimiter

    monkeypatch.setattr(pixmania, "ORDERS_PAGE", 2)
    with mirakl.MiraklStandIn() as standin:
        placed = [standin.place_order([(standin.listings[n].sku, 1)]).order_id for n in range(1, 4)]
        channel = services().channels.create(ChannelInput(
            name="Pixmania", type=ChannelType.PIXMANIA, settings={"base_url": standin.url},
            credentials={"api_key": mirakl.API_KEY}))
        clock = Clock()
        clock.now = db.now()

        def epoch() -> float:
            return clock.now.timestamp()

        limiter = TableRateLimiter(max_wait_s=0.0, clock=epoch)
        poller = OrderPoller(services().order_book, ParameterStore(), AutomationLog(), clock=clock,
                             adapter_factory=lambda account: build_adapter(
                                 account, rate_limiter=limiter, tokens=TokenCache(),
                                 policy=RetryPolicy(max_attempts=1, sleep=lambda _s: None)))

        def or11_answers() -> list[int]:
            return [e.status for e in standin.exchanges if e.path == "/api/orders"]

        first = poller.tick()[channel.channel_id]
        imported_first = set(orders_of(channel))
        answers_first = or11_answers()
        clock.advance(2)
        standin.limits = {**standin.limits, "list_orders": (1000.0, 1)}  # Mirakl's minute has passed too
        second = poller.tick()[channel.channel_id]

        assert (first, len(imported_first), answers_first) == ("throttled", 2, [200])  # one page: budget spent
        assert second == "polled" and len(orders_of(channel)) == len(placed)
        assert or11_answers() == [200, 200]  # Mirakl never had to answer 429
