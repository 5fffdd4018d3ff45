"""Reading listings and items in bulk, and writing listing changes with the channel's totals.

Every change of a listing's link goes through `ListingWriter.apply`: listing updates (each
conditioned on the link and removed state it was read with) and the channel's totals (ADD) in one
transaction of up to 100 operations, so the totals are always true. A change whose condition fails
(someone else changed the listing meanwhile) is reported, never applied half-way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition

from stocksync import db
from stocksync.db import CatalogueStatusRecord, ItemRecord, ListingRecord, Record, UniqueClaim
from stocksync.inventory import SKU_CLAIM
from stocksync.mapping.rules import TotalsDelta, link_delta

BATCH_GET = 100
TRANSACTION_OPS = 100
MAX_ATTEMPTS = 6

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
class Refused:
    change: ListingChange
    reason: str  # "listing_changed", or the label of the put / check whose condition failed


@dataclass
class ApplyResult:
    applied: list[ListingChange] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    transactions: int = 0


class ListingWriter:
    def apply(self, channel_id: str, changes: Sequence[ListingChange]) -> ApplyResult:
        result = ApplyResult()
        group: list[ListingChange] = []
        ops = 1  # the totals update
        for change in changes:
            if group and ops + change.op_count() > TRANSACTION_OPS:
                self._commit(channel_id, group, result)
                group, ops = [], 1
            group.append(change)
            ops += change.op_count()
        if group:
            self._commit(channel_id, group, result)
        return result

    def _commit(self, channel_id: str, group: list[ListingChange], result: ApplyResult) -> None:
        pending = list(group)
        for attempt in range(MAX_ATTEMPTS):
            if not pending:
                return
            owners, tx = self._build(channel_id, pending)
            result.transactions += 1
            try:
                with tx:
                    pass
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
            for record, condition, label in change.puts:
                tx.save(record, condition=condition)
                puts.append((index, label))
            listing = change.listing
            record = ListingRecord(**ListingRecord.keys(channel_id, listing.sku_key))
            tx.update(record, actions=[*_link_actions(channel_id, change), *change.actions,
                                       ListingRecord.updated_at.set(at)],
                      condition=_as_read(listing))
            updates.append((index, "listing_changed"))
            total = total + change.delta()
        if total:
            status = CatalogueStatusRecord(**CatalogueStatusRecord.keys(channel_id))
            tx.update(status, actions=[CatalogueStatusRecord.channel_id.set(channel_id),
                                       CatalogueStatusRecord.total_linked.add(total.linked),
                                       CatalogueStatusRecord.total_unlinked.add(total.unlinked),
                                       CatalogueStatusRecord.totals_at.set(at)])
            updates.append((-1, "totals"))
        # pynamodb sends condition checks, then deletes, puts and updates, in that order.
        return [*checks, *puts, *updates], tx


def _link_actions(channel_id: str, change: ListingChange) -> list[Any]:
    if not change.relinks:
        return []
    listing = change.listing
    if change.link_to is None:
        return [ListingRecord.linked_item_id.remove(), ListingRecord.GSI2PK.remove(), ListingRecord.GSI2SK.remove()]
    keys = ListingRecord.keys(channel_id, listing.sku_key, listing.sku, change.link_to)
    return [ListingRecord.linked_item_id.set(change.link_to), ListingRecord.GSI2PK.set(keys["GSI2PK"]),
            ListingRecord.GSI2SK.set(keys["GSI2SK"])]


def _as_read(listing: ListingRecord) -> Condition:
    """The listing still has the link and removed state it was read with (the totals depend on both)."""
    linked = (ListingRecord.linked_item_id == listing.linked_item_id) if listing.linked_item_id \
        else ListingRecord.linked_item_id.does_not_exist()
    removed = (ListingRecord.removed == True) if listing.removed \
        else (ListingRecord.removed == False) | ListingRecord.removed.does_not_exist()  # noqa: E712
    return ListingRecord.PK.exists() & linked & removed


# --- reading in bulk ---------------------------------------------------------------------------


def listings_by_key(channel_id: str, sku_keys: Iterable[str]) -> dict[str, ListingRecord]:
    keys = sorted(set(sku_keys))
    found: dict[str, ListingRecord] = {}
    for start in range(0, len(keys), BATCH_GET):
        batch = [(db.channel_pk(channel_id), db.listing_sk(key)) for key in keys[start : start + BATCH_GET]]
        for record in ListingRecord.batch_get(batch):
            found[record.sku_key] = record
    return found


def items_by_id(item_ids: Iterable[str]) -> dict[str, ItemRecord]:
    ids = sorted({item_id for item_id in item_ids if item_id})
    found: dict[str, ItemRecord] = {}
    for start in range(0, len(ids), BATCH_GET):
        batch = [(db.item_pk(item_id), "ITEM") for item_id in ids[start : start + BATCH_GET]]
        for record in ItemRecord.batch_get(batch):
            found[record.item_id] = record
    return found


def item_ids_by_sku_key(sku_keys: Iterable[str]) -> dict[str, str]:
    """The item id holding each SKU key (through the SKU claims), BatchGetItem 100 at a time."""
    keys = sorted(set(sku_keys))
    found: dict[str, str] = {}
    prefix = UniqueClaim.keys(SKU_CLAIM, "")["PK"]
    for start in range(0, len(keys), BATCH_GET):
        batch = [(UniqueClaim.keys(SKU_CLAIM, key)["PK"], "UNIQUE") for key in keys[start : start + BATCH_GET]]
        for claim in UniqueClaim.batch_get(batch):
            found[claim.PK.removeprefix(prefix)] = claim.owner_id
    return found


def channel_listings(channel_id: str, attributes: Sequence[str] | None = None,
                     after_key: str | None = None) -> Iterator[ListingRecord]:
    """Every listing of the channel in SKU-key order (optionally only some attributes)."""
    wanted = None if attributes is None else sorted({"PK", "SK", "entity", "sku", "sku_key", *attributes})
    start = None if after_key is None else {"PK": {"S": db.channel_pk(channel_id)},
                                            "SK": {"S": db.listing_sk(after_key)}}
    yield from ListingRecord.query(db.channel_pk(channel_id), ListingRecord.SK.startswith(db.LISTING_PREFIX),
                                   attributes_to_get=wanted, last_evaluated_key=start)


def all_items(attributes: Sequence[str]) -> Iterator[ItemRecord]:
    """Every item (the ITEMS partition of GSI1), only the given attributes."""
    wanted = sorted({"PK", "SK", "GSI1PK", "GSI1SK", "entity", "item_id", "sku", *attributes})
    for record in ItemRecord.gsi1.query(db.ITEMS_PARTITION, attributes_to_get=wanted):
        if isinstance(record, ItemRecord):
            yield record


def channel_links_of(item_id: str, channel_id: str) -> list[str]:
    """SKUs of the channel's listings linked to an item (GSI2)."""
    prefix = f"{db.LISTING_PREFIX}{channel_id}#"
    linked = ListingRecord.gsi2.query(db.item_pk(item_id), ListingRecord.GSI2SK.startswith(prefix))
    return [record.sku for record in linked if isinstance(record, ListingRecord)]


def totals(channel_id: str) -> CatalogueStatusRecord:
    return db.get_or_none(CatalogueStatusRecord, CatalogueStatusRecord.keys(channel_id)) or CatalogueStatusRecord(
        **CatalogueStatusRecord.keys(channel_id), channel_id=channel_id)


def recount(channel_id: str) -> dict[str, int]:
    """The totals counted from the listings themselves (for checks and repairs)."""
    counts = {"active": 0, "linked": 0, "unlinked": 0, "fba": 0}
    for listing in channel_listings(channel_id, ["linked_item_id", "removed", "fba"]):
        if listing.removed:
            continue
        counts["active"] += 1
        counts["linked" if listing.linked_item_id else "unlinked"] += 1
        counts["fba"] += bool(listing.fba)
    return counts
