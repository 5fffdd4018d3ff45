"""What the e2e modules share about the demo seller on the local stack (conftest.py starts it): the
`Demo` helper over the API and the stand-ins' control routes, bounded waits that say what was still
wrong, and `settled_demo`, which waits until the demo channels have loaded their catalogues,
auto-linked and first synced.

What each listing should show comes from the API itself (`GET /items/{id}/available`, per channel:
no listing limits are set on the demo); what it shows comes from the stand-ins' read-only
`GET /_standin/listings`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

WAIT_S = 60
STANDIN_OF = {"Amazon UK": "amazon", "eBay UK": "ebay", "Magento store": "magento", "Pixmania": "mirakl",
              "Rakuten UK": "rakuten", "Web shop": "website"}
# Mirakl takes one OF24 offers update a minute (as the real API documents), processed later: Pixmania
# shows a change up to a minute after another one, too slow for these suites; the stock sync tests
# (tests/integration/test_stock_sync_channels.py) follow an offer to the Mirakl stand-in instead.
SLOW = {"Pixmania"}


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
    stack: Any  # infrastructure.local.harness.StackProcess
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

    def standin(self, channel: str, path: str, body: Any = None, status: int = 200) -> Any:
        url = f"{self.stack.standins[STANDIN_OF[channel]]}/_standin/{path}"
        answer = requests.post(url, json=body, timeout=10) if body is not None else requests.get(url, timeout=10)
        assert answer.status_code == status, f"{url}: {answer.status_code} {answer.text[:200]}"
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


def settled_demo(local_stack: Any) -> Demo:
    """The demo seller, once its channels' catalogues loaded, auto-linked and first synced (Pixmania's
    first sync may still be pending: one offers update a minute)."""
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
            unsettled = not summary["linked"] or (name not in SLOW and (
                summary["pending"] or summary["processing"] or summary["errors"]))
            if unsettled:
                problems.append(f"{name}: {summary}")
        return problems

    wait_for("the demo channels' catalogues loaded, auto-linked and first synced", not_settled)
    return demo
