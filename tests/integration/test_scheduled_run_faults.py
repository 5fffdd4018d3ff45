"""The scheduled sync run over several channels when one of them fails: the others are still
synced, and the failing channel's work is left for the next run, not lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from stock_sync_support import NO_WAIT, amazon_channel_on, fast_adapter_factory, item_with_stock, listing, read_listing

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import amazon
from stocksync.core import db
from stocksync.core.secrets import ParameterStore
from stocksync.stock_sync.scheduled import run_scheduled_sync
from stocksync.stock_sync.submitter import StockSubmitter


@pytest.fixture
def amazon_standin():
    listings = [DemoListing(f"A-{n}", "x", 1.0, 0, str(n)) for n in (1, 2)]
    with amazon.AmazonStandIn(listings=listings, polls_until_done=1) as standin:
        yield standin


@pytest.fixture
def amazon_channel(api, amazon_standin) -> str:
    return amazon_channel_on(api, amazon_standin, feed_threshold=1)


def stale_shop_listing(api, shop: str) -> str:
    item = item_with_stock(api, "MUG-BLACK", 3)
    listing(shop, "MUG-BLACK", item, submitted_quantity=7, update_status="ok",
            last_update=db.now() - timedelta(hours=1))
    return item


def amazon_feed_processing(api, channel: str, submitter: StockSubmitter) -> None:
    item = item_with_stock(api, "A-ITEM", 9)
    for sku in ("A-1", "A-2"):  # two changes: one feed rather than two patches
        listing(channel, sku, item)
    first = submitter.submit(db.ListingRecord.query(db.channel_pk(channel)))
    assert first.pending == 2


def test_given_amazon_throttles_get_feed_when_the_scheduled_run_comes_then_other_channels_sync_and_the_feed_waits(
        api, shop, amazon_standin, amazon_channel):
    submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())
    amazon_feed_processing(api, amazon_channel, submitter)
    stale_shop_listing(api, shop)
    amazon_standin.fail_next("get_feed", *[429] * NO_WAIT.max_attempts)  # throttled on every attempt

    summary = run_scheduled_sync(submitter)

    assert read_listing(shop, "MUG-BLACK").submitted_quantity == 3
    assert read_listing(amazon_channel, "A-1").update_status == "pending"  # still waiting for its feed
    assert summary["channels"][amazon_channel]["settled"] == 0

    run_scheduled_sync(submitter)  # the next run reads the feed

    assert read_listing(amazon_channel, "A-1").update_status == "ok"


def test_given_a_channel_whose_answer_breaks_the_run_when_scheduled_then_the_other_channels_still_sync(
        api, shop, amazon_channel, monkeypatch):
    submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())
    amazon_feed_processing(api, amazon_channel, submitter)
    stale_shop_listing(api, shop)
    from stocksync.channels.amazon import AmazonAdapter

    def unreadable(self, reference):
        raise ValueError("Expecting value: line 1 column 1 (char 0)")

    monkeypatch.setattr(AmazonAdapter, "pending_outcome", unreadable)

    summary = run_scheduled_sync(submitter)

    assert read_listing(shop, "MUG-BLACK").submitted_quantity == 3
    assert "ValueError" in summary["channels"][amazon_channel]["failed"]
    assert read_listing(amazon_channel, "A-1").update_status == "pending"
