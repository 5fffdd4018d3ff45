"""Reading listings and items in bulk, and writing listing changes with the channel's totals.

Every change of a listing's link goes through `ListingWriter.apply` (or, for the auto-mapper's
bulk links, `ListingWriter.link`): listing updates (each conditioned on the link and removed state
it was read with) and the channel's totals (ADD) in one transaction of up to 100 operations, so the
totals are always true. A change whose condition fails (someone else changed the listing meanwhile)
is reported, never applied half-way.

The auto-mapper's reads and links go through the low-level API (`stocksync.core.raw_table`): at 100,000
listings a pynamodb model object per listing costs more than everything else together.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition

from stocksync.core import db, raw_table
from stocksync.core.chunks import batched
from stocksync.core.db import CatalogueStatusRecord, ItemRecord, ListingRecord, Record, UniqueClaim
from stocksync.inventory.items import SKU_CLAIM
from stocksync.inventory.rules import normalize_sku
from stocksync.mapping.rules import ItemFacts, Link, ListingFacts, TotalsDelta, link_delta

TRANSACTION_OPS = 100
LINKS_PER_TRANSACTION = TRANSACTION_OPS - 1  # and the totals
MAX_ATTEMPTS = 6

T = TypeVar("T")
# A transaction about to be sent: for each of its operations, (index of its change, label), in the
# order DynamoDB reports cancellation reasons (index -1: not a change's, e.g. the totals); and the send.
Built = tuple[list[tuple[int, str]], Callable[[], None]]

_KEEP = object()


@dataclass
class ListingChange:
    """A change to one listing: its link (`link_to`, None = unlink, omitted = keep), other attribute
    actions, and new records written with it (an item created from the listing, its SKU claim...)."""

    listing: ListingRecord
    link_to: Any = _KEEP
    actions: list[Any] = field(default_factory=list)
    puts: list[tuple[Record, Condition | None, str]] = field(default_factory=list)  # (record, condition, label)
    checks: list[tuple[type[Record], str, str, Condition, str]] = field(default_factory=list)
    tag: Any = None

    @property
    def relinks(self) -> bool:
        return self.link_to is not _KEEP and self.link_to != self.listing.linked_item_id

    def delta(self) -> TotalsDelta:
        if not self.relinks:
            return TotalsDelta()
        return link_delta(self.listing.linked_item_id, self.link_to, bool(self.listing.removed))

    def op_count(self) -> int:
        return 1 + len(self.puts) + len(self.checks)

    def touched_items(self) -> set[str]:
        """Items whose stock the change concerns: the old and the new linked item."""
        ids = {self.listing.linked_item_id}
        if self.link_to is not _KEEP:
            ids.add(self.link_to)
        return {item_id for item_id in ids if item_id}


@dataclass
class Refused(Generic[T]):
    change: T  # a ListingChange (`apply`) or a Link (`link`)
    reason: str  # "listing_changed", or the label of the put / check whose condition failed


@dataclass
class ApplyResult(Generic[T]):
    applied: list[T] = field(default_factory=list)
    refused: list[Refused[T]] = field(default_factory=list)
    transactions: int = 0


class ListingWriter:
    def apply(self, channel_id: str, changes: Sequence[ListingChange]) -> ApplyResult[ListingChange]:
        result: ApplyResult[ListingChange] = ApplyResult()
        group: list[ListingChange] = []
        ops = 1  # the totals update

        def build(pending: list[ListingChange]) -> Built:
            owners, tx = self._build(channel_id, pending)
            return owners, partial(_send, tx)

        for change in changes:
            if group and ops + change.op_count() > TRANSACTION_OPS:
                self._commit(group, build, result)
                group, ops = [], 1
            group.append(change)
            ops += change.op_count()
        if group:
            self._commit(group, build, result)
        return result

    def link(self, channel_id: str, links: Sequence[Link],
             progress: Callable[[int], dict[str, Any]] | None = None) -> ApplyResult[Link]:
        """Link unlinked, non-removed listings: 99 a transaction with the channel's totals (ADD).

        Each listing's update is conditioned on it still being unlinked and not removed: one linked,
        unlinked or removed meanwhile is refused ("listing_changed") and the others go in. Built as raw
        requests: no model object per listing. `progress(n)`, when given, is a raw Update adding n to a
        job's progress; it rides in the call's last transaction with n = the links the call committed,
        so the progress is exactly what was linked and costs no request of its own when that
        transaction has room (98 links or fewer)."""
        result: ApplyResult[Link] = ApplyResult()
        at = {"S": ListingRecord.updated_at.serialize(db.now())}
        groups = list(batched(links, LINKS_PER_TRANSACTION))
        if progress is not None and (not groups or len(groups[-1]) == LINKS_PER_TRANSACTION):
            groups.append([])
        for number, group in enumerate(groups):
            last = progress is not None and number == len(groups) - 1

            def build(pending: list[Link], last: bool = last) -> Built:
                updates = [_link_update(channel_id, link, at) for link in pending]
                owners = [(index, "listing_changed") for index in range(len(pending))]
                if pending:
                    updates.append(_totals_update(channel_id, TotalsDelta(len(pending), -len(pending))))
                    owners.append((-1, "totals"))
                if last and progress is not None:
                    updates.append(progress(len(result.applied) + len(pending)))
                    owners.append((-1, "progress"))
                return owners, lambda: raw_table.transact_updates(updates)

            self._commit(group, build, result, send_empty=last)
        return result

    @staticmethod
    def _commit(group: list[T], build: Callable[[list[T]], Built], result: ApplyResult[T], *,
                send_empty: bool = False) -> None:
        """Send one transaction of `group`; changes whose condition fails are refused and the others sent
        again. `send_empty`: send it even when no change is left (it carries other operations)."""
        pending = list(group)
        for attempt in range(MAX_ATTEMPTS):
            if not pending and not send_empty:
                return
            owners, send = build(pending)
            result.transactions += 1
            try:
                send()
            except TransactWriteError as exc:
                failed = db.failed_conditions(exc) if exc.cancellation_reasons else []
                losers = {owners[i] for i, bad in enumerate(failed) if bad and owners[i][0] >= 0}
                if not losers:
                    if attempt == MAX_ATTEMPTS - 1:
                        raise
                    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not crypto
                    continue
                by_index = {index: label for index, label in losers}
                result.refused.extend(Refused(pending[i], label) for i, label in sorted(by_index.items()))
                pending = [change for i, change in enumerate(pending) if i not in by_index]
                continue
            result.applied.extend(pending)
            return
        raise RuntimeError("listing changes kept conflicting")

    @staticmethod
    def _build(channel_id: str, changes: list[ListingChange]) -> tuple[list[tuple[int, str]], db.TransactWrite]:
        tx = db.transaction()
        checks: list[tuple[int, str]] = []
        puts: list[tuple[int, str]] = []
        updates: list[tuple[int, str]] = []
        total = TotalsDelta()
        at = db.now()
        for index, change in enumerate(changes):
            for model, hash_key, range_key, condition, label in change.checks:
                tx.condition_check(model, hash_key, range_key, condition=condition)
                checks.append((index, label))
            for record, put_condition, label in change.puts:
                tx.save(record, condition=put_condition)
                puts.append((index, label))
            listing = change.listing
            record = ListingRecord(**ListingRecord.keys(channel_id, listing.sku_key))
            tx.update(record, actions=[*_link_actions(channel_id, change), *change.actions,
                                       ListingRecord.updated_at.set(at)],
                      condition=_as_read(listing))
            updates.append((index, "listing_changed"))
            total = total + change.delta()
        if total:
            tx.update(CatalogueStatusRecord(**CatalogueStatusRecord.keys(channel_id)),
                      actions=_totals_actions(channel_id, total))
            updates.append((-1, "totals"))
        # pynamodb sends condition checks, then deletes, puts and updates, in that order.
        return [*checks, *puts, *updates], tx


def _send(tx: db.TransactWrite) -> None:
    with tx:  # a TransactWrite commits when its block ends
        pass


def _totals_actions(channel_id: str, total: TotalsDelta) -> list[Any]:
    return [CatalogueStatusRecord.channel_id.set(channel_id), CatalogueStatusRecord.total_linked.add(total.linked),
            CatalogueStatusRecord.total_unlinked.add(total.unlinked), CatalogueStatusRecord.totals_at.set(db.now())]


# The raw update of the totals in `ListingWriter.link`: what `_totals_actions` does, spelt out once.
_TOTALS = "SET channel_id = :channel, totals_at = :at ADD total_linked :linked, total_unlinked :unlinked"


def _totals_update(channel_id: str, total: TotalsDelta) -> dict[str, Any]:
    keys = CatalogueStatusRecord.keys(channel_id)
    return {"TableName": CatalogueStatusRecord.Meta.table_name,
            "Key": {"PK": {"S": keys["PK"]}, "SK": {"S": keys["SK"]}}, "UpdateExpression": _TOTALS,
            "ExpressionAttributeValues": {
                ":channel": {"S": channel_id}, ":at": {"S": CatalogueStatusRecord.totals_at.serialize(db.now())},
                ":linked": {"N": str(total.linked)}, ":unlinked": {"N": str(total.unlinked)}}}


# The raw update of `ListingWriter.link`: what `apply` writes for a ListingChange(link_to=...) of an
# unlinked, non-removed listing (`_link_actions`, `_as_read`), spelt out once for every link. None of
# the names is a reserved word, so they go without placeholders (a smaller request to build and send).
# A new link is due for the scheduled sync until its first submission is recorded (GSI3).
_LINK = ("SET linked_item_id = :item, GSI4PK = :gsi4pk, GSI4SK = :gsi4sk, GSI3PK = :gsi3pk, GSI3SK = :gsi3sk, "
         "updated_at = :at")
_NOT_REMOVED = "(removed = :false OR attribute_not_exists (removed))"
_STILL_UNLINKED = f"attribute_exists (PK) AND attribute_not_exists (linked_item_id) AND {_NOT_REMOVED}"
_FALSE = {"BOOL": False}


def _link_update(channel_id: str, link: Link, at: dict[str, str]) -> dict[str, Any]:
    keys = ListingRecord.keys(channel_id, link.sku_key, link.sku, link.item_id)
    due = db.sync_due_keys(channel_id, link.sku_key)
    return {"TableName": ListingRecord.Meta.table_name,
            "Key": {"PK": {"S": keys["PK"]}, "SK": {"S": keys["SK"]}},
            "UpdateExpression": _LINK, "ConditionExpression": _STILL_UNLINKED,
            "ExpressionAttributeValues": {":item": {"S": link.item_id}, ":gsi4pk": {"S": keys["GSI4PK"]},
                                          ":gsi4sk": {"S": keys["GSI4SK"]}, ":gsi3pk": {"S": due["GSI3PK"]},
                                          ":gsi3sk": {"S": due["GSI3SK"]}, ":at": at, ":false": _FALSE}}


def _link_actions(channel_id: str, change: ListingChange) -> list[Any]:
    if not change.relinks:
        return []
    listing = change.listing
    if change.link_to is None:  # no longer synced: nothing due either
        return [ListingRecord.linked_item_id.remove(), ListingRecord.GSI4PK.remove(), ListingRecord.GSI4SK.remove(),
                ListingRecord.GSI3PK.remove(), ListingRecord.GSI3SK.remove()]
    keys = ListingRecord.keys(channel_id, listing.sku_key, listing.sku, change.link_to)
    due = db.sync_due_keys(channel_id, listing.sku_key)
    return [ListingRecord.linked_item_id.set(change.link_to), ListingRecord.GSI4PK.set(keys["GSI4PK"]),
            ListingRecord.GSI4SK.set(keys["GSI4SK"]), ListingRecord.GSI3PK.set(due["GSI3PK"]),
            ListingRecord.GSI3SK.set(due["GSI3SK"])]


def _as_read(listing: ListingRecord) -> Condition:
    """The listing still has the link and removed state it was read with (the totals depend on both)."""
    linked = (ListingRecord.linked_item_id == listing.linked_item_id) if listing.linked_item_id \
        else ListingRecord.linked_item_id.does_not_exist()
    removed = (ListingRecord.removed == True) if listing.removed \
        else (ListingRecord.removed == False) | ListingRecord.removed.does_not_exist()  # noqa: E712
    return ListingRecord.PK.exists() & linked & removed


# --- reading in bulk ---------------------------------------------------------------------------


def listings_by_key(channel_id: str, sku_keys: Iterable[str], *,
                    consistent_read: bool = False) -> dict[str, ListingRecord]:
    """The channel's listings with these SKU keys (BatchGetItem: pynamodb asks 100 keys at a time)."""
    keys = [(db.channel_pk(channel_id), db.listing_sk(key)) for key in sorted(set(sku_keys))]
    return {record.sku_key: record for record in ListingRecord.batch_get(keys, consistent_read=consistent_read)}


