"""Pixmania (Mirakl) against a stand-in as strict as Mirakl's seller API: OF24 replaces the whole
offer (a field not sent is reset), and OF52's full export leaves inactive offers out unless asked."""

from __future__ import annotations

import csv
import io
import json

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import mirakl
from stocksync.catalogue.reader import OFFER, PRICE, SKU, STATE, RangeReport, parse_rows, sniff
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
    return {row["shop-sku"]: row for row in csv.DictReader(io.StringIO(export_text(adapter)), delimiter=";")}


def export_text(adapter, previous: dict | None = None) -> str:
    progress = adapter.request_catalogue_after(previous or {})
    for _ in range(5):
        if progress.status == CatalogueStatus.DONE:
            break
        progress = adapter.poll_catalogue(progress.report_id, progress.details)
    return b"".join(adapter.open_catalogue(progress).chunks).decode()


def loaded_updates(adapter, quantities: dict[str, int]) -> list[QuantityUpdate]:
    """What stock sync sends after a catalogue load: the listing's price and its offer as exported,
    read from OF52's file by the catalogue reader, with the new quantities."""
    body = export_text(adapter).encode()
    plan = sniff(io.BytesIO(body), source="mirakl_offers")
    rows = {row[SKU]: row for row in parse_rows(io.BytesIO(body[plan.body_offset:]), plan, RangeReport())}
    return [QuantityUpdate(sku, quantity, state=rows[sku][STATE], price=rows[sku][PRICE],
                           offer=json.loads(rows[sku][OFFER] or "{}")) for sku, quantity in quantities.items()]


def test_given_an_offer_with_the_sellers_discount_and_lead_time_when_its_stock_changes_then_mirakl_keeps_them():
    with marketplace() as running:
        before = dict(running.offer_fields["PIX-0"])
        adapter = subject(running)

        [update] = loaded_updates(adapter, {"PIX-0": 7})
        submitted(adapter, update)

        assert running.listing("PIX-0").quantity == 7
        # every field OF52 exports comes back; min_quantity_alert and internal_description it does not export
        assert running.offer_fields["PIX-0"] == {name: value for name, value in before.items()
                                                 if mirakl.SELLER_FIELDS[name]}
        assert running.violations() == []


def test_given_an_offer_in_its_discount_period_when_its_stock_changes_then_its_price_stays_the_original_one():
    with marketplace() as running:
        running.change_offer("PIX-1", discount={"price": 24.0, "start_date": "2020-01-01T00:00:00Z",
                                                "end_date": "2099-01-01T00:00:00Z"})
        adapter = subject(running)
        [update] = loaded_updates(adapter, {"PIX-1": 5})
        assert update.price == 24.0  # OF52's price is the discounted one

        submitted(adapter, update)

        assert running.listing("PIX-1").price == 30.0
        assert running.offer_fields["PIX-1"]["discount"]["price"] == 24.0
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
