"""GET /orders and /orders/{order_id}: what the seller sees of downloaded orders."""

from __future__ import annotations

import pytest
from order_support import add_channel, add_item, link, order

from stocksync.api.context import services
from stocksync.channels.order_side import OrderStatus
from stocksync.core import db
from stocksync.core.messages import RecordingQueue


@pytest.fixture
def orders(api):
    """Amazon: A-1 (open, day 1), A-2 (shipped, day 2), A-3 (oversold, day 3); Website: W-1 (unmapped)."""
    services().order_book.queue = RecordingQueue()
    amazon, website = add_channel("Amazon"), add_channel("Website")
    item_id = add_item("HOT", 3)
    link(amazon, "HOT", item_id)
    book = services().order_book
    book.import_order(amazon, order("A-1", ("HOT", 1), placed_minute=0))
    book.import_order(amazon, order("A-2", ("HOT", 1), status=OrderStatus.SHIPPED, placed_minute=24 * 60))
    book.import_order(amazon, order("A-3", ("HOT", 5), placed_minute=48 * 60))
    book.import_order(website, order("W-1", ("UNKNOWN", 1), placed_minute=30))
    return amazon, website, item_id


def ids(answer) -> list[str]:
    return [row["channel_order_id"] for row in answer.body["orders"]]


def test_given_orders_when_listed_then_newest_placed_first_with_cursor_paging(api, orders):
    first = api.get("/orders", limit="2")
    second = api.get("/orders", limit="2", cursor=first.body["next_cursor"])

    assert first.status == 200
    assert ids(first) == ["A-3", "A-2"]
    assert ids(second) == ["W-1", "A-1"]
    assert "lines" not in first.body["orders"][0]


def test_given_orders_when_filtered_then_only_matching_ones_come_back(api, orders):
    amazon, website, _item = orders

    assert ids(api.get("/orders", channel_id=website.channel_id)) == ["W-1"]
    assert ids(api.get("/orders", channel_id=amazon.channel_id, status="shipped")) == ["A-2"]
    assert ids(api.get("/orders", unmapped="true")) == ["W-1"]
    assert ids(api.get("/orders", oversold="true")) == ["A-3"]
    assert ids(api.get("/orders", placed_from="2026-11-21", placed_to="2026-11-21")) == ["A-2"]
    assert ids(api.get("/orders", placed_to="2026-11-20")) == ["W-1", "A-1"]
    assert api.get("/orders", status="lost").status == 422
    assert api.get("/orders", placed_from="2026-11-22", placed_to="2026-11-20").status == 400


def test_given_an_order_when_read_then_its_lines_links_allocations_and_flags_show(api, orders):
    amazon, website, item_id = orders

    oversold = api.get(f"/orders/{db.order_id_of(amazon.channel_id, 'A-3')}")
    unmapped = api.get(f"/orders/{db.order_id_of(website.channel_id, 'W-1')}")

    assert oversold.status == 200
    assert oversold.body["oversold"] is True
    assert oversold.body["oversold_at"][0]["item_id"] == item_id
    line = oversold.body["lines"][0]
    assert (line["sku"], line["item_id"], line["allocated"], line["unmapped"]) == ("HOT", item_id, 5, False)
    assert line["parts"] == [{"item_id": item_id, "per_unit": 1}]
    assert oversold.body["announced"] is True
    assert unmapped.body["unmapped"] is True
    assert (unmapped.body["lines"][0]["item_id"], unmapped.body["lines"][0]["unmapped"]) == (None, True)


def test_given_an_unknown_order_when_read_then_404(api):
    answer = api.get("/orders/0123456789abcdef0123456789abcdef")

    assert answer.status == 404
    assert answer.body["error"]["code"] == "order_not_found"


def test_given_a_channel_when_its_order_location_is_unknown_then_it_is_refused(api):
    answer = api.post("/channels", {"name": "Shop", "type": "generic", "settings": {"order_location_id": "nowhere"}})

    assert answer.status == 400
    assert answer.body["error"]["details"]["field"] == "settings.order_location_id"
