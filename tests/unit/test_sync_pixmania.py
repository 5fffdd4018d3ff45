"""Pixmania (Mirakl)'s stock side against its stand-in: OF24 offer updates carrying the offer as the
catalogue exported it, 0 disabling the offer and a restock reactivating it, the result read from
OF02 / OF03; and OF52's choice of a full or a differential export."""

from __future__ import annotations

from datetime import UTC, datetime

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import mirakl
from stocksync.channels.base import ChannelAccount, QuantityStatus, QuantityUpdate
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda _s: None)


def marketplace(**kwargs) -> mirakl.MiraklStandIn:
    standin = mirakl.MiraklStandIn(listings=[DemoListing(f"PIX-{n}", f"Lamp {n}", 30.0, 2, str(n)) for n in range(3)],
                                   **kwargs)
    standin.limits = {**standin.limits, "update_offers": (1 / 60, 3)}  # a few OF24 calls inside one test
    return standin


def subject(running: mirakl.MiraklStandIn):
    account = ChannelAccount("chan-pix", "pixmania", {"base_url": running.url}, {"api_key": mirakl.API_KEY})
    return build_adapter(account, policy=NO_WAIT, tokens=TokenCache())


def test_given_quantity_changes_when_submitted_then_one_of24_call_carries_price_and_quantity_and_of02_settles_it():
    with marketplace(polls_until_done=2) as running:
        adapter = subject(running)

        results = adapter.submit_quantities([QuantityUpdate("PIX-0", 7, price=29.5), QuantityUpdate("PIX-1", 3,
                                                                                                   price=31.0)])

        assert {r.status for r in results} == {QuantityStatus.PENDING}
        sent = [e.json() for e in running.exchanges if e.method == "POST" and e.path == "/api/offers"]
        assert len(sent) == 1 and [o["price"] for o in sent[0]["offers"]] == [29.5, 31.0]
        reference = results[0].reference
        assert adapter.pending_outcome(reference) is None  # still running
        assert adapter.pending_outcome(reference) == {}
        assert (running.listing("PIX-0").quantity, running.listing("PIX-0").price) == (7, 29.5)
        assert running.violations() == []


def test_given_an_offer_at_zero_when_submitted_then_it_is_disabled_and_a_restock_reactivates_it():
    with marketplace() as running:
        adapter = subject(running)

        [out] = adapter.submit_quantities([QuantityUpdate("PIX-0", 0, price=30.0)])
        assert adapter.pending_outcome(out.reference) == {}

        assert out.state == "disabled"
        assert (running.listing("PIX-0").quantity, running.listing("PIX-0").active) == (0, False)

        [back] = adapter.submit_quantities([QuantityUpdate("PIX-0", 5, state="disabled", price=30.0)])
        adapter.pending_outcome(back.reference)

        assert back.state == "active"
        assert (running.listing("PIX-0").quantity, running.listing("PIX-0").active) == (5, True)
        assert running.violations() == []


def test_given_an_unknown_offer_when_the_import_completes_then_the_error_report_names_that_sku_only():
    with marketplace() as running:
        adapter = subject(running)
        [_ok, bad] = adapter.submit_quantities([QuantityUpdate("PIX-2", 1, price=30.0),
                                                QuantityUpdate("NOT-AN-OFFER", 1, price=5.0)])

        assert adapter.pending_outcome(bad.reference) == {"NOT-AN-OFFER": "The product does not exist"}
        assert running.violations() == []


def test_given_a_listing_without_a_catalogue_price_when_submitted_then_it_is_refused_before_any_call():
    with marketplace() as running:
        [result] = subject(running).submit_quantities([QuantityUpdate("PIX-0", 4)])
        assert result.status == QuantityStatus.ERROR and "price" in result.message
        assert not [e for e in running.exchanges if e.path == "/api/offers"]


def test_given_a_second_of24_within_the_minute_when_mirakl_throttles_then_the_listings_are_retried_later():
    with mirakl.MiraklStandIn() as running:
        adapter = subject(running)
        adapter.submit_quantities([QuantityUpdate(running.listings[0].sku, 1, price=1.0)])

        [again] = adapter.submit_quantities([QuantityUpdate(running.listings[0].sku, 2, price=1.0)])

        assert again.status == QuantityStatus.RETRY


def test_given_the_offer_as_exported_when_submitted_then_of24_gets_it_back_whole_and_a_restock_drops_our_end_date():
    exported = {"origin-price": "32.00", "state-code": "1", "description": "Lampe", "discount-price": "28.00",
                "discount-start-date": "2099-01-01T00:00:00Z", "leadtime-to-ship": "3", "logistic-class": "L",
                "available-end-date": "2020-01-01T00:00:00Z", "package-quantity": "two"}
    with marketplace() as running:
        adapter = subject(running)

        [back] = adapter.submit_quantities([QuantityUpdate("PIX-0", 4, state="disabled", price=28.0, offer=exported)])
        adapter.pending_outcome(back.reference)

        [sent] = [e.json()["offers"][0] for e in running.exchanges if e.path == "/api/offers"]
        assert {k: sent[k] for k in ("price", "state_code", "description", "discount", "leadtime_to_ship",
                                     "logistic_class")} == {
            "price": 32.0, "state_code": "1", "description": "Lampe",
            "discount": {"price": 28.0, "start_date": "2099-01-01T00:00:00Z"}, "leadtime_to_ship": 3,
            "logistic_class": "L"}
        assert "available_ended" not in sent and "package_quantity" not in sent  # ours, past; and unreadable
        assert (running.listing("PIX-0").quantity, running.listing("PIX-0").active) == (4, True)
        assert running.violations() == []


def test_given_a_full_export_mirakl_refuses_as_too_soon_when_requested_then_a_differential_one_is_asked():
    with marketplace() as running:
        adapter = build_adapter(ChannelAccount("chan-pix", "pixmania", {"base_url": running.url},
                                               {"api_key": mirakl.API_KEY}),
                                policy=RetryPolicy(max_attempts=1, sleep=lambda _s: None), tokens=TokenCache())
        running.last_full_export = datetime.now(UTC)  # asked by another tool this morning
        previous = {"requested_at": "2026-01-01T00:00:00Z", "urls": ["x"], "full_at": "2025-12-30T00:00:00Z"}

        progress = adapter.request_catalogue_after(previous)

        assert progress.details["mode"] == "differential"
        assert adapter.catalogue_source(progress) == "mirakl_offer_changes"
        asked = [e.json() for e in running.exchanges if e.path == mirakl.EXPORT]
        assert [body.get("last_request_date") for body in asked] == [None, "2026-01-01T00:00:00Z"]
        # Mirakl answers a call over its frequency 429 (its rate-limit documentation), a status its
        # OpenAPI document does not list
        assert [v for v in running.violations() if "response 429" not in v] == []
