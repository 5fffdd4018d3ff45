"""Orders in, on the local stack: a buyer's order placed on one channel's stand-in is downloaded
(Amazon: its ORDER_CHANGE notification; the others: the order poller), allocates the unit, and every
OTHER channel's stand-in shows the lower quantity within seconds.

Buyers order through each stand-in's control route `POST /_standin/orders`, which takes the units
off that listing as the marketplace would and refuses (409) what the listing does not show. What
each listing should show comes from the API (`GET /items/{id}/available`), what it shows from the
stand-ins' `GET /_standin/listings`; Pixmania is left out (one OF24 offers update a minute).
Each test uses its own items, none of those tests/e2e/test_stock_flow.py changes, and sets their
levels first. Every wait is bounded and says what was still wrong.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from demo_support import SLOW, STANDIN_OF, Demo, settled_demo, wait_for

pytestmark = pytest.mark.e2e

SECONDS = 15  # "within seconds": a notification or a (sped-up) poll, then the stock submitter's window
SYNCED = set(STANDIN_OF) - SLOW


@pytest.fixture(scope="module")
def demo(local_stack: Any) -> Demo:
    return settled_demo(local_stack)


# --- helpers ------------------------------------------------------------------------------------


def buy(demo: Demo, channel: str, sku: str, quantity: int = 1) -> requests.Response:
    """A buyer orders on the channel's stand-in (201 with the order, 409 when the listing shows less)."""
    return requests.post(f"{demo.stack.standins[STANDIN_OF[channel]]}/_standin/orders",
                         json={"sku": sku, "quantity": quantity}, timeout=10)


def bought(demo: Demo, channel: str, sku: str, quantity: int = 1) -> dict[str, Any]:
    answer = buy(demo, channel, sku, quantity)
    assert answer.status_code == 201, f"{channel} refused {quantity} x {sku}: {answer.status_code} {answer.text}"
    return answer.json()


def imported(demo: Demo, channel: str, placed: dict[str, Any], **filters: Any) -> dict[str, Any] | None:
    """Our order (with its lines) for the stand-in's order, if GET /orders lists it under `filters`."""
    rows = demo.get("/orders", channel_id=demo.channels[channel], limit=200, **filters)["orders"]
    found = [row for row in rows if row["channel_order_id"] == placed["order_id"]]
    return demo.get(f"/orders/{found[0]['order_id']}") if found else None


def order_problems(demo: Demo, channel: str, placed: dict[str, Any], status: str,
                   lines: dict[str, tuple[str | None, int]]) -> list[str]:
    """What differs from: listed for `channel` with `status`, each line (by channel SKU) linked to
    (item id, units allocated)."""
    order = imported(demo, channel, placed)
    if order is None:
        return [f"{channel} order {placed['order_id']} not in GET /orders"]
    problems = [] if order["status"] == status else [f"order {placed['order_id']}: {order['status']}, not {status}"]
    for line in order["lines"]:
        item_id, allocated = lines.get(line["sku"], (None, 0))
        if (line["item_id"], line["allocated"], line["unmapped"]) != (item_id, allocated, item_id is None):
            problems.append(f"line {line['sku']}: item {line['item_id']}, {line['allocated']} allocated, "
                            f"unmapped {line['unmapped']}; should be item {item_id}, {allocated} allocated")
    return problems


def showing(demo: Demo, sku: str, channels: set[str], listings: tuple[str, ...] = ()) -> list[str]:
    """Each of `channels`' stand-ins shows what the API says the channel may sell of the item on its
    listing of the same SKU (and on `listings`, linked to it by hand): that quantity, or at 0 nothing for
    sale. Cheaper than `Demo.mismatches` (no listing pages), so the waits poll often."""
    wanted, problems = demo.available(sku), []
    for channel in sorted(channels):
        shown = demo.shown(channel)
        for listing in (sku, *listings):
            seen, target = shown.get(listing), wanted[channel]
            if seen is None:
                if listing == sku:
                    problems.append(f"{channel}: the stand-in has no listing {sku}")
                continue
            if seen["active"] != (target > 0) or (target > 0 and seen["quantity"] != target):
                problems.append(f"{channel} {listing}: shows {seen['quantity']} "
                                f"({'active' if seen['active'] else 'inactive'}), should show {target}")
    return problems


def ready(demo: Demo, sku: str, main: int, channels: set[str]) -> dict[str, int]:
    """Set the item to `main` units (none in the overflow store), wait until `channels` show it, and
    answer what each channel may sell."""
    demo.set_stock(sku, main=main, overflow=0)
    wait_for(f"{sku} at {main} on {sorted(channels)}", lambda: showing(demo, sku, channels), timeout=20)
    return demo.available(sku)


def lowered(demo: Demo, sku: str, before: dict[str, int], units: int, channels: set[str], *,
            listings: tuple[str, ...] = ()) -> list[str]:
    """Every channel may sell `units` fewer than `before` (none below 0), and `channels` show it."""
    now = demo.available(sku)
    problems = [f"{channel}: {sku} available {now[channel]}, should be {max(0, before[channel] - units)}"
                for channel in SYNCED if now[channel] != max(0, before[channel] - units)]
    return problems or showing(demo, sku, channels, listings)


# --- tests --------------------------------------------------------------------------------------
# Where the demo stand-ins list each item used here (infrastructure/demo/listings.py), but Pixmania.
ALL = SYNCED
CAPS = {"Amazon UK", "eBay UK", "Magento store", "Web shop"}
BLUE = {"Amazon UK", "eBay UK", "Magento store", "Rakuten UK"}
GREEN = {"Amazon UK", "eBay UK", "Rakuten UK"}


