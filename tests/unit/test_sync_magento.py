"""Magento 2's stock side against its stand-in: MSI source items per mapped source or the legacy
stock item; out of stock disables the product or keeps it at 0 with back-orders; restock undoes it."""

from __future__ import annotations

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import magento
from stocksync.channels.base import ChannelAccount, QuantityStatus, QuantityUpdate
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda _s: None)
SOURCES = {"loc-main": "default", "loc-overflow": "overflow"}


def shop(count: int = 3) -> magento.MagentoStandIn:
    return magento.MagentoStandIn(listings=[DemoListing(f"TEE-{n}", f"Tee {n}", 12.0, 6, str(n)) for n in range(count)])


def subject(running: magento.MagentoStandIn, **settings):
    account = ChannelAccount("chan-mage", "magento", {"base_url": running.url, "source_codes": SOURCES, **settings},
                             {"access_token": magento.ACCESS_TOKEN})
    return build_adapter(account, policy=NO_WAIT, tokens=TokenCache())


def update(sku: str, quantity: int, state: str = "active", **locations: int) -> QuantityUpdate:
    return QuantityUpdate(sku, quantity, state=state, locations={f"loc-{k}": v for k, v in locations.items()})


def writes(running: magento.MagentoStandIn) -> list[str]:
    return [f"{e.method} {e.path.removeprefix(magento.REST)}" for e in running.exchanges if e.method != "GET"]


def test_given_msi_when_quantities_change_then_one_call_sets_every_mapped_source_of_each_listing():
    with shop() as running:
        results = subject(running).submit_quantities([update("TEE-0", 5, main=4, overflow=6),
                                                      update("TEE-1", 9, main=9, overflow=0)])

        assert {r.status for r in results} == {QuantityStatus.OK}
        assert writes(running) == ["POST /inventory/source-items"]
        assert running.sources["TEE-0"] == {"default": 4, "overflow": 1}  # a limit took 5 of 10: sums to 5
        assert running.sources["TEE-1"] == {"default": 9, "overflow": 0}
        assert running.listing("TEE-0").quantity == 5
        assert running.violations() == []


def test_given_one_unknown_sku_when_magento_refuses_the_batch_then_only_that_listing_shows_the_error():
    with shop() as running:
        results = subject(running).submit_quantities([update("TEE-0", 3, main=3), update("GONE", 1, main=1),
                                                      update("TEE-2", 2, main=2)])

        assert [r.status for r in results] == [QuantityStatus.OK, QuantityStatus.ERROR, QuantityStatus.OK]
        assert "doesn't exist" in results[1].message
        assert running.listing("TEE-2").quantity == 2
        assert running.violations() == []


def test_given_disable_mode_when_out_of_stock_then_the_product_is_disabled_and_a_restock_enables_it():
    with shop() as running:
        adapter = subject(running)

        [out] = adapter.submit_quantities([update("TEE-0", 0, main=0)])

        assert (out.status, out.state) == (QuantityStatus.OK, "disabled")
        assert (running.listing("TEE-0").quantity, running.listing("TEE-0").active) == (0, False)

        [back] = adapter.submit_quantities([update("TEE-0", 4, state="disabled", main=4)])

        assert (back.status, back.state) == (QuantityStatus.OK, "active")
        assert (running.listing("TEE-0").quantity, running.listing("TEE-0").active) == (4, True)
        assert writes(running) == ["POST /inventory/source-items", "PUT /rest/all/V1/products/TEE-0",
                                   "POST /inventory/source-items", "PUT /rest/all/V1/products/TEE-0"]
        assert running.violations() == []


def test_given_zero_backorder_mode_when_out_of_stock_then_enabled_at_0_with_backorders_until_restocked():
    with shop() as running:
        adapter = subject(running, out_of_stock_mode="zero_backorder")

        [out] = adapter.submit_quantities([update("TEE-0", 0, main=0)])

        shown = running.listing("TEE-0")
        assert (out.status, out.state) == (QuantityStatus.OK, "backorders")
        assert (shown.quantity, shown.active, shown.backorders) == (0, True, True)

        adapter.submit_quantities([update("TEE-0", 3, state="backorders", main=3)])

        assert (shown.quantity, shown.active, shown.backorders) == (3, True, False)
        assert running.violations() == []


def test_given_the_legacy_inventory_when_submitted_then_the_stock_item_is_read_and_written_back():
    with shop() as running:
        adapter = subject(running, inventory_api="legacy")

        results = adapter.submit_quantities([update("TEE-1", 7), update("TEE-2", 0)])

        assert [(r.status, r.state) for r in results] == [(QuantityStatus.OK, None), (QuantityStatus.OK, "disabled")]
        assert running.listing("TEE-1").quantity == 7
        assert (running.listing("TEE-2").quantity, running.listing("TEE-2").active) == (0, False)
        sent = writes(running)  # the two listings' calls go at once: each listing's in order
        assert sorted(sent) == ["PUT /products/TEE-1/stockItems/2", "PUT /products/TEE-2/stockItems/3",
                                "PUT /rest/all/V1/products/TEE-2"]
        assert sent.index("PUT /products/TEE-2/stockItems/3") < sent.index("PUT /rest/all/V1/products/TEE-2")
        assert running.violations() == []


def test_given_magento_throttles_when_submitted_then_the_listings_are_retried_later():
    with shop() as running:
        running.fail_next("save_source_items", 429, 429, 429)
        results = subject(running).submit_quantities([update("TEE-0", 1, main=1)])
        assert [r.status for r in results] == [QuantityStatus.RETRY]
