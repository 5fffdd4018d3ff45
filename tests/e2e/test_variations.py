"""Variation listings on the local stack: a T-shirt in three sizes listed with variations on eBay (an
inventory item group: one live listing), Amazon (a parent with child SKUs) and Magento (a
configurable with simple children). Each size is a listing of its own, linked to its own item,
grouped under its parent in the listings API; a sale of the last medium on Amazon takes the medium
to 0 everywhere while eBay's listing stays live with the other sizes, and a restock brings it back.

The T-shirt's SKUs and items are this module's own (VAR-TEE-*), listed on the stand-ins by their
`POST /_standin/listings` control route, so the demo's listings other modules watch are untouched.
"""

from __future__ import annotations

from typing import Any

import pytest
from demo_support import Demo, settled_demo, wait_for

pytestmark = pytest.mark.e2e

PARENT = "VAR-TEE"
SIZES = ("S", "M", "L")
SKUS = {size: f"{PARENT}-{size}" for size in SIZES}
CHANNELS = ("eBay UK", "Amazon UK", "Magento store")
LOAD_WAIT_S = 120  # the next catalogue load of each channel, its auto-link, the first sync


@pytest.fixture(scope="module")
def demo(local_stack: Any) -> Demo:
    demo = settled_demo(local_stack)
    main = demo.locations["Main warehouse"]
    for size, sku in SKUS.items():
        item = demo.send("POST", "/items", {"sku": sku, "title": f"Variation tee {size}"}, status=201)
        demo.send("PUT", f"/items/{item['item_id']}/stock/{main}", {"level": 1 if size == "M" else 4})
    for n, (size, sku) in enumerate(SKUS.items()):
        listing = {"sku": sku, "title": f"Variation tee {size}", "price": 15.0, "quantity": 5, "parent": PARENT}
        demo.standin("eBay UK", "listings", {**listing, "listing_id": "110000099000", "kind": "inventory_api",
                                             "variation": {"Size": size}}, status=201)
        demo.standin("Amazon UK", "listings", {**listing, "listing_id": f"VARTEE{n}", "variation": {"size": size}},
                     status=201)
        demo.standin("Magento store", "listings", {**listing, "listing_id": str(9000 + n),
                                                   "variation": {"Size": size}}, status=201)
    for channel in CHANNELS:  # the seller asks each channel for its catalogue again
        refresh = demo.http.post(f"{demo.api}/channels/{demo.channels[channel]}/catalogue/refresh",
                                 json={"confirm": True}, timeout=10)
        assert refresh.status_code in (200, 202), f"{channel} refresh: {refresh.status_code} {refresh.text[:300]}"
    return demo


def grouped(demo: Demo) -> list[str]:
    """What is still wrong with each channel's listings of the T-shirt: its three sizes under their
    parent, in SKU order, each with its size and linked to its own item."""
    problems = []
    for channel in CHANNELS:
        rows = demo.get(f"/channels/{demo.channels[channel]}/listings", parent=PARENT)["listings"]
        if [row["sku"] for row in rows] != sorted(SKUS.values()):
            problems.append(f"{channel}: children {[row['sku'] for row in rows]}")
            continue
        for row in rows:
            size = row["sku"].rsplit("-", 1)[1]
            if next(iter(row["attributes"].values()), None) != size or len(row["attributes"]) != 1:
                problems.append(f"{channel} {row['sku']}: attributes {row['attributes']}")
            if (row["linked_item"] or {}).get("sku") != row["sku"]:
                problems.append(f"{channel} {row['sku']}: linked to {row['linked_item']}")
    return problems


def medium_shown(demo: Demo) -> dict[str, dict[str, Any]]:
    return {channel: demo.shown(channel)[SKUS["M"]] for channel in CHANNELS}


def test_given_a_tee_in_three_sizes_on_three_channels_when_loaded_then_each_size_is_a_linked_child_of_its_parent(
        demo):
    wait_for("the T-shirt's sizes loaded under their parent and auto-linked on eBay, Amazon and Magento",
             lambda: grouped(demo), timeout=LOAD_WAIT_S)
    wait_for("every size's quantity on every channel", lambda: demo.mismatches(set(SKUS.values()), set(CHANNELS)))

    page = demo.get(f"/channels/{demo.channels['Amazon UK']}/listings", q=PARENT)
    assert sorted(row["sku"] for row in page["listings"]) == sorted(SKUS.values())
    assert {row["parent"] for row in page["listings"]} == {PARENT}
    assert PARENT not in {row["sku"] for row in page["listings"]}  # the parent is no listing


def test_given_the_last_medium_when_sold_on_amazon_then_it_goes_to_0_everywhere_and_ebay_stays_live_until_restock(
        demo):
    wait_for("every size's quantity on every channel", lambda: demo.mismatches(set(SKUS.values()), set(CHANNELS)),
             timeout=LOAD_WAIT_S)
    ebay_listing = demo.shown("eBay UK")[SKUS["S"]]["listing_id"]

    demo.standin("Amazon UK", "orders", {"sku": SKUS["M"], "quantity": 1}, status=201)

    def medium_sold_out() -> list[str]:
        shown = medium_shown(demo)
        problems = [f"{channel}: {row}" for channel, row in shown.items() if row["quantity"] != 0]
        problems += [f"{channel}: still for sale {row}" for channel, row in shown.items()
                     if channel != "eBay UK" and row["active"]]
        return problems

    wait_for("the medium at 0 on eBay, Amazon and Magento", medium_sold_out)
    ebay = demo.shown("eBay UK")
    assert ebay[SKUS["M"]]["active"] is True and ebay[SKUS["M"]]["listing_id"] == ebay_listing  # still live
    assert [ebay[SKUS[size]]["quantity"] for size in ("S", "L")] == [4, 4]
    assert demo.listing("eBay UK", SKUS["M"])["state"] == "active"

    medium = demo.item_id(SKUS["M"])
    demo.send("PUT", f"/items/{medium}/stock/{demo.locations['Main warehouse']}", {"level": 4})

    def restocked() -> list[str]:
        problems = demo.mismatches({SKUS["M"]}, set(CHANNELS))
        return problems or [f"{channel}: {row}" for channel, row in medium_shown(demo).items() if not row["active"]]

    wait_for("the medium back on eBay, Amazon and Magento", restocked)
    assert demo.shown("eBay UK")[SKUS["M"]]["listing_id"] == ebay_listing  # the same live listing throughout
