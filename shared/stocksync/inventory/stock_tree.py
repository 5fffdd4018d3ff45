"""The one reader of stock trees: what an item (and, for a kit, every component down the tree) holds
at some locations. The API's availability and the stock submitter's targets both read it, so they
cannot disagree.

Each item is one consistent Query of its item collection (PK ITEM#<id>): its record (is it still
there, is it a kit), its levels and, for a kit, its components, whose collections are read the same
way, down the tree. A Query is billed on the collection's summed size (one read unit for an item and
a dozen levels), where reading the records by key bills each of them a unit: the scheduled sync
re-asserts thousands of items a run. READERS collections are read at once. Reads are consistent, so a
target is never computed from a level older than the message that named the item. A kit whose
component was deleted is unavailable: the missing component holds nothing to build with.
"""

from __future__ import annotations

from collections.abc import Iterable

from stocksync.core import db
from stocksync.core.chunks import mapped_in_order
from stocksync.core.db import ComponentRecord, ItemRecord, Record, StockLevelRecord
from stocksync.inventory.rules import StockAtLocation, StockNode

_ATTRIBUTES = ["PK", "SK", "entity", "item_id", "is_composite", "location_id", "level", "allocated", "component_id",
               "quantity"]
READERS = 8  # item collections read at once (the table's connections: db.Record.Meta.max_pool_connections)


def stock_nodes(item_ids: Iterable[str], location_ids: Iterable[str]) -> dict[str, StockNode | None]:
    """Every item's StockNode at `location_ids` (components' nodes included, under their own ids),
    None for an item that no longer exists. A component that no longer exists counts as no stock."""
    locations = set(location_ids)
    nodes: dict[str, StockNode | None] = {}
    wanted = sorted(set(item_ids))
    while wanted:
        found: list[str] = []
        for item_id, records in zip(wanted, _collections(wanted), strict=True):
            node = _node(records, locations)
            nodes[item_id] = node
            found += [component_id for component_id, _ in node.components] if node is not None else []
        wanted = sorted({component_id for component_id in found if component_id not in nodes})
    for node in list(nodes.values()):  # a kit's missing component: nothing of it to build with
        if node is not None:
            for component_id, _ in node.components:
                if nodes.get(component_id) is None:
                    nodes[component_id] = StockNode()
    return nodes


def _collections(item_ids: list[str]) -> Iterable[list[Record]]:
    """Each item's collection, in the items' order."""
    def collection(item_id: str) -> list[Record]:
        return list(Record.query(db.item_pk(item_id), consistent_read=True, attributes_to_get=_ATTRIBUTES))

    if len(item_ids) == 1:
        return [collection(item_ids[0])]
    return mapped_in_order(collection, item_ids, at_once=READERS)


def _node(records: list[Record], locations: set[str]) -> StockNode | None:
    """An item's StockNode from its collection; None when it holds no item record (deleted)."""
    item = next((record for record in records if isinstance(record, ItemRecord)), None)
    if item is None:
        return None
    levels = sorted((StockAtLocation(record.location_id, int(record.level or 0), int(record.allocated or 0))
                     for record in records if isinstance(record, StockLevelRecord) and record.location_id in locations),
                    key=lambda level: level.location_id)
    components = tuple((record.component_id, int(record.quantity)) for record in records
                       if isinstance(record, ComponentRecord)) if item.is_composite else ()
    return StockNode(levels=tuple(levels), components=components)
