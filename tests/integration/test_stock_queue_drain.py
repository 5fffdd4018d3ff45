"""The stock submitter takes what waits on the stock queue besides its event's batch: a burst is one
run, one bulk call per channel, and every message it took is deleted, delayed or left to come back,
never lost."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from stock_sync_support import fast_adapter_factory, generic_channel, item_with_stock, listing, read_listing, set_stock

from infrastructure.local.event_sources import SqsEventSource, SqsPoller, sqs_record
from infrastructure.local.lambda_runtime import LocalFunction
from infrastructure.standins.generic import GenericStandIn
from stocksync.core.messages import StockChange
from stocksync.core.secrets import ParameterStore
from stocksync.stock_sync.queue import BatchVerdict, SqsQueueDrain, run_stock_batch
from stocksync.stock_sync.submitter import StockSubmitter

SKUS = ["MUG-BLACK", "MUG-WHITE", "MUG-RED", "TEE-BLACK", "TEE-WHITE"]


class Delays:
    """The visibility delayer, recording which messages it was asked to hold back."""

    def __init__(self) -> None:
        self.given: dict[str, float] = {}
        self.receipts: list[str] = []

    def delay(self, records):
        for record, wait in records:
            self.given[record.message_id] = wait
            self.receipts.append(record.receipt_handle)


class StockQueue:
    """The embedded AWS's stock queue, handled as the SQS event source handles it."""

    def __init__(self, stack: Any) -> None:
        self.sqs = boto3.client("sqs")
        self.url = stack.ref("StockQueue")
        self.arn = stack.attribute("StockQueue", "Arn")

    def empty(self) -> None:
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages"):
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])

    def send(self, *bodies: str) -> None:
        for body in bodies:
            self.sqs.send_message(QueueUrl=self.url, MessageBody=body)

    def counts(self) -> tuple[int, int]:
        """(visible, in flight)"""
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def batch(self, size: int, *, visibility: int | None = None) -> list[dict[str, Any]]:
        """What the event source hands over: up to `size` visible messages, as SQS records."""
        extra = {} if visibility is None else {"VisibilityTimeout": visibility}
        messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=size,
                                            MessageSystemAttributeNames=["All"], **extra).get("Messages", [])
        return [sqs_record(message, self.arn, "eu-west-1") for message in messages]

    def settle(self, records: list[dict[str, Any]], verdict: BatchVerdict) -> None:
        """As the handler answers (a partial batch response) and the event source then deletes the
        rest; when every record failed, Powertools raises and the event source deletes none."""
        try:
            answer = process_partial_response(event={"Records": records}, record_handler=verdict.check,
                                              processor=BatchProcessor(event_type=EventType.SQS))
        except BatchProcessingError:
            return
        failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
        for record in records:
            if record["messageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"])

    def release(self, receipt_handles: list[str]) -> None:
        """The delay has passed: the messages are visible again."""
        for handle in receipt_handles:
            self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=handle, VisibilityTimeout=0)


@pytest.fixture
def queue(stack):
    return StockQueue(stack)


@dataclass(frozen=True)
class Sites:
    """Two web shops: `website` (channel `shop`) and `second_site` (channel `second`)."""

    website: GenericStandIn
    shop: str
    second_site: GenericStandIn
    second: str


@pytest.fixture
def sites(api, website, shop):
    with GenericStandIn() as second_site:
        yield Sites(website, shop, second_site, generic_channel(api, second_site, "Web 2"))


@pytest.fixture
def submitter(stack):
    return StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())


def stock_posts(site):
    return [e for e in site.exchanges if e.path == "/stocksync/v1/stock"]


def shown(site, sku):
    return next(item.quantity for item in site.listings if item.sku == sku)


def linked_on_both(api, sites):
    items = [item_with_stock(api, sku, 20) for sku in SKUS]
    for channel in (sites.shop, sites.second):
        for sku, item_id in zip(SKUS, items, strict=True):
            listing(channel, sku, item_id, submitted_quantity=20, update_status="ok")
    return items


