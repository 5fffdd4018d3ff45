"""Stock out on the local stack: a stock change made through the API reaches every linked listing
on every channel stand-in, as a buyer on that channel would see it.

The demo channels load their catalogues and auto-link on their own (the schedules run sped up,
see conftest.py); the module first waits for that. What each listing should show comes from the
API itself (`GET /items/{id}/available`, per channel: no listing limits are set on the demo); what
it shows comes from the stand-ins' read-only `GET /_standin/listings`. Every wait is bounded and
says, when it runs out, what was still wrong.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from demo_support import SLOW, STANDIN_OF, WAIT_S, Demo, settled_demo, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(local_stack: Any) -> Demo:
    return settled_demo(local_stack)


FIRST_CHANGE = {"MUG-WHITE": {"main": 31, "overflow": 0}, "TEE-RED": {"main": 4, "overflow": 2}}


def test_given_linked_channels_when_stock_changes_then_every_stand_in_shows_it(demo):
    for sku, levels in FIRST_CHANGE.items():
        demo.set_stock(sku, **levels)

    wait_for("the new quantities on every linked listing (but Pixmania's)",
             lambda: demo.mismatches(set(FIRST_CHANGE), set(STANDIN_OF) - SLOW), timeout=20)
    on = {channel for channel in STANDIN_OF for row in demo.linked(channel)
          if (row["linked_item"] or {}).get("sku") in FIRST_CHANGE}
    assert on == set(STANDIN_OF), f"the changed items are linked only on {sorted(on)}"


def test_given_ebay_and_magento_listings_when_sold_out_then_ended_or_disabled_and_back_on_restock(demo):
    skus = {"BOTTLE-BLUE": "inventory_api", "BOTTLE-RED": "trading"}  # the eBay stand-in's kinds
    before = demo.shown("eBay UK")
    for sku in skus:
        demo.set_stock(sku, main=0, overflow=0)

    def out_of_stock() -> list[str]:
        problems = [f"{channel} {sku}: {row}" for channel in ("eBay UK", "Magento store") for sku in skus
                    if (row := demo.shown(channel)[sku])["active"]]
        problems += [f"Magento {sku}: {row}" for sku in skus if (row := demo.shown("Magento store")[sku])["quantity"]]
        return problems or demo.mismatches(set(skus), {"eBay UK", "Magento store"})

    wait_for("eBay listings ended and Magento products disabled at 0", out_of_stock)
    for sku in skus:
        demo.set_stock(sku, main=7)

    def relisted() -> list[str]:
        problems = demo.mismatches(set(skus), {"eBay UK", "Magento store"})
        shown = demo.shown("eBay UK")
        for sku, kind in skus.items():
            if shown[sku]["listing_id"] == before[sku]["listing_id"]:
                problems.append(f"eBay {sku} ({kind}): still listing {shown[sku]['listing_id']}, not relisted")
            elif demo.listing("eBay UK", sku)["listing_id"] != shown[sku]["listing_id"]:
                problems.append(f"eBay {sku}: relisted as {shown[sku]['listing_id']}, the mapping has "
                                f"{demo.listing('eBay UK', sku)['listing_id']}")
        return problems

    wait_for("eBay listings relisted under a new id (followed) and Magento products enabled", relisted)
    # The next change goes to the relisted listing.
    for sku in skus:
        demo.set_stock(sku, main=3)
    wait_for("a change after the relist", lambda: demo.mismatches(set(skus), {"eBay UK", "Magento store"}))


def test_given_fba_and_ignore_sync_listings_when_stock_changes_then_they_are_untouched(demo):
    demo.send("PUT", f"/channels/{demo.channels['Amazon UK']}/listings/MUG-BLACK-FBA/link", {"sku": "CAP-RED"})
    demo.send("PATCH", f"/channels/{demo.channels['Web shop']}/listings/CAP-RED", {"ignore_sync": True})
    fba, ignored = demo.shown("Amazon UK")["MUG-BLACK-FBA"], demo.shown("Web shop")["CAP-RED"]

    demo.set_stock("CAP-RED", main=ignored["quantity"] + 13, overflow=0)

    synced = {"Amazon UK", "eBay UK", "Magento store"}
    wait_for("CAP-RED on its synced listings", lambda: demo.mismatches({"CAP-RED"}, synced))
    time.sleep(2)  # anything else the run sent has reached the stand-ins by now
    assert demo.shown("Amazon UK")["MUG-BLACK-FBA"] == fba
    assert demo.shown("Web shop")["CAP-RED"] == ignored
    assert demo.listing("Amazon UK", "MUG-BLACK-FBA")["sync"]["submitted_quantity"] is None
    assert demo.available("CAP-RED")["Web shop"] != ignored["quantity"]


def test_given_the_whole_flow_then_no_stand_in_saw_a_call_outside_its_contract(demo):
    # A stand-in's own throttling answer (429, e.g. Mirakl's one offers update a minute) is real channel
    # behaviour that the published specs do not list; every other departure from them counts.
    seen = {channel: [v for v in demo.standin(channel, "violations")["violations"] if "response 429" not in v]
            for channel in STANDIN_OF}
    assert not any(seen.values()), seen


FAULTY = {"Web shop": "post_stock", "Rakuten UK": "post_inventory"}  # each stand-in's stock-update endpoint
MAX_FAULT_ROUNDS = 12


def test_given_stand_ins_failing_30_percent_of_stock_calls_when_stock_changes_then_every_listing_converges(demo):
    """Each stand-in answers 30 % of its stock calls with 500, 503 or 429 (seeded: its first one
    fails). Rounds of changes go on until each has really served faults (a round sends a call or two
    per channel, so a few rounds at most); every round must converge within the usual wait. Last in
    the module: the other tests see stand-ins that do not fail."""
    skus = {"MUG-RED", "TEE-BLACK", "TEE-WHITE"}  # linked on both
    served: dict[str, int] = {}
    try:
        for channel, endpoint in FAULTY.items():
            switched = demo.standin(channel, "faults", {"rate": 0.3, "statuses": [500, 503, 429],
                                                        "endpoints": [endpoint], "seed": 1})
            assert switched["rate"] == 0.3 and switched["endpoints"] == [endpoint], switched
        for round_ in range(1, MAX_FAULT_ROUNDS + 1):
            for n, sku in enumerate(sorted(skus)):
                demo.set_stock(sku, main=10 + 3 * round_ + n, overflow=0)
            wait_for(f"round {round_} of changes through failing stand-ins",
                     lambda: demo.mismatches(skus, set(FAULTY)), timeout=WAIT_S)
            served = {channel: demo.standin(channel, "faults")["served"] for channel in FAULTY}
            if all(served.values()):
                break
    finally:
        for channel in FAULTY:
            demo.standin(channel, "faults", {"rate": 0})
    assert all(served.values()), f"faults served after {MAX_FAULT_ROUNDS} rounds: {served}"
    for channel, endpoint in FAULTY.items():
        assert demo.standin(channel, "faults")["rate"] == 0.0, f"{channel}'s faults are still on ({endpoint})"
