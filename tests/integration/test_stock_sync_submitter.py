"""The stock submitter on the embedded AWS against the website stand-in (our own contract): targets,
coalescing, idempotency, crash safety, throttling back to the queue, and the sync log."""

from __future__ import annotations

import threading

import pytest
from stock_sync_support import (
    Context,
    QueuedChange,
    fast_adapter_factory,
    generic_channel,
    item_with_stock,
    listing,
    read_listing,
    set_stock,
    sqs_event,
    submitter_handler,
)

from infrastructure.standins.generic import GenericStandIn
from stocksync.core.db import ItemRecord
from stocksync.core.messages import StockChange
from stocksync.core.secrets import ParameterStore
from stocksync.stock_sync.queue import run_stock_batch
from stocksync.stock_sync.submitter import StockSubmitter, sync_log


class Delays:
    def __init__(self) -> None:
        self.given: list[tuple[str, float]] = []

    def delay(self, records):
        self.given.extend((record.message_id, wait) for record, wait in records)


@pytest.fixture
def submitter(stack):
    return StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())


def site_listing(website, sku):
    return next(item for item in website.listings if item.sku == sku)


def stock_posts(website):
    return [e for e in website.exchanges if e.path == "/stocksync/v1/stock"]


def test_given_linked_listings_when_stock_changes_then_the_site_shows_each_target_in_one_bulk_call(
        api, website, shop, submitter):
    mug = item_with_stock(api, "MUG-BLACK", 10)
    cup = item_with_stock(api, "MUG-WHITE", 2)
    listing(shop, "MUG-BLACK", mug, max_listed=4)
    listing(shop, "MUG-WHITE", cup, end_when=2)
    listing(shop, "MUG-RED", cup, ignore_sync=True)

    verdict = run_stock_batch([QueuedChange("a", StockChange(reason="t", item_ids=[mug])),
                               QueuedChange("b", StockChange(reason="t", item_ids=[cup, mug]))], submitter, Delays())

    assert verdict.outcome.retry == {}
    assert site_listing(website, "MUG-BLACK").quantity == 4
    white = site_listing(website, "MUG-WHITE")
    assert (white.quantity, white.active) == (0, False)  # available 2 <= End When 2: disabled at 0
    assert len(stock_posts(website)) == 1  # both listings in one batch
    assert "MUG-RED" not in [i["sku"] for i in stock_posts(website)[0].json()["items"]]
    recorded = read_listing(shop, "MUG-BLACK")
    assert (recorded.submitted_quantity, recorded.update_status, recorded.update_error) == (4, "ok", None)
    assert recorded.update_date is not None and recorded.last_update is not None
    assert read_listing(shop, "MUG-RED").submitted_quantity is None  # Ignore Sync: never sent


def test_given_a_message_delivered_twice_and_late_when_run_again_then_nothing_more_is_sent(
        api, website, shop, submitter):
    mug = item_with_stock(api, "MUG-BLACK", 5)
    listing(shop, "MUG-BLACK", mug)
    change = StockChange(reason="t", item_ids=[mug])
    run_stock_batch([QueuedChange("a", change)], submitter, Delays())
    set_stock(api, mug, 3)
    newer = StockChange(reason="sale", item_ids=[mug])
    run_stock_batch([QueuedChange("b", newer)], submitter, Delays())

    run_stock_batch([QueuedChange("a", change), QueuedChange("a2", change)], submitter, Delays())  # old, late, twice

    assert site_listing(website, "MUG-BLACK").quantity == 3
    assert len(stock_posts(website)) == 2


