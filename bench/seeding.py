"""Seeding a benchmark's table fast: records built and serialised by our pynamodb models (so they
have the shapes and sizes the code writes), copied with their own keys and values, and put straight
into the embedded AWS's DynamoDB backend (moto, in the benchmark's own process). Not measured.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any


def moto_table(table_name: str) -> Any:
    """The moto Table object behind `table_name` (the embedded AWS runs in this process)."""
    from moto.dynamodb.models import dynamodb_backends

    from infrastructure.local.template import ACCOUNT_ID

    return dynamodb_backends[ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]].get_table(table_name)


def put_records(table: Any, records: Iterable[dict[str, Any]]) -> int:
    """Put serialised records (`Model.serialize()` shapes) into the moto table; returns how many."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    count = 0
    for attributes in records:
        item = Item.__new__(Item)
        item.hash_key, item.range_key = DynamoType(attributes["PK"]), DynamoType(attributes["SK"])
        item.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        for name, value in attributes.items():
            dict.__setitem__(item.attrs, name, DynamoType(value))
        table.items[item.hash_key][item.range_key] = item
        count += 1
    return count


def like(template: dict[str, Any], **values: Any) -> dict[str, Any]:
    """A copy of a serialised record with some attributes replaced (str -> S, int/float -> N)."""
    replaced = {name: {"N": str(value)} if isinstance(value, int | float) and not isinstance(value, bool)
                else {"S": value} for name, value in values.items()}
    return template | replaced


def items_and_listings(table: Any, channel_id: str, n: int) -> None:
    """n items (with their SKU claims) and n listings of the channel, straight into moto's table.

    One item and one claim are built and serialised by our models, the others are copies of them with
    their own keys, SKUs, titles, ids and barcodes; each listing is what a catalogue load writes for its
    row (`load_fields` included)."""
    from stocksync.catalogue.listing_writes import new_listing_item_builder
    from stocksync.core import db
    from stocksync.core.db import CatalogueStatusRecord, ItemRecord, UniqueClaim
    from stocksync.inventory.items import SKU_CLAIM
    from stocksync.inventory.rules import normalize_sku, search_text

    load_id = db.new_id()
    item0 = ItemRecord(**ItemRecord.keys("x", "x"), item_id="x", sku="x", sku_key="x", title="x", search_text="x",
                       retail_price=9.99, barcode="x", version=1).serialize()
    claim0 = UniqueClaim(**UniqueClaim.keys(SKU_CLAIM, "x"), owner_id="x").serialize()
    new_listing = new_listing_item_builder(channel_id, load_id, db.now())  # exactly what a catalogue load writes
    def records() -> Iterator[dict[str, Any]]:
        for i in range(n):
            sku = f"SKU-{i:06d}"
            key = normalize_sku(sku)
            item_id = db.new_id()
            title = f"Product number {i}"
            yield like(item0, **ItemRecord.keys(item_id, key), item_id=item_id, sku=sku, sku_key=key, title=title,
                       search_text=search_text(sku, title), barcode=f"50{i:011d}")
            yield like(claim0, **UniqueClaim.keys(SKU_CLAIM, key), owner_id=item_id)
            listing_sku = f" sku-{i:06d} " if i % 2 else sku  # half differ in case and surrounding spaces
            yield new_listing((normalize_sku(listing_sku), 0, i, listing_sku, f"{title} on the channel", 9.99, 5,
                               "GBP", f"50{i:011d}", None, False, f"{i:012d}", None, None, "active", None, None))
        yield CatalogueStatusRecord(**CatalogueStatusRecord.keys(channel_id), channel_id=channel_id, total_active=n,
                                    total_linked=0, total_unlinked=n, totals_at=db.now()).serialize()

    put_records(table, records())


def stocked_items(n: int, location_id: str, level: int, *, sku_format: str = "SKU-{:06d}") -> Iterable[
        tuple[str, str, list[dict[str, Any]]]]:
    """n items with `level` units at `location_id`: (item id, SKU, their records: item, SKU claim, level)."""
    from stocksync.core import db
    from stocksync.core.db import ItemRecord, StockLevelRecord, UniqueClaim
    from stocksync.inventory.items import SKU_CLAIM
    from stocksync.inventory.rules import normalize_sku, search_text

    item0 = ItemRecord(**ItemRecord.keys("x", "x"), item_id="x", sku="x", sku_key="x", title="x", search_text="x",
                       retail_price=9.99, version=1).serialize()
    claim0 = UniqueClaim(**UniqueClaim.keys(SKU_CLAIM, "x"), owner_id="x").serialize()
    level0 = StockLevelRecord(**StockLevelRecord.keys("x", location_id), item_id="x", location_id=location_id,
                              level=level, version=1).serialize()
    for i in range(n):
        sku = sku_format.format(i)
        key, item_id = normalize_sku(sku), db.new_id()
        title = f"Product number {i}"
        yield item_id, sku, [
            like(item0, **ItemRecord.keys(item_id, key), item_id=item_id, sku=sku, sku_key=key, title=title,
                 search_text=search_text(sku, title)),
            like(claim0, **UniqueClaim.keys(SKU_CLAIM, key), owner_id=item_id),
            like(level0, **StockLevelRecord.keys(item_id, location_id), item_id=item_id),
        ]


def linked_listing(channel_id: str, sku: str, item_id: str, **fields: Any) -> dict[str, Any]:
    """One listing of the channel linked to the item, serialised (a model-built record, not a copy)."""
    from stocksync.core.db import ListingRecord
    from stocksync.inventory.rules import normalize_sku

    key = normalize_sku(sku)
    return ListingRecord(**ListingRecord.keys(channel_id, key, sku, item_id), channel_id=channel_id, sku=sku,
                         sku_key=key, linked_item_id=item_id, title=sku, **fields).serialize()


def linked_listings(channel_id: str, items: Iterable[tuple[str, str]], **fields: Any) -> Iterable[dict[str, Any]]:
    """A linked listing per (item id, SKU), copies of one model-built record."""
    from stocksync.core.db import ListingRecord
    from stocksync.inventory.rules import normalize_sku

    template: dict[str, Any] | None = None
    for item_id, sku in items:
        if template is None:
            template = linked_listing(channel_id, sku, item_id, **fields)
        key = normalize_sku(sku)
        yield like(template, **ListingRecord.keys(channel_id, key, sku, item_id), sku=sku, sku_key=key, title=sku,
                   linked_item_id=item_id)


@contextlib.contextmanager
def counting_dynamodb_requests() -> Iterator[Counter[str]]:
    """DynamoDB requests by operation, counted at botocore's client (pynamodb's and boto3's alike)."""
    from botocore.client import BaseClient

    counts: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            counts[operation_name] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
