"""eBay's stock side against its stand-in: Inventory-API listings by bulkUpdatePriceQuantity, ended
by withdrawing the offer and relisted by publishing it; Trading listings by ReviseInventoryStatus,
EndFixedPriceItem and RelistFixedPriceItem, the new ItemID followed."""

from __future__ import annotations

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import ebay
from stocksync.channels.base import ChannelAccount, QuantityStatus, QuantityUpdate
from stocksync.channels.ebay import KIND_INVENTORY_API, KIND_TRADING
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda _s: None)


def listings(count: int, prefix: str) -> list[DemoListing]:
    return [DemoListing(sku=f"{prefix}-{n:03d}", title=f"Item {n}", price=9.99, quantity=5,
                        listing_id=str(110000000000 + len(prefix) * 1000 + n)) for n in range(count)]


def standin(inventory: int = 0, trading: int = 0) -> ebay.EbayStandIn:
    inv, old = listings(inventory, "INV"), listings(trading, "TRD")
    return ebay.EbayStandIn(listings=[*inv, *old], inventory_api_skus={i.sku for i in inv})


def subject(running: ebay.EbayStandIn):
    account = ChannelAccount("chan-ebay", "ebay", {"api_base_url": running.url, "marketplace_id": "EBAY_GB"},
                             {"client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET,
                              "refresh_token": ebay.REFRESH_TOKEN})
    return build_adapter(account, policy=NO_WAIT, tokens=TokenCache())


def inv(sku: str, quantity: int, state: str = "active", listing_id: str | None = None) -> QuantityUpdate:
    return QuantityUpdate(sku, quantity, state=state, listing_id=listing_id, listing_kind=KIND_INVENTORY_API)


def trd(running: ebay.EbayStandIn, sku: str, quantity: int, state: str = "active") -> QuantityUpdate:
    return QuantityUpdate(sku, quantity, state=state, listing_id=running.listing(sku).listing_id,
                          listing_kind=KIND_TRADING)


def calls(running: ebay.EbayStandIn, path_end: str, header: str | None = None) -> list:
    return [e for e in running.exchanges if e.path.endswith(path_end)
            and (header is None or e.headers.get("X-Ebay-Api-Call-Name") == header)]


# --- Inventory API -----------------------------------------------------------------------------


def test_given_60_inventory_api_changes_when_submitted_then_three_bulk_calls_show_every_quantity():
    with standin(inventory=60) as running:
        adapter = subject(running)
        updates = [inv(f"INV-{n:03d}", n + 1) for n in range(60)]

        results = adapter.submit_quantities(updates)

        assert {r.status for r in results} == {QuantityStatus.OK}
        assert len(calls(running, "/bulk_update_price_quantity")) == 3 == adapter.calls_for_updates(updates)
        assert [running.listing(f"INV-{n:03d}").quantity for n in (0, 24, 25, 59)] == [1, 25, 26, 60]
        assert running.violations() == []


def test_given_a_207_answer_when_read_then_each_sku_error_lands_on_its_own_listing():
    with standin(inventory=2) as running:
        results = subject(running).submit_quantities([inv("INV-000", 3), inv("NOT-LISTED", 4), inv("INV-001", 2)])

        assert [r.status for r in results] == [QuantityStatus.OK, QuantityStatus.ERROR, QuantityStatus.OK]
        assert "could not be found" in results[1].message
        assert calls(running, "/bulk_update_price_quantity")[0].status == 207
        assert running.violations() == []


def test_given_an_inventory_api_listing_at_zero_when_submitted_then_its_offer_is_withdrawn_and_restock_publishes():
    with standin(inventory=1) as running:
        adapter = subject(running)
        old_id = running.listing("INV-000").listing_id

        [ended] = adapter.submit_quantities([inv("INV-000", 0, listing_id=old_id)])

        assert (ended.status, ended.state) == (QuantityStatus.OK, "ended")
        assert running.listing("INV-000").active is False
        assert len(calls(running, "/withdraw")) == 1

        [back] = adapter.submit_quantities([inv("INV-000", 4, state="ended", listing_id=old_id)])

        shown = running.listing("INV-000")
        assert (back.status, back.state) == (QuantityStatus.OK, "active")
        assert (shown.active, shown.quantity) == (True, 4)
        assert back.listing_id == shown.listing_id != old_id  # the new listing is followed
        assert running.violations() == []