def test_given_a_crash_after_the_channel_call_when_redelivered_then_the_same_target_is_sent_again(
        api, website, shop, submitter, monkeypatch):
    mug = item_with_stock(api, "MUG-BLACK", 7)
    listing(shop, "MUG-BLACK", mug, submitted_quantity=1)
    monkeypatch.setattr(StockSubmitter, "_record", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        run_stock_batch([QueuedChange("a", StockChange(reason="t", item_ids=[mug]))], submitter, Delays())
    monkeypatch.undo()

    run_stock_batch([QueuedChange("a", StockChange(reason="t", item_ids=[mug]))], submitter, Delays())

    sent = [e.json()["items"][0]["quantity"] for e in stock_posts(website)]
    assert sent == [7, 7]
    assert read_listing(shop, "MUG-BLACK").submitted_quantity == 7


def test_given_the_site_throttles_when_submitted_then_the_message_returns_later_and_the_listing_says_why(
        api, website, shop, submitter):
    mug = item_with_stock(api, "MUG-BLACK", 6)
    other = item_with_stock(api, "MUG-WHITE", 6)
    listing(shop, "MUG-BLACK", mug)
    website.fail_next("post_stock", 429, 429)
    delays = Delays()

    verdict = run_stock_batch([QueuedChange("a", StockChange(reason="t", item_ids=[mug])),
                               QueuedChange("b", StockChange(reason="t", item_ids=[other]))], submitter, delays)

    assert set(verdict.outcome.retry) == {"a"}  # b names no listing: done
    assert [m for m, _ in delays.given] == ["a"] and delays.given[0][1] >= 1
    throttled = read_listing(shop, "MUG-BLACK")
    assert throttled.update_status == "retrying" and "throttled" in throttled.update_error
    assert throttled.submitted_quantity is None

    again = run_stock_batch([QueuedChange("a", StockChange(reason="t", item_ids=[mug]))], submitter, Delays())

    assert again.outcome.retry == {}
    assert site_listing(website, "MUG-BLACK").quantity == 6
    entries, _ = sync_log(shop, "mug-black", limit=10, cursor=None)
    assert [e.status for e in entries] == ["ok", "retrying"]


def test_given_the_function_when_a_batch_fails_on_one_channel_then_only_those_records_are_reported(
        api, website, shop, monkeypatch):
    mug = item_with_stock(api, "MUG-BLACK", 2)
    listing(shop, "MUG-BLACK", mug)
    import stocksync.stock_sync.queue as queue_module
    monkeypatch.setattr(queue_module.SqsVisibilityDelayer, "delay", lambda self, records: None)
    handler = submitter_handler()
    website.fail_next("post_stock", *([503] * 8))

    answer = handler(sqs_event(StockChange(reason="t", item_ids=["nobody"]),
                               StockChange(reason="t", item_ids=[mug])), Context())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert website.violations() == []


def test_given_two_channels_when_stock_changes_then_both_are_sent_to_at_once_and_a_throttled_one_holds_only_its_own(
        api, website, shop):
    with GenericStandIn() as second_site:
        second = generic_channel(api, second_site, "Web 2")
        mug = item_with_stock(api, "MUG-BLACK", 5)
        listing(shop, "MUG-BLACK", mug)
        listing(second, "MUG-BLACK", mug)
        both_calling = threading.Barrier(2, timeout=10)  # a channel sent to after the other never gets past it
        overlapped: list[bool] = []
        build = fast_adapter_factory()

        def meeting_adapters(channel, limiter):
            adapter = build(channel, limiter)
            send = adapter.submit_quantities

            def submit_quantities(updates):
                try:
                    both_calling.wait()
                    overlapped.append(True)
                except threading.BrokenBarrierError:
                    overlapped.append(False)
                return send(updates)

            adapter.submit_quantities = submit_quantities
            return adapter

        second_site.fail_next("post_stock", 429, 429)
        submitter = StockSubmitter(ParameterStore(), adapter_factory=meeting_adapters)

        verdict = run_stock_batch([QueuedChange("a", StockChange(reason="t", item_ids=[mug]))], submitter, Delays())

        assert overlapped == [True, True]
        assert site_listing(website, "MUG-BLACK").quantity == 5
        assert read_listing(second, "MUG-BLACK").update_status == "retrying"
        assert (verdict.outcome.sent, verdict.outcome.retrying, set(verdict.outcome.retry)) == (1, 1, {"a"})


def test_given_a_kit_whose_component_was_deleted_when_read_then_the_api_and_the_submitter_both_say_0(
        api, website, shop, submitter):
    board, screw = item_with_stock(api, "BOARD", 10), item_with_stock(api, "SCREW", 80)
    shelf = api.post("/items", {"sku": "SHELF", "title": "Shelf"}).body["item_id"]
    api.put(f"/items/{shelf}/components",
            {"components": [{"item_id": board, "quantity": 2}, {"item_id": screw, "quantity": 8}]})
    listing(shop, "MUG-BLACK", shelf, submitted_quantity=5, update_status="ok")  # the site sells the kit
    # A delete racing a kit edit leaves the kit naming an item that is gone.
    ItemRecord(**ItemRecord.keys(screw, "")).delete(add_version_condition=False)

    shown = api.get(f"/items/{shelf}/available").body
    run_stock_batch([QueuedChange("a", StockChange(reason="t", item_ids=[shelf]))], submitter, Delays())

    assert {channel["available"] for channel in shown["channels"]} == {0}
    assert site_listing(website, "MUG-BLACK").quantity == 0
    assert read_listing(shop, "MUG-BLACK").submitted_quantity == 0
