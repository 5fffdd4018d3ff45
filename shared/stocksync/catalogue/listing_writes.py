"""A slice of a load brought to the stored listings: read them as the diff sees them, write what differs.

New listings are put whole (no one else has written to them yet); changed and removed ones are
updated attribute by attribute, so that a link or a limit set on a listing meanwhile is never
overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from stocksync.catalogue.diff import SAME, UPDATE, Change, Current, diff
from stocksync.catalogue.formats import UNLIMITED
from stocksync.catalogue.reader import (
    ASIN,
    BARCODE,
    CURRENCY,
    FBA,
    KEY,
    KIND,
    LISTING_ID,
    OFFER,
    PARENT,
    PRICE,
    QUANTITY,
    SKU,
    STATE,
    TITLE,
    VARIATION,
    Row,
)
from stocksync.core import db, raw_table
from stocksync.core.chunks import batched
from stocksync.core.db import ListingRecord
from stocksync.core.messages import StockChange, StockChangePublisher

_UPDATE_THREADS = 8
_UPDATES_PER_TASK = 200

# What the diff reads of a stored listing. The catalogue fields only loads write come in one JSON
# attribute (`load_fields`); the two the stock submitter may change too are read on their own, and
# the offer as exported (already compact JSON, compared as it is).
_DIFF_ATTRIBUTES = ("SK", "load_fields", "channel_listing_id", "state", "exported_offer", "variation_parent",
                    "variation", "removed", "linked_item_id", "submitted_quantity", "ignore_sync")


def load_fields(row: Row) -> str:
    """`ListingRecord.load_fields` of a row: sku, title, price, quantity, currency, barcode, asin, fba, kind."""
    return json.dumps([*row[SKU:LISTING_ID], row[KIND]], ensure_ascii=False, separators=(",", ":"))


def listing_changes(channel_id: str, rows: Iterator[Row], low: str | None, high: str | None, *, complete: bool,
                    kept_when_absent: frozenset[str] = frozenset(), load_rows: int = 0,
                    stored: int = 0) -> Iterator[Change]:
    """What a slice of a load (its rows, low <= SKU key < high) changes in the stored listings.

    A complete load walks the slice's stored listings beside its rows: one it does not name may be
    removed (`kept_when_absent`, see `diff`). A differential load removes only what it marks removed:
    it reads only the listings its rows name, a hundred at a time, unless the load's rows (`load_rows`)
    are so many of the channel's `stored` listings that walking them costs less.
    """
    if complete:
        return diff(rows, stored_listings(channel_id, low, high), kept_when_absent=kept_when_absent)
    if load_rows * LISTINGS_A_READ_UNIT_HOLDS > stored:
        return diff(rows, stored_listings(channel_id, low, high), complete=False)
    return _named_changes(channel_id, rows)


# A Query bills the bytes of the items it walks, 4 KB a read unit; a BatchGetItem at least one unit an
# item. A listing weighs about a kilobyte (a Mirakl offer, with the fields its export carries): a unit
# of a walk reads about four.
LISTINGS_A_READ_UNIT_HOLDS = 4


def _named_changes(channel_id: str, rows: Iterator[Row]) -> Iterator[Change]:
    for chunk in batched(rows, raw_table.BATCH_GET_KEYS):
        keys = [ListingRecord.keys(channel_id, row[KEY]) for row in chunk]
        named = sorted((_current(item) for item in raw_table.get_all(
            ({"PK": {"S": key["PK"]}, "SK": {"S": key["SK"]}} for key in keys), _DIFF_ATTRIBUTES)),
            key=lambda current: current.key)
        yield from diff(chunk, named, complete=False)


def stored_listings(channel_id: str, low: str | None, high: str | None) -> Iterator[Current]:
    """The channel's listings with low <= SKU key < high, in key order, as the diff sees them.

    Read with the low-level client (`raw_table`), projected to the few attributes the diff needs (a
    page holds more listings, and each attribute costs to send and to parse), turned straight into
    `Current` tuples with no model object per listing.
    """
    upper = db.listing_sk(high) if high is not None else db.LISTING_PREFIX[:-1] + "$"
    values = {":pk": {"S": db.channel_pk(channel_id)}, ":low": {"S": db.listing_sk(low or "")}, ":high": {"S": upper}}
    for item in raw_table.query("PK = :pk AND SK BETWEEN :low AND :high", values, _DIFF_ATTRIBUTES):
        current = _current(item)
        if high is not None and current.key >= high:
            return
        yield current


def _current(item: dict[str, Any]) -> Current:
    """A stored listing, as the low-level client reads it, as the diff sees it. A listing written before
    `load_fields` existed reads as changed, so the next load rewrites it once."""
    plain = raw_table.plain
    written = plain(item.get("load_fields"))
    fields = None
    if written is not None:
        *loaded, kind = json.loads(written)
        fields = (*loaded, plain(item.get("channel_listing_id")), kind, plain(item.get("exported_offer")),
                  plain(item.get("state")), plain(item.get("variation_parent")), plain(item.get("variation")))
    return Current(key=item["SK"]["S"][len(db.LISTING_PREFIX):], fields=fields,
                   removed=bool(plain(item.get("removed"))), linked_item_id=plain(item.get("linked_item_id")),
                   submitted_quantity=_int(plain(item.get("submitted_quantity"))),
                   ignore_sync=bool(plain(item.get("ignore_sync"))))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _removal_actions(at: Any) -> list[Any]:
    return [ListingRecord.removed.set(True), ListingRecord.removed_at.set(at), ListingRecord.state.set("removed"),
            ListingRecord.updated_at.set(at)]


def _catalogue_actions(channel_id: str, row: Row, stored: Current, load_id: str, at: Any) -> list[Any]:
    listing = ListingRecord
    actions = [listing.sku.set(row[SKU]), listing.title.set(row[TITLE]), _set_or_remove(listing.price, row[PRICE]),
               _set_or_remove(listing.quantity, row[QUANTITY]), _set_or_remove(listing.currency, row[CURRENCY]),
               _set_or_remove(listing.barcode, row[BARCODE]), _set_or_remove(listing.asin, row[ASIN]),
               listing.fba.set(row[FBA]), _set_or_remove(listing.channel_listing_id, row[LISTING_ID]),
               _set_or_remove(listing.listing_kind, row[KIND]), _set_or_remove(listing.exported_offer, row[OFFER]),
               listing.state.set(row[STATE]), _set_or_remove(listing.variation_parent, row[PARENT]),
               _set_or_remove(listing.variation, row[VARIATION]), *_variation_key_actions(channel_id, row),
               listing.load_fields.set(load_fields(row)), listing.removed.set(False),
               listing.removed_at.remove(), listing.last_load_id.set(load_id), listing.updated_at.set(at)]
    if _unlimited(row[OFFER]) and not _unlimited(stored.fields[OFFER - SKU] if stored.fields else None):
        actions.append(listing.ignore_sync.set(True))  # marked unlimited since the last load
    return actions


def _variation_key_actions(channel_id: str, row: Row) -> list[Any]:
    """A child's place among its parent's children (GSI1), or none for a listing of its own."""
    if row[PARENT] is None:
        return [ListingRecord.GSI1PK.remove(), ListingRecord.GSI1SK.remove()]
    keys = db.variation_keys(channel_id, row[PARENT], row[0])
    return [ListingRecord.GSI1PK.set(keys["GSI1PK"]), ListingRecord.GSI1SK.set(keys["GSI1SK"])]


def _set_or_remove(attribute: Any, value: Any) -> Any:
    return attribute.remove() if value is None else attribute.set(value)


def apply_changes(channel_id: str, load_id: str, changes: Iterator[Change], stock_queue: StockChangePublisher, *,
                  complete: bool = True) -> dict[str, int]:
    """Write a slice of the load's changes (`listing_changes`); count them, and the listings: a complete
    load counts its own (`active`, `linked`, `fba`: the channel's totals once every slice is counted), a
    differential one what it changed in them (the totals' differences, negative for a removal).

    New listings go out as BatchWriteItem requests of 25 and changed or removed ones as conditional
    updates of 200, each on a pool of threads while the diff walks on.
    """
    counts = dict.fromkeys(("created", "updated", "removed", "unchanged", "written", "drift", "active", "linked",
                            "fba"), 0)
    at = db.now()
    drifted: set[str] = set()
    new_listing = new_listing_item_builder(channel_id, load_id, at)
    creates: list[dict[str, Any]] = []
    updates: list[tuple[ListingRecord, list[Any]]] = []
    with ThreadPoolExecutor(_UPDATE_THREADS) as pool:
        pending: list[Any] = []
        for change in changes:
            row, stored = change.row, change.current  # a removal has no row, a creation nothing stored
            if row is not None:
                counts["active"] += 1
                counts["fba"] += bool(row[FBA])
                counts["linked"] += bool(stored and stored.linked_item_id)
            if not complete and stored is not None and not stored.removed:  # no longer counted as it was
                counts["active"] -= 1
                counts["fba"] -= bool(stored.fields and stored.fields[FBA - SKU])
                counts["linked"] -= bool(stored.linked_item_id)
            if change.kind == SAME:
                counts["unchanged"] += 1
            elif row is not None and stored is None:
                counts["created"] += 1
                creates.append(new_listing(row))
            elif stored is not None:
                counts["updated" if change.kind == UPDATE else "removed"] += 1
                record = ListingRecord(**ListingRecord.keys(channel_id, stored.key))
                updates.append((record, _catalogue_actions(channel_id, row, stored, load_id, at) if row is not None
                                else _removal_actions(at)))
            if change.drift and change.current is not None and change.current.linked_item_id:
                drifted.add(change.current.linked_item_id)
            if len(creates) == raw_table.BATCH_WRITE_ITEMS:
                pending.append(pool.submit(raw_table.put_all, creates))
                creates = []
            if len(updates) == _UPDATES_PER_TASK:
                pending.append(pool.submit(_update_all, updates))
                updates = []
        pending += [pool.submit(raw_table.put_all, creates)] if creates else []
        pending += [pool.submit(_update_all, updates)] if updates else []
        for future in pending:
            future.result()
    counts["written"] = counts["created"] + counts["updated"] + counts["removed"]
    counts["drift"] = len(drifted)
    if drifted:
        stock_queue.publish([StockChange(reason="catalogue_drift", item_ids=sorted(drifted),
                                         channel_ids=[channel_id])])
    return counts


def _unlimited(offer: str | None) -> bool:
    """Whether a row's (or stored listing's) offer cells say the channel does not track its stock.

    Ignore Sync is set when a listing becomes unlimited, never cleared by a load: the seller clears it
    by hand (seed 004), and a later load of the same unlimited listing does not set it again."""
    return offer is not None and _UNLIMITED_CELL in offer


_UNLIMITED_CELL = f'"{UNLIMITED}":"true"'  # in the compact JSON of the offer cells (reader.py)


def _update_all(updates: list[tuple[ListingRecord, list[Any]]]) -> None:
    for record, actions in updates:
        # Only the catalogue's own attributes: a link or a limit set meanwhile is never overwritten.
        record.update(actions=actions, condition=ListingRecord.PK.exists())


def new_listing_item_builder(channel_id: str, load_id: str, at: Any) -> Any:
    """A function from a row to its new listing as a DynamoDB item, exactly as pynamodb would write it.

    What every new listing of the load shares is serialised once by the model; each row adds only
    its own attributes (None ones left out, as pynamodb does), through the model's attributes.
    """
    base = ListingRecord(**ListingRecord.keys(channel_id, ""), channel_id=channel_id, sku="", sku_key="",
                         last_load_id=load_id, first_seen_at=at, updated_at=at).serialize()
    for name in ("SK", "sku", "sku_key", "title", "load_fields"):
        base.pop(name, None)
    listing = ListingRecord
    optional = ((PRICE, "price", listing.price), (QUANTITY, "quantity", listing.quantity),
                (CURRENCY, "currency", listing.currency), (BARCODE, "barcode", listing.barcode),
                (ASIN, "asin", listing.asin), (LISTING_ID, "channel_listing_id", listing.channel_listing_id),
                (KIND, "listing_kind", listing.listing_kind), (OFFER, "exported_offer", listing.exported_offer),
                (PARENT, "variation_parent", listing.variation_parent), (VARIATION, "variation", listing.variation))
    number_attributes = {"price", "quantity"}

    def item(row: Row) -> dict[str, Any]:
        attributes = dict(base)
        attributes.update(SK={"S": db.listing_sk(row[0])}, sku={"S": row[SKU]}, sku_key={"S": row[0]},
                          title={"S": row[TITLE]}, fba={"BOOL": row[FBA]}, state={"S": row[STATE]},
                          load_fields={"S": load_fields(row)})
        for index, name, attribute in optional:
            value = row[index]
            if value is not None:
                attributes[name] = {"N" if name in number_attributes else "S": attribute.serialize(value)}
        if _unlimited(row[OFFER]):
            attributes["ignore_sync"] = {"BOOL": True}
        if row[PARENT] is not None:
            attributes.update({name: {"S": key} for name, key in db.variation_keys(channel_id, row[PARENT],
                                                                                     row[0]).items()})
        return attributes

    return item
