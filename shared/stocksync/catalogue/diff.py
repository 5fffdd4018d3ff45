"""A load compared with the current listings: both sorted by SKU key, walked once side by side."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from stocksync.catalogue.reader import FBA, KEY, PARENT, QUANTITY, SKU, STATE, Row

CREATE, UPDATE, SAME, REMOVE = "create", "update", "same", "remove"
_STORED_STATE, _STORED_PARENT = STATE - SKU, PARENT - SKU  # where a stored listing's fields hold them
REMOVED = "removed"  # the state of a listing gone from the channel


class Current(NamedTuple):
    """What a stored listing looks like to the diff."""

    key: str
    fields: tuple[Any, ...] | None  # the catalogue-owned fields, as row[SKU:]; None: never loaded
    removed: bool
    linked_item_id: str | None
    submitted_quantity: int | None
    ignore_sync: bool


class Change(NamedTuple):
    kind: str
    row: Row | None
    current: Current | None
    drift: bool  # linked, synced, and the channel reports a quantity we did not submit


def diff(rows: Iterable[Row], current: Iterable[Current], *, complete: bool = True,
         kept_when_absent: frozenset[str] = frozenset()) -> Iterator[Change]:
    """Changes that make `current` equal to the load `rows` (both sorted by key, keys unique in rows).

    A row in state `removed` (a differential export's deleted offer) removes its listing. A stored
    listing absent from the rows is removed when the load is `complete`, unless its state is one of
    `kept_when_absent` (a source listing active listings only leaves out those we ended at 0), or it
    is a variation we sent 0 on such a source.

    Called once per row of every load, so it stays lean: stored listings are unpacked as tuples and
    changes built with tuple.__new__ (a NamedTuple's own __new__ is a Python-level call).
    """
    def absent(have: Current) -> bool:
        """Whether a stored listing the load does not name is to be removed now. On a source listing
        active listings only, a variation we took to 0 is kept too: it is absent when its whole
        listing was ended with its last variation, and its restock is what brings the listing back."""
        if not complete or have[2]:
            return False
        if not kept_when_absent or have[1] is None:
            return True
        fields = have[1]
        return not (fields[_STORED_STATE] in kept_when_absent or (fields[_STORED_PARENT] is not None and have[4] == 0))

    stored = iter(current)
    have = next(stored, None)
    for row in rows:
        key = row[KEY]
        while have is not None and have[0] < key:
            if absent(have):
                yield _new(Change, (REMOVE, None, have, False))
            have = next(stored, None)
        if row[STATE] == REMOVED:  # a deleted offer: its listing (if any) goes
            if have is not None and have[0] == key:
                if not have[2]:
                    yield _new(Change, (REMOVE, None, have, False))
                have = next(stored, None)
            continue
        if have is None or have[0] != key:
            yield _new(Change, (CREATE, row, None, False))
            continue
        _, fields, removed, linked_item_id, submitted, ignore_sync = have
        quantity = row[QUANTITY]
        drift = (linked_item_id is not None and submitted is not None and not ignore_sync and not row[FBA]
                 and quantity is not None and quantity != submitted)
        same = fields == row[SKU:] and not removed
        yield _new(Change, (SAME if same else UPDATE, row, have, drift))
        have = next(stored, None)
    while have is not None:
        if absent(have):
            yield _new(Change, (REMOVE, None, have, False))
        have = next(stored, None)


_new = tuple.__new__