def items_by_id(item_ids: Iterable[str]) -> dict[str, ItemRecord]:
    keys = [(db.item_pk(item_id), "ITEM") for item_id in sorted({item_id for item_id in item_ids if item_id})]
    return {record.item_id: record for record in ItemRecord.batch_get(keys)}


def item_ids_by_sku_key(sku_keys: Iterable[str]) -> dict[str, str]:
    """The item id holding each SKU key (through the SKU claims, in BatchGetItems)."""
    prefix = UniqueClaim.keys(SKU_CLAIM, "")["PK"]
    keys = [(UniqueClaim.keys(SKU_CLAIM, key)["PK"], "UNIQUE") for key in sorted(set(sku_keys))]
    return {claim.PK.removeprefix(prefix): claim.owner_id for claim in UniqueClaim.batch_get(keys)}


def sku_owners() -> Iterator[tuple[str, str]]:
    """(SKU key, item id) of every item, from the SKU claims (GSI1 `SKU_CLAIMS`, in SKU key order): the
    SKU index in records of about 100 bytes, a tenth of the pages the items themselves take."""
    claims = raw_table.query("GSI1PK = :pk", {":pk": {"S": db.SKU_CLAIMS_PARTITION}}, ["GSI1SK", "owner_id"],
                             index="GSI1")
    for found in claims:
        yield found["GSI1SK"]["S"], found["owner_id"]["S"]


