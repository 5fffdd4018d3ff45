"""Magento 2 against a stand-in as strict as Magento's REST API: the product search carries no stock
item (back-orders are read from the stock item itself), a product's status is store-view scoped
under /rest/<store>/V1 and global under /rest/all/V1, and OAuth 1.0a signatures are verified."""

from __future__ import annotations

import io

import pytest

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import magento
from stocksync.catalogue.reader import SKU, STATE, RangeReport, decompressed, parse_rows, sniff
from stocksync.channels.base import ChannelAccount, ChannelAuthFailed, QuantityStatus, QuantityUpdate
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

NO_WAIT = RetryPolicy(max_attempts=2, base_delay=0.0, sleep=lambda _s: None)
BEARER = {"access_token": magento.ACCESS_TOKEN}
SOURCES = {"loc-main": "default", "loc-overflow": "overflow"}  # both of the stand-in's MSI sources
OAUTH1 = {"consumer_key": magento.OAUTH_CONSUMER_KEY, "consumer_secret": magento.OAUTH_CONSUMER_SECRET,
          "access_token": magento.ACCESS_TOKEN, "access_token_secret": magento.OAUTH_TOKEN_SECRET}


def shop() -> magento.MagentoStandIn:
    return magento.MagentoStandIn(listings=[DemoListing(f"TEE-{n}", f"Tee {n}", 12.0, 6, str(n)) for n in range(2)])


def subject(running: magento.MagentoStandIn, credentials=BEARER, **settings):
    account = ChannelAccount("chan-mage", "magento", {"base_url": running.url, "source_codes": SOURCES, **settings},
                             credentials)
    return build_adapter(account, policy=NO_WAIT, tokens=TokenCache())


def reloaded_state(adapter, sku: str) -> str:
    """The listing's state as the next catalogue load records it."""
    return {listing.sku: listing.state for listing in adapter.listings()}[sku]


def test_given_a_product_back_ordered_at_0_when_the_catalogue_reloads_and_stock_returns_then_back_orders_go_off():
    with shop() as running:
        adapter = subject(running, out_of_stock_mode="zero_backorder")
        [out] = adapter.submit_quantities([QuantityUpdate("TEE-0", 0)])
        assert (out.state, running.listing("TEE-0").backorders) == ("backorders", True)

        state = reloaded_state(adapter, "TEE-0")

        assert state == "backorders"
        [back] = adapter.submit_quantities([QuantityUpdate("TEE-0", 4, state=state)])
        shown = running.listing("TEE-0")
        assert (back.status, back.state) == (QuantityStatus.OK, "active")
        assert (shown.quantity, shown.active, shown.backorders) == (4, True, False)
        assert reloaded_state(adapter, "TEE-0") == "active"
        assert running.violations() == []


def test_given_a_product_back_ordered_at_0_when_its_catalogue_is_loaded_then_the_row_keeps_that_state():
    with shop() as running:
        adapter = subject(running, out_of_stock_mode="zero_backorder")
        adapter.submit_quantities([QuantityUpdate("TEE-0", 0)])
        data = b"".join(adapter.open_catalogue(adapter.request_catalogue()).chunks)

        plan = sniff(io.BytesIO(data), source=adapter.source)
        body, _ = decompressed(io.BytesIO(data))
        body.read(plan.body_offset)
        report = RangeReport()
        states = {row[SKU]: row[STATE] for row in parse_rows(body, plan, report)}

        assert report.errors == []
        assert states == {"TEE-0": "backorders", "TEE-1": "active"}


def test_given_two_store_views_when_stock_runs_out_and_returns_then_every_view_disables_and_enables_it():
    with shop() as running:
        adapter = subject(running)

        adapter.submit_quantities([QuantityUpdate("TEE-0", 0)])

        assert {view: running.active_in("TEE-0", view) for view in magento.STORE_VIEWS} == {"default": False,
                                                                                           "fr": False}
        adapter.submit_quantities([QuantityUpdate("TEE-0", 3, state="disabled")])
        assert {view: running.active_in("TEE-0", view) for view in magento.STORE_VIEWS} == {"default": True,
                                                                                           "fr": True}
        assert running.listing("TEE-0").quantity == 3
        assert running.violations() == []


def test_given_a_status_of_the_default_view_its_own_when_stock_runs_out_and_returns_then_that_view_follows():
    with shop() as running:
        running.view_status["TEE-0"] = {"default": True}  # as writing under /rest/default/V1 used to leave it
        adapter = subject(running)

        adapter.submit_quantities([QuantityUpdate("TEE-0", 0)])

        assert [running.active_in("TEE-0", view) for view in magento.STORE_VIEWS] == [False, False]
        adapter.submit_quantities([QuantityUpdate("TEE-0", 3, state="disabled")])
        assert [running.active_in("TEE-0", view) for view in magento.STORE_VIEWS] == [True, True]
        assert running.violations() == []


def test_given_oauth1_credentials_when_a_quantity_is_synced_then_magento_verifies_the_signatures():
    with shop() as running:
        [result] = subject(running, OAUTH1).submit_quantities([QuantityUpdate("TEE-1", 2)])

        assert result.status == QuantityStatus.OK
        assert running.listing("TEE-1").quantity == 2
        assert all(e.headers["Authorization"].startswith("OAuth ") for e in running.exchanges)
        assert running.violations() == []


def test_given_a_wrong_consumer_secret_when_the_catalogue_is_read_then_the_credentials_are_refused():
    with shop() as running:
        adapter = subject(running, {**OAUTH1, "consumer_secret": "not-the-secret"})

        with pytest.raises(ChannelAuthFailed):
            list(adapter.listings())


def test_given_a_configurable_tee_when_its_catalogue_is_read_then_each_simple_child_names_it_and_its_size():
    tees = [DemoListing(f"TEE-{size}", "Tee", 12.0, 3, str(n), parent="TEE", variation={"Size": size})
            for n, size in enumerate(("S", "M", "L"))]
    with magento.MagentoStandIn(listings=[*tees, DemoListing("MUG", "Mug", 5.0, 2, "9")]) as running:
        listings = {listing.sku: listing for listing in subject(running).listings()}

        assert set(listings) == {"TEE-S", "TEE-M", "TEE-L", "MUG"}  # the configurable is no listing
        assert (listings["TEE-M"].parent, dict(listings["TEE-M"].variation)) == ("TEE", {"Size": "M"})
        assert (listings["MUG"].parent, dict(listings["MUG"].variation)) == ("", {})
        assert listings["TEE-M"].quantity == "3"
        assert running.violations() == []