def test_given_a_sale_on_amazon_when_notified_then_the_order_is_listed_and_every_other_channel_shows_less(demo):
    sku = "MUG-BLACK"
    before, item_id = ready(demo, sku, 20, ALL), demo.item_id(sku)

    placed = bought(demo, "Amazon UK", sku)

    wait_for("the Amazon order imported (open, its line linked and allocated)",
             lambda: order_problems(demo, "Amazon UK", placed, "open", {sku: (item_id, 1)}), timeout=SECONDS)
    wait_for("one unit fewer on every other channel's stand-in",
             lambda: lowered(demo, sku, before, 1, ALL - {"Amazon UK"}), timeout=SECONDS)


@pytest.mark.parametrize(("channel", "sku"), [("eBay UK", "CAP-BLACK"), ("Web shop", "CAP-WHITE")])
def test_given_a_sale_on_a_polled_channel_when_polled_then_every_other_channel_shows_less(demo, channel, sku):
    before, item_id = ready(demo, sku, 15, CAPS), demo.item_id(sku)

    placed = bought(demo, channel, sku, 2)

    wait_for(f"the {channel} order imported by the poller",
             lambda: order_problems(demo, channel, placed, "open", {sku: (item_id, 2)}), timeout=SECONDS)
    wait_for("two units fewer on every other channel's stand-in",
             lambda: lowered(demo, sku, before, 2, CAPS - {channel}), timeout=SECONDS)


def test_given_the_last_unit_when_two_channels_sell_it_within_one_poll_window_then_never_twice_unseen(demo):
    sku = "MUG-BLUE"
    ready(demo, sku, 1, BLUE)

    first = bought(demo, "Amazon UK", sku)
    second = buy(demo, "eBay UK", sku)  # right after: eBay shows 0 already (409), or it sells it too

    wait_for("the Amazon order imported", lambda: order_problems(demo, "Amazon UK", first, "open",
                                                                 {sku: (demo.item_id(sku), 1)}), timeout=SECONDS)
    if second.status_code == 409:  # the buyer on eBay could not buy it: nothing to report
        assert imported(demo, "Amazon UK", first)["oversold"] is False
    else:
        assert second.status_code == 201, f"eBay: {second.status_code} {second.text}"

        def overlap_not_reported() -> list[str]:
            sales = {"Amazon UK": first, "eBay UK": second.json()}
            orders = {channel: imported(demo, channel, placed) for channel, placed in sales.items()}
            if orders["eBay UK"] is None:
                return ["the eBay order is not imported yet"]
            later = max(orders, key=lambda channel: orders[channel]["created_at"])  # the one that took it below 0
            problems = []
            for channel, placed in sales.items():
                listed = imported(demo, channel, placed, oversold="true") is not None
                if (orders[channel]["oversold"], listed) != (channel == later, channel == later):
                    problems.append(f"{channel} order: oversold {orders[channel]['oversold']}, under oversold=true "
                                    f"{listed}; the order imported second ({later}) alone should be")
            return problems

        wait_for("the second sale of the last unit reported as oversold, and only it", overlap_not_reported,
                 timeout=SECONDS)
    wait_for("the item at 0 on every channel (available never below 0)",
             lambda: [f"{channel}: {units}" for channel, units in demo.available(sku).items() if units != 0]
             or showing(demo, sku, BLUE), timeout=SECONDS)


def test_given_an_open_order_when_cancelled_at_the_channel_then_the_channels_show_the_units_again(demo):
    sku = "TEE-BLUE"
    before, item_id = ready(demo, sku, 9, BLUE), demo.item_id(sku)
    placed = bought(demo, "Amazon UK", sku, 2)
    wait_for("two units fewer on every other channel",
             lambda: lowered(demo, sku, before, 2, BLUE - {"Amazon UK"}), timeout=SECONDS)

    demo.standin("Amazon UK", f"orders/{placed['order_id']}/cancel", {})

    wait_for("the order cancelled, its allocation released",
             lambda: order_problems(demo, "Amazon UK", placed, "cancelled", {sku: (item_id, 0)}), timeout=SECONDS)
    wait_for("the units back on every channel's stand-in", lambda: lowered(demo, sku, before, 0, BLUE),
             timeout=SECONDS)


def test_given_an_order_for_an_unlinked_listing_when_the_listing_is_linked_then_it_allocates(demo):
    listing, sku = "AMZ-ONLY-003", "TEE-GREEN"  # an Amazon listing the seller has no item for
    assert demo.listing("Amazon UK", listing)["linked_item"] is None
    before, item_id = ready(demo, sku, 12, GREEN), demo.item_id(sku)

    placed = bought(demo, "Amazon UK", listing)

    wait_for("the order listed as unmapped, reserving nothing",
             lambda: order_problems(demo, "Amazon UK", placed, "open", {listing: (None, 0)})
             or ([] if imported(demo, "Amazon UK", placed, unmapped="true") else ["not under unmapped=true"]),
             timeout=SECONDS)
    assert demo.available(sku) == before

    demo.send("PUT", f"/channels/{demo.channels['Amazon UK']}/listings/{listing}/link", {"sku": sku})

    wait_for("the order's line linked and allocated",
             lambda: order_problems(demo, "Amazon UK", placed, "open", {listing: (item_id, 1)})
             or (["still under unmapped=true"] if imported(demo, "Amazon UK", placed, unmapped="true") else []),
             timeout=SECONDS)
    wait_for("one unit fewer on every channel selling the item (the newly linked listing too)",
             lambda: lowered(demo, sku, before, 1, GREEN, listings=(listing,)), timeout=SECONDS)