def channel_listings(channel_id: str, attributes: Sequence[str] | None = None, after_key: str | None = None,
                     page_size: int | None = None, *, descending: bool = False) -> Iterator[ListingRecord]:
    """Every listing of the channel in SKU-key order, or its reverse (optionally only some attributes),
    from the one after `after_key`. `page_size` listings per request (DynamoDB's 1 MB otherwise: some
    1,900 listings, where a screen wants 50)."""
    wanted = None if attributes is None else sorted({"PK", "SK", "entity", "sku", "sku_key", *attributes})
    start = None if after_key is None else {"PK": {"S": db.channel_pk(channel_id)},
                                            "SK": {"S": db.listing_sk(after_key)}}
    yield from ListingRecord.query(db.channel_pk(channel_id), ListingRecord.SK.startswith(db.LISTING_PREFIX),
                                   attributes_to_get=wanted, last_evaluated_key=start, page_size=page_size,
                                   scan_index_forward=not descending)


def variation_children(channel_id: str, parent: str) -> Iterator[ListingRecord]:
    """One parent's variation children on the channel, in SKU-key order (GSI1)."""
    for found in ListingRecord.gsi1.query(db.variation_pk(channel_id, parent)):
        if isinstance(found, ListingRecord):
            yield found


def listing_facts(channel_id: str, *, barcode: bool = False, asin: bool = False) -> Iterator[ListingFacts]:
    """Every listing of the channel that auto-link looks at (not removed), read with the low-level client
    (no model object per listing) and only what it needs: the SKU (its key is derived, as the listing's
    own key was), the link, and the barcode or the ASIN when asked. Removed listings are filtered out
    by DynamoDB: they are neither candidates nor links that count."""
    listing = ListingRecord
    wanted = [listing.sku.attr_name, listing.linked_item_id.attr_name,
              *([listing.barcode.attr_name] if barcode else []), *([listing.asin.attr_name] if asin else [])]
    plain = raw_table.plain
    for found in _raw_listings(channel_id, wanted, not_removed=True):
        sku = found["sku"]["S"]
        linked = found.get("linked_item_id")
        yield ListingFacts(sku, normalize_sku(sku), linked and plain(linked), False,
                           plain(found.get("barcode")) if barcode else None, plain(found.get("asin")) if asin else None)


