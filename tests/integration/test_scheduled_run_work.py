"""The scheduled sync run reads what it will send: the listings due (a new link never sent, a refused or
throttled submission) and a rotating slice of the channel to re-assert, zeros first, so that over six
hours every linked listing is sent again. A slice's listings the channel takes unchanged are not
rewritten; one it refuses is recorded and retried by the next run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from stock_sync_support import Clock, amazon_channel_on, fast_adapter_factory, item_with_stock, listing, read_listing

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import amazon
from infrastructure.standins.generic import GenericStandIn
from stocksync.core import db
from stocksync.core.secrets import ParameterStore
from stocksync.stock_sync import scheduled
from stocksync.stock_sync.submitter import StockSubmitter

IN_SYNC = 40  # listings already sent: SKU-00 .. SKU-39, even ones of a sold-out item
RUNS_IN_SIX_HOURS = 24


@pytest.fixture
def website():
    skus = [f"SKU-{n:02d}" for n in range(IN_SYNC)] + ["SKU-ERR", "SKU-THR", "SKU-NEW"]
    with GenericStandIn(listings=[DemoListing(sku, sku, 9.0, 0, str(n)) for n, sku in enumerate(skus)]) as standin:
        yield standin


@pytest.fixture
def channel(api, shop):
    """IN_SYNC listings sent long ago, one refused, one throttled (both due, as the submitter leaves
    them), one just linked through the API and never sent."""
    stocked, sold_out = item_with_stock(api, "STOCKED", 5), item_with_stock(api, "SOLD-OUT", 0)
    long_ago = db.now() - timedelta(hours=7)
    for n in range(IN_SYNC):
        item, quantity = (sold_out, 0) if n % 2 == 0 else (stocked, 5)
        listing(shop, f"SKU-{n:02d}", item, submitted_quantity=quantity, update_status="ok", last_update=long_ago)
    for sku, status in (("SKU-ERR", "error"), ("SKU-THR", "retrying")):
        listing(shop, sku, stocked, submitted_quantity=5, update_status=status, update_error="before",
                last_update=long_ago, **db.sync_due_keys(shop, sku.lower()))
    listing(shop, "SKU-NEW", None)
    assert api.put(f"/channels/{shop}/listings/SKU-NEW/link", {"item_id": stocked}).status == 200
    return shop


def posts(website, since: int = 0) -> list[list[str]]:
    """Each stock call's SKUs, in the order sent."""
    return [[item["sku"] for item in e.json()["items"]] for e in website.exchanges[since:]
            if e.path == "/stocksync/v1/stock"]


def test_given_due_listings_and_six_hours_of_runs_then_due_ones_go_first_and_every_listing_is_re_asserted(
        website, channel):
    clock = Clock()
    submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory(), clock=clock)
    sent_per_run = []
    for _ in range(RUNS_IN_SIX_HOURS):
        since = len(website.exchanges)
        scheduled.run_scheduled_sync(submitter, clock=clock)
        # a call the client sent twice (its answer slow on a busy machine) counts once
        sent_per_run.append(list(dict.fromkeys(sku for post in posts(website, since) for sku in post)))
        clock.now += scheduled.RUN_EVERY
        website.budgets_refilled()  # 15 minutes on for the site too: a fast machine's runs are not throttled

    first = sent_per_run[0]
    assert {"SKU-ERR", "SKU-THR", "SKU-NEW"} <= set(first)  # what is due goes in the next run
    for sku in ("SKU-ERR", "SKU-THR", "SKU-NEW"):
        recorded = read_listing(channel, sku)
        assert (recorded.update_status, recorded.submitted_quantity, recorded.GSI3PK) == ("ok", 5, None)
        assert sum(run.count(sku) for run in sent_per_run) <= 2  # in sync since: at most its slice again
    reasserted = [sku for run in sent_per_run for sku in run if sku.startswith("SKU-") and sku[4:].isdigit()]
    assert set(reasserted) == {f"SKU-{n:02d}" for n in range(IN_SYNC)}  # every one within six hours
    assert len(reasserted) <= RUNS_IN_SIX_HOURS * IN_SYNC / 6  # a slice per run, not the channel every time
    for run in sent_per_run:
        quantities = [0 if sku[4:].isdigit() and int(sku[4:]) % 2 == 0 else 5 for sku in run]
        assert quantities == sorted(quantities)  # zeros first
    taken_unchanged = read_listing(channel, "SKU-01")
    assert taken_unchanged.last_update < clock.now - timedelta(hours=6)  # sent again, nothing rewritten
    assert [listing.quantity for listing in website.listings] == [0 if n % 2 == 0 else 5 for n in range(IN_SYNC)] + [
        5, 5, 5]


def test_given_a_re_asserted_listing_the_channel_refuses_then_it_is_recorded_and_retried_next_run(
        website, channel):
    clock = Clock()
    submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory(), clock=clock)
    scheduled.run_scheduled_sync(submitter, clock=clock)  # the due ones; the cycle learns the channel's size
    with website.lock:  # the shop deleted every listing: each one re-asserted now is refused
        website.listings[:] = []
    clock.now += scheduled.RUN_EVERY

    since = len(website.exchanges)
    scheduled.run_scheduled_sync(submitter, clock=clock)
    [refused] = posts(website, since)
    clock.now += scheduled.RUN_EVERY
    since = len(website.exchanges)
    scheduled.run_scheduled_sync(submitter, clock=clock)
    retried = [sku for post in posts(website, since) for sku in post]

    assert refused
    for sku in refused:
        recorded = read_listing(channel, sku)
        due_on = db.sync_due_pk(channel)
        assert (recorded.update_status, recorded.update_error, recorded.GSI3PK) == ("error", "unknown SKU", due_on)
    assert set(refused) <= set(retried)  # retried by the very next run, not in six hours


def test_given_a_re_assertion_feed_refusing_one_listing_when_it_settles_then_only_that_listing_is_written(
        api, stack):
    listings = [DemoListing(f"A-{n}", "x", 1.0, 9, str(n)) for n in range(4)]
    with amazon.AmazonStandIn(listings=listings, polls_until_done=1) as standin:
        channel = amazon_channel_on(api, standin, feed_threshold=2)
        item = item_with_stock(api, "A-ITEM", 9)
        long_ago = db.now() - timedelta(hours=7)
        for sku in ("A-0", "A-1", "A-2", "A-3", "A-GONE"):  # A-GONE: deleted on Amazon since it was sent
            listing(channel, sku, item, submitted_quantity=9, update_status="ok", last_update=long_ago)
        clock = Clock()
        submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory(), clock=clock)

        scheduled.run_scheduled_sync(submitter, clock=clock)  # one feed re-asserts all five, nothing written
        assert read_listing(channel, "A-GONE").last_update == long_ago
        clock.now += scheduled.RUN_EVERY
        scheduled.run_scheduled_sync(submitter, clock=clock)  # the feed's report names A-GONE

        assert len([e for e in standin.exchanges if e.path.endswith("/feeds")]) == 1
        gone = read_listing(channel, "A-GONE")
        assert "not in the seller's catalogue" in gone.update_error
        assert (gone.update_status, gone.GSI3PK) == ("error", db.sync_due_pk(channel))  # retried by the next runs
        assert [read_listing(channel, f"A-{n}").last_update for n in range(4)] == [long_ago] * 4
        state = db.get_or_none(db.StockSyncStateRecord, db.StockSyncStateRecord.keys(channel))
        assert not state.pending_feeds and not state.unrecorded_feeds
        assert standin.violations() == []
