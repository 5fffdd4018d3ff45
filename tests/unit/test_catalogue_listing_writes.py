"""Listing writes: new listings as raw items exactly as pynamodb writes them, put in bulk until all are in."""

from __future__ import annotations

from typing import Any

import pytest

from stocksync.catalogue.listing_writes import load_fields, new_listing_item_builder
from stocksync.core import db, raw_table
from stocksync.core.db import ListingRecord


def test_given_a_row_when_written_as_a_new_listing_then_the_item_is_what_pynamodb_would_write():
    at = db.now()
    item = new_listing_item_builder("c1", "load-1", at)
    for row in [("sku-1", 0, 1, "SKU-1", "T", 1.5, 3, None, "123", None, False, "L1", None, None, "active", None,
                 None),
                ("sku-2", 0, 2, "SKU-2", "", None, None, "EUR", None, "B0", True, None, "trading", None, "ended", None,
                 None),
                ("sku-3", 0, 3, "SKU-3", "x", 12.0, 0, None, None, None, False, None, None,
                 '{"origin-price":"14.00","leadtime-to-ship":"2"}', "active", None, None),
                ("tee-m", 0, 4, "TEE-M", "Tee M", 9.0, 2, None, None, None, False, "110", "trading", None, "active",
                 "110", '{"Size":"M"}')]:
        keys = ListingRecord.keys("c1", row[0]) | (db.variation_keys("c1", row[15], row[0]) if row[15] else {})
        model = ListingRecord(**keys, channel_id="c1", sku=row[3], sku_key=row[0],
                              title=row[4], price=row[5], quantity=row[6], currency=row[7], barcode=row[8],
                              asin=row[9], fba=row[10], channel_listing_id=row[11], listing_kind=row[12],
                              exported_offer=row[13], state=row[14], variation_parent=row[15],
                              variation=row[16], load_fields=load_fields(row),
                              last_load_id="load-1", first_seen_at=at, updated_at=at)
        assert item(row) == model.serialize()


class _Table:
    """A BatchWriteItem endpoint that leaves the last `unprocessed` items of each request unprocessed."""

    def __init__(self, unprocessed: list[int]) -> None:
        self.unprocessed = unprocessed  # per request, in order; then every request is taken whole
        self.requests: list[int] = []
        self.items: list[dict[str, Any]] = []

    def dispatch(self, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
        assert operation == "BatchWriteItem"
        [(table, requests)] = arguments["RequestItems"].items()
        assert len(requests) <= raw_table.BATCH_WRITE_ITEMS
        self.requests.append(len(requests))
        left = self.unprocessed.pop(0) if self.unprocessed else 0
        taken, refused = requests[: len(requests) - left], requests[len(requests) - left :]
        self.items += [request["PutRequest"]["Item"] for request in taken]
        return {"UnprocessedItems": {table: refused} if refused else {}}


@pytest.fixture
def table(monkeypatch):
    def install(unprocessed: list[int]) -> _Table:
        fake = _Table(unprocessed)
        monkeypatch.setattr(raw_table, "_connection", lambda: fake)
        monkeypatch.setattr(raw_table.time, "sleep", lambda seconds: None)
        return fake

    return install


def test_given_items_dynamodb_leaves_unprocessed_when_put_then_they_are_sent_again_until_all_are_in(table):
    fake = table([10, 4])
    items = [{"PK": {"S": f"P{i}"}, "SK": {"S": "S"}} for i in range(30)]

    raw_table.put_all(items)

    assert fake.requests == [25, 10, 4, 5]
    assert sorted(item["PK"]["S"] for item in fake.items) == sorted(f"P{i}" for i in range(30))


def test_given_items_dynamodb_never_takes_when_put_then_it_raises_after_ten_requests(table):
    fake = table([1] * 20)

    with pytest.raises(RuntimeError, match="1 items unprocessed after 10"):
        raw_table.put_all([{"PK": {"S": "P"}, "SK": {"S": "S"}}])

    assert fake.requests == [1] * 10
