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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e

WAIT_S = 60
STANDIN_OF = {"Amazon UK": "amazon", "eBay UK": "ebay", "Magento store": "magento", "Pixmania": "mirakl",
              "Rakuten UK": "rakuten", "Web shop": "website"}


def wait_for(what: str, check: Callable[[], list[str]], timeout: float = WAIT_S) -> None:
    """Poll `check` (the problems still seen, [] when done) until it passes or `timeout` runs out."""
    deadline = time.monotonic() + timeout
    problems = check()
    while problems:
        if time.monotonic() > deadline:
            shown = "\n  ".join(problems[:15])
            pytest.fail(f"{what}: not within {timeout:.0f} s; still wrong:\n  {shown}")
        time.sleep(0.5)
        problems = check()


@dataclass
class Demo:
    stack: Any  # conftest.LocalStack
    http: requests.Session
    channels: dict[str, str]  # name -> channel id
    locations: dict[str, str]  # name -> location id

    @property
    def api(self) -> str:
        return self.stack.api_url

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(f"{self.api}{path}", params=params, timeout=10)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text[:300]}"
        return answer.json()

    def send(self, method: str, path: str, body: Any, status: int = 200) -> Any:
        answer = self.http.request(method, f"{self.api}{path}", json=body, timeout=10)
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text[:300]}"
        return answer.json()

    def item_id(self, sku: str) -> str:
        found = [i for i in self.get("/items", q=sku, limit=50)["items"] if i["sku"] == sku]
        assert found, f"the demo seller has no item {sku}"
        return found[0]["item_id"]

    def set_stock(self, sku: str, **levels: int) -> None:
        """Levels by location: main=..., overflow=..."""
        names = {"main": "Main warehouse", "overflow": "Overflow store"}
        item_id = self.item_id(sku)
        for where, level in levels.items():
            self.send("PUT", f"/items/{item_id}/stock/{self.locations[names[where]]}", {"level": level})

    def available(self, sku: str) -> dict[str, int]:
        rows = self.get(f"/items/{self.item_id(sku)}/available")["channels"]
        return {row["name"]: row["available"] for row in rows}

    def listing(self, channel: str, sku: str) -> dict[str, Any]:
        return self.get(f"/channels/{self.channels[channel]}/listings/{sku}")

    def linked(self, channel: str) -> list[dict[str, Any]]:
        rows, cursor = [], None
        while True:
            page = self.get(f"/channels/{self.channels[channel]}/listings", linked="true", limit=200,
                            **({"cursor": cursor} if cursor else {}))
            rows += page["listings"]
            cursor = page.get("next_cursor")
            if not cursor:
                return rows

    def shown(self, channel: str) -> dict[str, dict[str, Any]]:
        """What the channel's stand-in shows of each listing, by SKU."""
        url = self.stack.standins[STANDIN_OF[channel]]
        answer = requests.get(f"{url}/_standin/listings", timeout=10)
        assert answer.status_code == 200, f"{channel} stand-in: {answer.status_code}"
        return {row["sku"]: row for row in answer.json()["listings"]}

    def standin(self, channel: str, path: str, body: Any = None) -> Any:
        url = f"{self.stack.standins[STANDIN_OF[channel]]}/_standin/{path}"
        answer = requests.post(url, json=body, timeout=10) if body is not None else requests.get(url, timeout=10)
        assert answer.status_code == 200, f"{url}: {answer.status_code} {answer.text[:200]}"
        return answer.json()

    def mismatches(self, skus: set[str], channels: set[str] | None = None) -> list[str]:
        """Every synced linked listing of these items (by item SKU) not showing what it should: the
        target quantity, or, at 0, nothing for sale (an ended eBay listing keeps its last quantity)."""
        wanted = {sku: self.available(sku) for sku in skus}
        problems = []
        for channel in channels or set(STANDIN_OF):
            shown = self.shown(channel)
            for row in self.linked(channel):
                item_sku = (row["linked_item"] or {}).get("sku")
                if item_sku not in wanted or row["fba"] or row["ignore_sync"]:
                    continue
                target, seen = wanted[item_sku][channel], shown.get(row["sku"])
                if seen is None:
                    problems.append(f"{channel} {row['sku']}: the stand-in has no such listing")
                elif seen["active"] != (target > 0) or (target > 0 and seen["quantity"] != target):
                    problems.append(f"{channel} {row['sku']}: shows {seen['quantity']} "
                                    f"({'active' if seen['active'] else 'inactive'}), should show {target}; "
                                    f"sync {row['sync']}")
        return problems


@pytest.fixture(scope="module")
def demo(local_stack: Any) -> Demo:
    http = local_stack.session()
    assert set(STANDIN_OF.values()) <= set(local_stack.standins), f"stand-ins in the banner: {local_stack.standins}"
    listed = http.get(f"{local_stack.api_url}/channels", timeout=10).json()["channels"]
    locations = http.get(f"{local_stack.api_url}/locations", timeout=10).json()["locations"]
    demo = Demo(local_stack, http, {c["name"]: c["channel_id"] for c in listed},
                {loc["name"]: loc["location_id"] for loc in locations})
    assert set(STANDIN_OF) <= set(demo.channels), f"demo channels: {sorted(demo.channels)}"

    def not_settled() -> list[str]:
        problems = []
        for name, channel_id in sorted(demo.channels.items()):
            if name not in STANDIN_OF:
                continue
            summary = demo.get(f"/channels/{channel_id}/sync")
            # Pixmania takes one offers update a minute: its first sync may still be pending here.
            unsettled = not summary["linked"] or (name not in SLOW and (
                summary["pending"] or summary["processing"] or summary["errors"]))
            if unsettled:
                problems.append(f"{name}: {summary}")
        return problems

    wait_for("the demo channels' catalogues loaded, auto-linked and first synced", not_settled)
    return demo


FIRST_CHANGE = {"MUG-WHITE": {"main": 31, "overflow": 0}, "TEE-RED": {"main": 4, "overflow": 2}}
# Mirakl takes one OF24 offers update a minute (as the real API documents), processed later: Pixmania
# shows a change up to a minute after another one, too slow for this suite; the stock sync tests
# (tests/integration/test_stock_sync_channels.py) follow an offer to the Mirakl stand-in instead.
SLOW = {"Pixmania"}


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
