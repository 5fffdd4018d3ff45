"""`python -m infrastructure.demo_sale` (`make demo-sale`): the headline demo against a running `make run`.

A buyer orders one unit of a demo SKU (MUG-BLACK unless `--sku`) on the Amazon stand-in, as
`POST <amazon>/_standin/orders` does; then every demo channel's quantity for that product is shown,
before and after, polled until the other channels' stand-ins show the unit gone (at most `--wait`
seconds). Pixmania (Mirakl) takes offer updates once a minute and shows them once imported, so it
may show the sale only later; it is reported, not waited for.

Where the stack is comes from the variables the banner's `export` line sets (API, KEY, AMAZON,
EBAY, ...), else from the file the running stack writes (`harness.state_file`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from infrastructure.local.harness import state_file

STANDIN_OF_TYPE = {"amazon": "amazon", "ebay": "ebay", "magento": "magento", "pixmania": "mirakl",
                   "rakuten": "rakuten", "generic": "website"}
SLOW_TYPES = {"pixmania"}  # one OF24 offers update a minute, shown once the import is processed
DEFAULT_SKU = "MUG-BLACK"
WAIT_S = 30.0


class DemoSaleError(RuntimeError):
    """The stack is not reachable, or the sale could not be made; the message says why."""


@dataclass(frozen=True)
class Stack:
    api_url: str
    api_key: str
    standins: dict[str, str]  # stand-in name -> base URL

    @classmethod
    def find(cls, environ: Mapping[str, str]) -> Stack:
        """From the banner's variables, else from the running stack's state file."""
        if environ.get("API") and environ.get("KEY") and environ.get("AMAZON"):
            standins = {name: environ[name.upper()] for name in STANDIN_OF_TYPE.values() if environ.get(name.upper())}
            return cls(environ["API"], environ["KEY"], standins)
        path = state_file(environ)
        try:
            where = json.loads(path.read_text()) if path else None
        except (OSError, ValueError):
            where = None
        if where is None:
            raise DemoSaleError(f"no running local stack found: start it with `make run` (it writes {path}), "
                                "or paste the `export` line its banner printed")
        return cls(where["api_url"], where["api_key"], where["standins"])


class DemoSale:
    def __init__(self, stack: Stack, sku: str) -> None:
        self.stack = stack
        self.sku = sku
        self.http = requests.Session()
        self.http.headers["x-api-key"] = stack.api_key

    def get(self, path: str, **params: Any) -> Any:
        try:
            answer = self.http.get(f"{self.stack.api_url}{path}", params=params, timeout=10)
        except requests.ConnectionError:
            raise DemoSaleError(f"the API at {self.stack.api_url} does not answer: is `make run` running?") from None
        if answer.status_code != 200:
            raise DemoSaleError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def channels(self) -> dict[str, str]:
        """Channel name -> the stand-in that plays it, for every enabled channel on a stand-in."""
        rows = self.get("/channels")["channels"]
        return {row["name"]: STANDIN_OF_TYPE[row["type"]] for row in rows
                if row["enabled"] and STANDIN_OF_TYPE.get(row["type"]) in self.stack.standins}

    def shown(self, standin: str) -> int | None:
        """What the stand-in shows a buyer of the listing with this SKU: its quantity, 0 when not for sale."""
        answer = requests.get(f"{self.stack.standins[standin]}/_standin/listings", timeout=10)
        answer.raise_for_status()
        row = next((row for row in answer.json()["listings"] if row["sku"] == self.sku), None)
        if row is None:
            return None
        return int(row["quantity"]) if row["active"] else 0

    def buy(self) -> dict[str, Any]:
        answer = requests.post(f"{self.stack.standins['amazon']}/_standin/orders",
                               json={"sku": self.sku, "quantity": 1}, timeout=10)
        if answer.status_code != 201:
            raise DemoSaleError(f"the Amazon stand-in refused the order: {answer.status_code} {answer.text[:300]}")
        return answer.json()


def run(stack: Stack, sku: str, wait_s: float, out: Any = sys.stdout) -> int:
    sale = DemoSale(stack, sku)
    channels = sale.channels()
    amazon = next((name for name, standin in channels.items() if standin == "amazon"), None)
    if amazon is None:
        raise DemoSaleError("the stack has no enabled Amazon channel (was it started with STOCKSYNC_SEED=0?)")
    before = {name: sale.shown(standin) for name, standin in channels.items()}
    order = sale.buy()
    print(f"A buyer ordered 1 x {sku} on the Amazon stand-in: order {order['order_id']}", file=out)
    slow = {row["name"] for row in sale.get("/channels")["channels"] if row["type"] in SLOW_TYPES}
    followed = {name for name in channels if before[name] and name != amazon and name not in slow}
    started = time.monotonic()
    after, dropped_at = dict(before), {}
    while True:
        elapsed = time.monotonic() - started
        after = {name: sale.shown(standin) for name, standin in channels.items()}
        for name in followed - dropped_at.keys():
            if after[name] is not None and after[name] < (before[name] or 0):
                dropped_at[name] = elapsed
        if dropped_at.keys() >= followed or elapsed > wait_s:
            break
        time.sleep(0.25)
    print(f"{'channel':<16}{'before':>8}{'after':>8}", file=out)
    for name in sorted(channels):
        note = ("the buyer's order" if name == amazon else
                f"dropped within {dropped_at[name]:.1f} s" if name in dropped_at else
                "no listing of this SKU" if before[name] is None else
                "nothing to sell" if not before[name] else
                "later: Mirakl imports offer updates once a minute" if name in slow and after[name] == before[name] else
                "" if name in slow else f"NOT dropped within {wait_s:.0f} s")
        shown = {key: "-" if value is None else str(value) for key, value in (("b", before[name]), ("a", after[name]))}
        print(f"{name:<16}{shown['b']:>8}{shown['a']:>8}   {note}", file=out)
    missing = followed - dropped_at.keys()
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infrastructure.demo_sale", description=__doc__.split("\n")[0])
    parser.add_argument("--sku", default=DEFAULT_SKU, help=f"the SKU to sell (default {DEFAULT_SKU})")
    parser.add_argument("--wait", type=float, default=WAIT_S, help="seconds to wait for the other channels")
    args = parser.parse_args(argv)
    try:
        return run(Stack.find(os.environ), args.sku, args.wait)
    except DemoSaleError as exc:
        print(f"demo sale: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
