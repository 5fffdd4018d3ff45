"""The one reader of stock trees: what an item (and, for a kit, every component down the tree) holds
at some locations. The API's availability and the stock submitter's targets both read it, so they
cannot disagree. Read in bulk: BatchGetItem of 100 keys a request.

For each item, its record (is it still there, is it a kit) and its level at each location asked for;
for a kit, its components (one Query per kit: they are the kit partition's COMPONENT# records) and
then their records and levels the same way, down the tree. Reads are consistent, so a target is never
computed from a level older than the message that named the item. A kit whose component was deleted
is unavailable: the missing component holds nothing to build with.
"""

from __future__ import annotations

from collections.abc import Iterable

from stocksync.core import db
from stocksync.core.db import ComponentRecord, ItemRecord, Record, StockLevelRecord
from stocksync.inventory.rules import StockAtLocation, StockNode

_ATTRIBUTES = ["PK", "SK", "entity", "item_id", "is_composite", "location_id", "level", "allocated"]


def stock_nodes(item_ids: Iterable[str], location_ids: Iterable[str]) -> dict[str, StockNode | None]:
    """Every item's StockNode at `location_ids` (components' nodes included, under their own ids),
    None for an item that no longer exists. A component that no longer exists counts as no stock."""
    locations = sorted(set(location_ids))
    nodes: dict[str, StockNode | None] = {}
    wanted = sorted(set(item_ids))
    while wanted:
        items, levels = _read(wanted, locations)
        found: list[str] = []
        for item_id in wanted:
            item = items.get(item_id)
            if item is None:
                nodes[item_id] = None
                continue
            components: tuple[tuple[str, int], ...] = ()
            if item.is_composite:
                components = tuple((c.component_id, int(c.quantity)) for c in ComponentRecord.query(
                    db.item_pk(item_id), ComponentRecord.SK.startswith(db.COMPONENT_PREFIX), consistent_read=True))
                found += [component_id for component_id, _ in components]
            nodes[item_id] = StockNode(levels=tuple(levels.get(item_id, ())), components=components)
        wanted = sorted({component_id for component_id in found if component_id not in nodes})
    for node in list(nodes.values()):  # a kit's missing component: nothing of it to build with
        if node is not None:
            for component_id, _ in node.components:
                if nodes.get(component_id) is None:
                    nodes[component_id] = StockNode()
    return nodes


def _read(item_ids: list[str], locations: list[str]) -> tuple[dict[str, ItemRecord],
                                                               dict[str, list[StockAtLocation]]]:
    keys: list[tuple[str, str]] = []
    for item_id in item_ids:
        item_keys = ItemRecord.keys(item_id, "")
        keys.append((item_keys["PK"], item_keys["SK"]))
        for location_id in locations:
            level_keys = StockLevelRecord.keys(item_id, location_id)
            keys.append((level_keys["PK"], level_keys["SK"]))
    items: dict[str, ItemRecord] = {}
    levels: dict[str, list[StockAtLocation]] = {}
    for record in Record.batch_get(keys, consistent_read=True, attributes_to_get=_ATTRIBUTES):
        if isinstance(record, ItemRecord):
            items[record.item_id] = record
        elif isinstance(record, StockLevelRecord):
            levels.setdefault(record.item_id, []).append(
                StockAtLocation(record.location_id, int(record.level or 0), int(record.allocated or 0)))
    for found in levels.values():
        found.sort(key=lambda level: level.location_id)
    return items, levels