def _raw_listings(channel_id: str, attributes: list[str], *, not_removed: bool = False) -> Iterator[dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {":pk": {"S": db.channel_pk(channel_id)}, ":prefix": {"S": db.LISTING_PREFIX}}
    if not_removed:
        values[":false"] = _FALSE
    return raw_table.query("PK = :pk AND begins_with(SK, :prefix)", values, attributes,
                           filter_expression=_NOT_REMOVED if not_removed else None)


def item_facts(*, barcode: bool = False, asin: bool = False) -> Iterator[ItemFacts]:
    """Every item (the ITEMS partition of GSI1, in SKU key order) as auto-link matches it: id and SKU,
    and the barcode or the ASIN (an extended property) when asked. Low-level reads, as `listing_facts`."""
    item = ItemRecord
    wanted = [item.item_id.attr_name, item.sku.attr_name, *([item.barcode.attr_name] if barcode else []),
              *([item.extended_properties.attr_name] if asin else [])]
    plain = raw_table.plain
    for found in raw_table.query("GSI1PK = :pk", {":pk": {"S": db.ITEMS_PARTITION}}, wanted, index="GSI1"):
        properties = found.get("extended_properties", {}).get("M", {})
        yield ItemFacts(found["item_id"]["S"], found["sku"]["S"], plain(found.get("barcode")),
                        next((str(plain(value)) for name, value in properties.items()
                              if name.strip().upper() == "ASIN"), None))


def channel_links_of(item_id: str, channel_id: str) -> list[str]:
    """SKUs of the channel's listings linked to an item (GSI4)."""
    prefix = f"{db.LISTING_PREFIX}{channel_id}#"
    return [found["GSI4SK"]["S"].removeprefix(prefix)
            for found in raw_table.index_partition("GSI4", db.item_pk(item_id), prefix, ["GSI4SK"])]


def totals(channel_id: str) -> CatalogueStatusRecord:
    return db.get_or_none(CatalogueStatusRecord, CatalogueStatusRecord.keys(channel_id)) or CatalogueStatusRecord(
        **CatalogueStatusRecord.keys(channel_id), channel_id=channel_id)


def recount(channel_id: str) -> dict[str, int]:
    """The totals counted from the listings themselves (checks, repairs, a catalogue load that raced a link)."""
    counts = {"active": 0, "linked": 0, "unlinked": 0, "fba": 0}
    plain = raw_table.plain
    listing = ListingRecord
    wanted = [listing.linked_item_id.attr_name, listing.removed.attr_name, listing.fba.attr_name]
    for found in _raw_listings(channel_id, wanted):
        if plain(found.get("removed")):
            continue
        counts["active"] += 1
        counts["linked" if plain(found.get("linked_item_id")) else "unlinked"] += 1
        counts["fba"] += bool(plain(found.get("fba")))
    return counts