def test_given_a_withdrawn_offer_when_ended_again_after_a_crash_then_nothing_more_is_called():
    with standin(inventory=1) as running:
        adapter = subject(running)
        adapter.submit_quantities([inv("INV-000", 0)])

        [again] = adapter.submit_quantities([inv("INV-000", 0)])  # the record was lost: state still "active"

        assert (again.status, again.state) == (QuantityStatus.OK, "ended")
        assert len(calls(running, "/withdraw")) == 1
        assert running.violations() == []


def test_given_ebay_fails_the_bulk_call_when_submitted_then_its_listings_are_retried_later():
    with standin(inventory=2) as running:
        running.fail_next("bulk_update", 500, 500, 500)  # the contract documents 500 here, not 429
        results = subject(running).submit_quantities([inv("INV-000", 1), inv("INV-001", 1)])
        assert {r.status for r in results} == {QuantityStatus.RETRY}
        assert running.violations() == []


# --- Trading API -------------------------------------------------------------------------------


def test_given_nine_trading_changes_when_submitted_then_three_revise_calls_of_at_most_four():
    with standin(trading=9) as running:
        adapter = subject(running)
        updates = [trd(running, f"TRD-{n:03d}", n + 1) for n in range(9)]

        results = adapter.submit_quantities(updates)

        assert {r.status for r in results} == {QuantityStatus.OK}
        revisions = calls(running, "/ws/api.dll", "ReviseInventoryStatus")
        assert [e.body.count(b"<InventoryStatus>") for e in revisions] == [4, 4, 1]
        assert running.listing("TRD-008").quantity == 9
        assert running.violations() == []


def test_given_a_trading_listing_at_zero_when_submitted_then_it_is_ended_and_a_restock_relists_it_under_a_new_id():
    with standin(trading=2) as running:
        adapter = subject(running)
        old_id = running.listing("TRD-000").listing_id

        [ended] = adapter.submit_quantities([trd(running, "TRD-000", 0)])

        assert (ended.status, ended.state, running.listing("TRD-000").active) == (QuantityStatus.OK, "ended", False)

        [relisted] = adapter.submit_quantities([trd(running, "TRD-000", 3, state="ended")])

        shown = running.listing("TRD-000")
        assert (relisted.status, relisted.state, shown.active, shown.quantity) == (QuantityStatus.OK, "active",
                                                                                   True, 3)
        assert relisted.listing_id == shown.listing_id != old_id
        assert running.violations() == []


def test_given_a_relist_sent_twice_when_the_first_answer_was_lost_then_the_listing_it_made_is_followed():
    with standin(trading=1) as running:
        adapter = subject(running)
        old_id = running.listing("TRD-000").listing_id
        adapter.submit_quantities([trd(running, "TRD-000", 0)])
        restock = QuantityUpdate("TRD-000", 2, state="ended", listing_id=old_id, listing_kind=KIND_TRADING)
        [first] = adapter.submit_quantities([restock])

        [second] = adapter.submit_quantities([restock])  # the same ended ItemID: a duplicate UUID

        assert second.status == QuantityStatus.OK and second.listing_id == first.listing_id
        assert len(calls(running, "/ws/api.dll", "RelistFixedPriceItem")) == 2
        assert running.violations() == []


def test_given_a_revise_batch_with_an_ended_listing_when_submitted_then_only_that_listing_fails():
    with standin(trading=3) as running:
        running.listing("TRD-001").active = False
        results = subject(running).submit_quantities([trd(running, f"TRD-{n:03d}", 6) for n in range(3)])

        assert [r.status for r in results] == [QuantityStatus.OK, QuantityStatus.ERROR, QuantityStatus.OK]
        assert "ended" in results[1].message
        assert running.violations() == []


def test_given_the_trading_call_limit_reached_when_revised_then_the_listings_are_retried_later():
    with standin(trading=1) as running:
        running.fail_next("trading", 429)
        [result] = subject(running).submit_quantities([trd(running, "TRD-000", 2)])
        assert result.status == QuantityStatus.RETRY
        assert running.violations() == []
