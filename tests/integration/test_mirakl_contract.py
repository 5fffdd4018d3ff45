"""Pixmania (Mirakl) against a stand-in as strict as Mirakl's seller API: OF24 replaces the whole
offer (a field not sent is reset), and OF52's full export leaves inactive offers out unless asked."""

from __future__ import annotations

import csv
import io

import pytest

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import mirakl
from stocksync.channels.base import CatalogueStatus, ChannelAccount, QuantityUpdate
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda _s: None)


def marketplace() -> mirakl.MiraklStandIn:
    standin = mirakl.MiraklStandIn(listings=[DemoListing(f"PIX-{n}", f"Lamp {n}", 30.0, 2, str(n)) for n in range(3)])
    standin.limits = {**standin.limits, "update_offers": (1 / 60, 3)}  # a few OF24 calls inside one test
    return standin


def subject(running: mirakl.MiraklStandIn):
    account = ChannelAccount("chan-pix", "pixmania", {"base_url": running.url}, {"api_key": mirakl.API_KEY})
    return build_adapter(account, policy=NO_WAIT, tokens=TokenCache())


def submitted(adapter, update: QuantityUpdate) -> None:
    [result] = adapter.submit_quantities([update])
    assert adapter.pending_outcome(result.reference) == {}


def exported_offers(adapter) -> dict[str, dict[str, str]]:
    """A catalogue load's OF52 / OF53 / OF54 round, the offers by shop SKU."""
    progress = adapter.request_catalogue()
    for _ in range(5):
        if progress.status == CatalogueStatus.DONE:
            break
        progress = adapter.poll_catalogue(progress.report_id, progress.details)
    body = b"".join(adapter.open_catalogue(progress).chunks).decode()
    return {row["shop-sku"]: row for row in csv.DictReader(io.StringIO(body), delimiter=";")}


@pytest.mark.xfail(strict=True, reason="OF24 needs the whole offer as last exported: the listing keeps only its "
                                       "price (see the Pixmania adapter's note on OF24)")
def test_given_an_offer_with_the_sellers_discount_and_lead_time_when_its_stock_changes_then_mirakl_keeps_them():
    with marketplace() as running:
        before = dict(running.offer_fields["PIX-0"])
        adapter = subject(running)

        submitted(adapter, QuantityUpdate("PIX-0", 7, price=30.0))

        assert running.listing("PIX-0").quantity == 7
        assert running.offer_fields["PIX-0"] == before
        assert running.violations() == []


def test_given_an_offer_we_disabled_when_the_catalogue_reloads_and_stock_returns_then_it_is_active_again():
    with marketplace() as running:
        adapter = subject(running)
        submitted(adapter, QuantityUpdate("PIX-0", 0, price=30.0))
        assert running.listing("PIX-0").active is False

        offers = exported_offers(adapter)

        assert offers["PIX-0"]["active"] == "false"  # still in the catalogue, so its listing is kept
        assert set(offers) == {"PIX-0", "PIX-1", "PIX-2"}
        submitted(adapter, QuantityUpdate("PIX-0", 4, state="disabled", price=30.0))
        assert (running.listing("PIX-0").quantity, running.listing("PIX-0").active) == (4, True)
        assert running.violations() == []