def sell_25(api, items):
    """25 sales, five of each item: 25 stock-queue messages, each item ends at 15."""
    for n in range(25):
        set_stock(api, items[n % len(items)], 19 - n // len(items))


class Drain(SqsQueueDrain):
    """The function's drain of the stock queue, remembering what it took."""

    def __init__(self, queue: StockQueue) -> None:
        super().__init__(queue.url)
        self.taken: list[str] = []

    def receive(self):
        received = super().receive()
        self.taken.extend(message.receipt_handle for message in received)
        return received


def test_given_25_sales_waiting_on_two_channels_when_the_event_source_hands_over_10_then_one_call_per_channel_and_the_queue_is_empty(  # noqa: E501
        api, stack, sites, queue):
    items = linked_on_both(api, sites)
    queue.empty()  # what creating the items and channels announced
    sell_25(api, items)
    assert queue.counts() == (25, 0)
    function = LocalFunction.load(stack, "StockSubmitterFunction")
    (event,) = [e for e in stack.template.function("StockSubmitterFunction").events_of_type("SQS")]
    source = SqsEventSource.from_event(function, event, stack)
    assert source.batch_size == 10 and source.batching_window_seconds == 0

    SqsPoller(source, queue.sqs, threading.Event()).poll_once()  # one invocation, as the event source makes it

    assert len(stock_posts(sites.website)) == 1 and len(stock_posts(sites.second_site)) == 1
    assert {sku: (shown(sites.website, sku), shown(sites.second_site, sku)) for sku in SKUS} == {
        sku: (15, 15) for sku in SKUS}
    assert queue.counts() == (0, 0)


def test_given_an_extra_message_whose_channel_throttles_when_run_then_it_comes_back_later_and_is_not_deleted(
        api, sites, queue, submitter):
    mug = item_with_stock(api, "MUG-BLACK", 6)
    tee = item_with_stock(api, "TEE-BLACK", 4)
    listing(sites.shop, "MUG-BLACK", mug)
    listing(sites.second, "TEE-BLACK", tee)
    queue.empty()
    queue.send(StockChange(reason="sale", item_ids=[mug]).model_dump_json())
    batch = queue.batch(1)
    queue.send(StockChange(reason="sale", item_ids=[tee]).model_dump_json())  # waits: the drain takes it
    sites.second_site.fail_next("post_stock", 429, 429)
    delays = Delays()

    verdict = run_stock_batch([SQSRecord(r) for r in batch], submitter, delays, drain=Drain(queue))
    queue.settle(batch, verdict)

    assert verdict.outcome.retry.keys() == delays.given.keys() and len(delays.given) == 1
    assert batch[0]["messageId"] not in delays.given and min(delays.given.values()) >= 1
    assert shown(sites.website, "MUG-BLACK") == 6
    assert read_listing(sites.second, "TEE-BLACK").update_status == "retrying"
    assert queue.counts() == (0, 1)  # the throttled one is held back, not deleted
    queue.release(delays.receipts)
    (back,) = queue.batch(10)
    assert back["messageId"] in delays.given
    again = run_stock_batch([SQSRecord(back)], submitter, Delays(), drain=Drain(queue))
    assert again.outcome.retry == {} and shown(sites.second_site, "TEE-BLACK") == 4


def test_given_a_message_in_the_batch_and_waiting_again_when_run_then_it_is_sent_once_and_gone(
        api, website, shop, queue, submitter):
    mug = item_with_stock(api, "MUG-BLACK", 5)
    listing(shop, "MUG-BLACK", mug)
    queue.empty()
    queue.send(StockChange(reason="sale", item_ids=[mug]).model_dump_json())
    batch = queue.batch(1, visibility=0)  # visible again at once: SQS delivers it a second time, to the drain

    verdict = run_stock_batch([SQSRecord(r) for r in batch], submitter, Delays(), drain=Drain(queue))
    queue.settle(batch, verdict)

    assert verdict.outcome.sent == 1
    assert [e.json()["items"][0]["quantity"] for e in stock_posts(website)] == [5]
    assert queue.counts() == (0, 0)


def test_given_a_channel_failing_for_a_burst_when_run_then_its_listings_retry_and_every_message_comes_back(
        api, sites, queue, submitter):
    items = linked_on_both(api, sites)
    queue.empty()
    sell_25(api, items)
    batch = queue.batch(10)
    sites.website.fail_next("post_stock", 503, 503)
    delays = Delays()

    verdict = run_stock_batch([SQSRecord(r) for r in batch], submitter, delays, drain=Drain(queue))
    queue.settle(batch, verdict)

    assert {read_listing(sites.shop, sku).update_status for sku in SKUS} == {"retrying"}
    assert {shown(sites.second_site, sku) for sku in SKUS} == {15}
    assert len(delays.given) == 25  # every message names an item of the failing channel
    assert queue.counts() == (0, 25)  # none deleted
    queue.release(delays.receipts)
    batch = queue.batch(10)
    again = run_stock_batch([SQSRecord(r) for r in batch], submitter, Delays(), drain=Drain(queue))
    queue.settle(batch, again)
    assert {shown(sites.website, sku) for sku in SKUS} == {15}
    assert queue.counts() == (0, 0)


def test_given_a_crash_after_the_channel_calls_when_run_then_no_message_is_deleted_and_the_next_run_sends_again(
        api, sites, queue, submitter, monkeypatch):
    items = linked_on_both(api, sites)
    queue.empty()
    sell_25(api, items)
    batch = queue.batch(10)
    drain = Drain(queue)
    monkeypatch.setattr(StockSubmitter, "_record", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash")))

    with pytest.raises(RuntimeError):  # the invocation fails: the event source deletes none of its batch
        run_stock_batch([SQSRecord(r) for r in batch], submitter, Delays(), drain=drain)

    assert len(stock_posts(sites.website)) == len(stock_posts(sites.second_site)) == 1  # sent before the crash
    assert queue.counts() == (0, 25)
    monkeypatch.undo()
    queue.release([r["receiptHandle"] for r in batch] + drain.taken)  # their visibility timeout is up
    batch = queue.batch(10)
    again = run_stock_batch([SQSRecord(r) for r in batch], submitter, Delays(), drain=Drain(queue))
    queue.settle(batch, again)
    assert len(stock_posts(sites.website)) == 2 and {shown(sites.website, sku) for sku in SKUS} == {15}
    assert {read_listing(sites.shop, sku).submitted_quantity for sku in SKUS} == {15}
    assert queue.counts() == (0, 0)


def test_given_an_unreadable_extra_message_when_run_then_it_is_left_on_the_queue(
        api, website, shop, queue, submitter):
    mug = item_with_stock(api, "MUG-BLACK", 3)
    listing(shop, "MUG-BLACK", mug)
    queue.empty()
    queue.send(StockChange(reason="sale", item_ids=[mug]).model_dump_json())
    batch = queue.batch(1)
    queue.send("not a stock change")
    delays = Delays()

    verdict = run_stock_batch([SQSRecord(r) for r in batch], submitter, delays, drain=Drain(queue))
    queue.settle(batch, verdict)

    assert shown(website, "MUG-BLACK") == 3
    assert delays.given == {}
    assert queue.counts() == (0, 1)  # in flight until its visibility timeout, then on to the dead-letter queue


def test_given_more_waiting_than_a_run_takes_when_drained_then_it_takes_its_cap_and_leaves_the_rest(queue, stack):
    queue.empty()
    queue.send(*[StockChange(reason="sale", item_ids=[f"item-{n}"]).model_dump_json() for n in range(25)])

    taken = SqsQueueDrain(queue.url, max_messages=12).receive()

    assert len(taken) == 12 and len({message.message_id for message in taken}) == 12
    assert queue.counts() == (13, 12)
