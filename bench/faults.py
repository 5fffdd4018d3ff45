"""Convergence after network faults: how soon every channel shows what it may sell once a spell of
network faults ends.

  faults_converge_s   the seconds from the end of FAULT_S seconds of faults on every channel's stand-in
                      (30 % of their calls: timeouts held past our client's 60 s read timeout, slow
                      answers, connection resets, 5xx; `FaultPlan` in infrastructure/standins/base.py,
                      seed SEED) until every listing of ITEMS on the Amazon, eBay, Magento, Rakuten and
                      web-shop stand-ins shows what the API says that channel may sell of it (or, at 0,
                      is not for sale), as read from their `GET /_standin/listings` about twice a second
  faults_injected     how many faults the stand-ins served in those FAULT_S seconds

During the faults the seller sets the stock of ITEMS through the API every CHANGE_EVERY_S seconds
(each change a new level for every item). A call held when the faults end still waits out the read
timeout, so the figure is at least what is left of that minute for the last call held.

How it runs: the local stack (`python -m infrastructure.local_stack`, fresh), its schedules SPEEDUP
times faster as the e2e tests run them (the scheduled stock sync every 3.75 s): set-up waits until each
channel is linked and first synced and shows the first levels. Pixmania is faulted but not measured
(one OF24 offers update a minute, by contract). Not measured: start-up, set-up. `python -m bench faults`
runs it (about 3 minutes here: 41.9 s to converge after 11 faults, on one run).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import requests

from bench import paced
from infrastructure.local.harness import START_TIMEOUT_S, StackProcess
from infrastructure.standins.base import FAULT_KINDS

SPEEDUP = 240
FAULT_S, CHANGE_EVERY_S, SEED = 20.0, 2.0, 12
FAULTS = {"rate": 0.3, "kinds": list(FAULT_KINDS), "seed": SEED, "for_s": FAULT_S, "slow_s": 2.0}
ITEMS = [f"{code}-{colour}" for code in ("MUG", "TEE") for colour in ("BLACK", "WHITE", "RED", "BLUE", "GREEN")]
MEASURED = {"Amazon UK": "amazon", "eBay UK": "ebay", "Magento store": "magento", "Rakuten UK": "rakuten",
            "Web shop": "website"}
FAULTED = {**MEASURED, "Pixmania": "mirakl"}
STOP_TIMEOUT_S, SETTLE_TIMEOUT_S, CONVERGE_TIMEOUT_S = 90, 180, 300


class Stack:
    """A fresh local stack, and a client of its API and stand-ins."""

    def __init__(self) -> None:
        self.process = StackProcess({"STOCKSYNC_API_KEY": "bench", "STOCKSYNC_SCHEDULE_SPEEDUP": str(SPEEDUP),
                                     "POWERTOOLS_LOG_LEVEL": "WARNING"},
                                    start_timeout_s=paced(START_TIMEOUT_S))
        self.http = self.process.session()
        self.api = self.process.api_url
        self.channels = {c["name"]: c["channel_id"] for c in self.get("/channels")["channels"]}
        self.locations = {loc["name"]: loc["location_id"] for loc in self.get("/locations")["locations"]}
        self.item_ids = {sku: next(i["item_id"] for i in self.get("/items", q=sku, limit=50)["items"]
                                   if i["sku"] == sku) for sku in ITEMS}

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(f"{self.api}{path}", params=params, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def standin(self, channel: str, route: str, body: Any = None) -> Any:
        url = f"{self.process.standins[FAULTED[channel]]}/_standin/{route}"
        answer = requests.post(url, json=body, timeout=30) if body is not None else requests.get(url, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def set_levels(self, level: int) -> None:
        for item_id in self.item_ids.values():
            for where, units in (("Main warehouse", level), ("Overflow store", 0)):
                self.http.put(f"{self.api}/items/{item_id}/stock/{self.locations[where]}", json={"level": units},
                              timeout=30).raise_for_status()

    def wrong(self) -> list[str]:
        """Each measured channel's listing of each item that does not show what the channel may sell."""
        shown = {channel: {row["sku"]: row for row in self.standin(channel, "listings")["listings"]}
                 for channel in MEASURED}
        problems = []
        for sku, item_id in self.item_ids.items():
            for row in self.get(f"/items/{item_id}/available")["channels"]:
                seen, target = shown.get(row["name"], {}).get(sku), row["available"]
                if row["name"] in MEASURED and seen is not None and (
                        seen["active"] != (target > 0) or (target > 0 and seen["quantity"] != target)):
                    problems.append(f"{row['name']} {sku}: shows {seen['quantity']}, should show {target}")
        return problems

    def wait(self, what: str, check: Any, timeout_s: float) -> None:
        timeout_s = paced(timeout_s)
        deadline = time.monotonic() + timeout_s
        while problems := check():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: not within {timeout_s:.0f} s: {problems[:10]}")
            time.sleep(0.5)

    def unsettled(self) -> list[str]:
        return [name for name in MEASURED if (summary := self.get(f"/channels/{self.channels[name]}/sync"))
                and (not summary["linked"] or summary["pending"] or summary["processing"] or summary["errors"])]


def measure() -> dict[str, float]:
    """The figures (see the module docstring), on a local stack started for them and stopped after."""
    stack = Stack()
    try:
        stack.wait("the demo channels linked and first synced", stack.unsettled, SETTLE_TIMEOUT_S)
        stack.set_levels(30)
        stack.wait("the first levels on every channel", stack.wrong, SETTLE_TIMEOUT_S)
        try:
            for channel in FAULTED:
                stack.standin(channel, "faults", FAULTS)
            started = time.monotonic()
            for change in range(int(FAULT_S / CHANGE_EVERY_S)):
                time.sleep(max(0.0, started + change * CHANGE_EVERY_S - time.monotonic()))
                stack.set_levels(20 + change % 2 * 7 + change)
            time.sleep(max(0.0, started + FAULT_S - time.monotonic()))
            injected = sum(stack.standin(channel, "faults")["served"] for channel in FAULTED)
        finally:
            for channel in FAULTED:
                stack.standin(channel, "faults", {"rate": 0})
        stopped = time.monotonic()
        stack.wait("every channel showing what it may sell after the faults", stack.wrong, CONVERGE_TIMEOUT_S)
        converged = time.monotonic() - stopped
        print(f"faults bench: {injected} faults in {FAULT_S:.0f} s on {len(FAULTED)} stand-ins; every listing of "
              f"{len(ITEMS)} items right {converged:.1f} s after they stopped", file=sys.stderr)
    finally:
        stack.process.stop(paced(STOP_TIMEOUT_S))
    return {"faults_converge_s": round(converged, 1), "faults_injected": injected}
