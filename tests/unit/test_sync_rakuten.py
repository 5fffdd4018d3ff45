"""Rakuten's stock side against its stand-in (our contract, docs/channels/rakuten.md): quantities in
batches of 100, 0 disabling the listing, a restock reactivating it, per-update results; a listing
marked unlimited says so in the catalogue document."""

from __future__ import annotations

import csv
import io

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import rakuten
from stocksync.channels.base import ChannelAccount, QuantityStatus, QuantityUpdate
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda _s: None)


def shop(count: int = 3) -> rakuten.RakutenStandIn:
    return rakuten.RakutenStandIn(listings=[DemoListing(f"RK-{n:03d}", "x", 5.0, 1, str(n)) for n in range(count)])


def subject(running: rakuten.RakutenStandIn):
    account = ChannelAccount("chan-rak", "rakuten", {"base_url": running.url, "shop_id": rakuten.SHOP_ID},
                             {"api_key": rakuten.API_KEY})
    return build_adapter(account, policy=NO_WAIT, tokens=TokenCache())


def posts(running: rakuten.RakutenStandIn) -> list:
    return [e for e in running.exchanges if e.path.endswith("/inventory")]


def test_given_150_changes_when_submitted_then_two_calls_and_each_listing_shows_its_quantity():
    with shop(150) as running:
        adapter = subject(running)
        updates = [QuantityUpdate(f"RK-{n:03d}", n + 1) for n in range(150)]

        results = adapter.submit_quantities(updates)

        assert {r.status for r in results} == {QuantityStatus.OK}
        assert len(posts(running)) == 2 == adapter.calls_for_updates(updates)
        assert running.listing("RK-149").quantity == 150


def test_given_a_listing_at_zero_when_submitted_then_disabled_and_a_restock_reactivates_it():
    with shop() as running:
        adapter = subject(running)

        [out] = adapter.submit_quantities([QuantityUpdate("RK-000", 0)])

        assert (out.state, running.listing("RK-000").active, running.listing("RK-000").quantity) == ("disabled",
                                                                                                      False, 0)
        [back] = adapter.submit_quantities([QuantityUpdate("RK-000", 4, state="disabled")])

        assert (back.state, running.listing("RK-000").active, running.listing("RK-000").quantity) == ("active",
                                                                                                       True, 4)


def test_given_an_unknown_sku_when_submitted_then_a_207_puts_the_error_on_that_listing_only():
    with shop() as running:
        results = subject(running).submit_quantities([QuantityUpdate("RK-001", 2), QuantityUpdate("GONE", 2)])

        assert [r.status for r in results] == [QuantityStatus.OK, QuantityStatus.ERROR]
        assert results[1].message == "unknown SKU" and posts(running)[0].status == 207


def test_given_rakuten_throttles_when_submitted_then_the_batch_is_retried_later():
    with shop() as running:
        running.fail_next("post_inventory", 429, 429, 429)
        [result] = subject(running).submit_quantities([QuantityUpdate("RK-001", 2)])
        assert result.status == QuantityStatus.RETRY and result.retry_after


def test_given_a_listing_marked_unlimited_when_the_listings_are_read_then_the_document_says_so():
    with rakuten.RakutenStandIn(listings=[DemoListing("RK-1", "x", 5.0, 1, "1"), DemoListing("RK-2", "x", 5.0, 1, "2")],
                                unlimited={"RK-1"}) as running:
        adapter = subject(running)

        document = adapter.open_catalogue(adapter.request_catalogue())

        rows = list(csv.DictReader(io.StringIO(b"".join(document.chunks).decode())))
        assert {row["sku"]: row["unlimited"] for row in rows} == {"RK-1": "true", "RK-2": ""}
