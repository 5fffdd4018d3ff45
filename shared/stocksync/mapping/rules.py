"""Pure mapping rules: listing limits, auto-link matching and the identities it matches by. No AWS."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stocksync.channels.types import AutoLinkBy, ListingLimits
from stocksync.inventory.rules import normalize_sku

# --- identities --------------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+")


def barcode_key(barcode: str | None) -> str | None:
    """EAN-13, UPC-A and GTIN-14 of one product compare equal (leading zeros dropped); others trimmed, any case."""
    if not barcode or not barcode.strip():
        return None
    text = barcode.strip()
    if _DIGITS.fullmatch(text):
        return text.lstrip("0") or "0"
    return text.casefold()


def asin_key(asin: str | None) -> str | None:
    return asin.strip().upper() or None if asin else None


# --- auto-link ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingFacts:
    sku: str
    sku_key: str
    linked_item_id: str | None = None
    removed: bool = False
    barcode: str | None = None
    asin: str | None = None


@dataclass(frozen=True)
class ItemFacts:
    item_id: str
    sku: str
    barcode: str | None = None
    asin: str | None = None


@dataclass(frozen=True)
class Link:
    sku_key: str
    sku: str
    item_id: str
    matched_by: AutoLinkBy


@dataclass
class AutoLinkPlan:
    links: list[Link] = field(default_factory=list)
    ambiguous: list[dict] = field(default_factory=list)  # {"skus": [...], "reason": ..., "item_ids": [...]}
    unmatched: int = 0
    candidates: int = 0

    def counts(self) -> dict[str, int]:
        return {"candidates": self.candidates, "linked": len(self.links),
                "ambiguous": sum(len(entry["skus"]) for entry in self.ambiguous), "unmatched": self.unmatched}


class ItemIndex:
    """Items by SKU key (and by barcode / ASIN key when asked), each key to every item that has it."""

    def __init__(self, items: Iterable[ItemFacts] = (), by: AutoLinkBy = "sku") -> None:
        self.by = by
        self.sku: dict[str, list[str]] = {}
        self.other: dict[str, list[str]] = {}
        for item in items:
            self.add(item)

    @classmethod
    def of_sku_keys(cls, owners: Iterable[tuple[str, str]]) -> ItemIndex:
        """Items by SKU key alone, from (SKU key, item id) pairs whose keys are normalised already (the
        SKU claims): what matching by SKU needs, without an item's other facts."""
        index = cls()
        by_key = index.sku
        for key, item_id in owners:
            found = by_key.get(key)
            if found is None:
                by_key[key] = [item_id]
            else:
                found.append(item_id)
        return index

    def add(self, item: ItemFacts) -> None:
        self.sku.setdefault(normalize_sku(item.sku), []).append(item.item_id)
        key = self._other_key(item.barcode, item.asin)
        if key:
            self.other.setdefault(key, []).append(item.item_id)

    def _other_key(self, barcode: str | None, asin: str | None) -> str | None:
        if self.by == "barcode":
            return barcode_key(barcode)
        if self.by == "asin":
            return asin_key(asin)
        return None

    def match(self, listing: ListingFacts) -> tuple[list[str], AutoLinkBy]:
        found = self.sku.get(listing.sku_key) or self.sku.get(normalize_sku(listing.sku))
        if found:
            return _unique(found), "sku"
        key = self._other_key(listing.barcode, listing.asin)
        if key and key in self.other:
            return _unique(self.other[key]), self.by
        return [], "sku"


def plan_auto_links(listings: Iterable[ListingFacts], index: ItemIndex, *,
                    one_listing_per_item: bool = False) -> AutoLinkPlan:
    """Which unlinked, non-removed listings to link to which item.

    A listing whose key matches several items is linked to none (ambiguous). With
    `one_listing_per_item`, an item that would end up with several listings of the channel (counting
    those already linked to it) gets none of the new ones (ambiguous too)."""
    plan = AutoLinkPlan()
    linked_items: dict[str, int] = {}
    proposed: dict[str, list[Link]] = {}
    for listing in listings:
        if listing.linked_item_id:
            if not listing.removed:
                linked_items[listing.linked_item_id] = linked_items.get(listing.linked_item_id, 0) + 1
            continue
        if listing.removed:
            continue
        plan.candidates += 1
        item_ids, matched_by = index.match(listing)
        if not item_ids:
            plan.unmatched += 1
        elif len(item_ids) > 1:
            plan.ambiguous.append({"skus": [listing.sku], "reason": f"matches {len(item_ids)} items by {matched_by}",
                                   "item_ids": item_ids})
        else:
            proposed.setdefault(item_ids[0], []).append(Link(listing.sku_key, listing.sku, item_ids[0], matched_by))
    for item_id, links in proposed.items():
        if one_listing_per_item and len(links) + linked_items.get(item_id, 0) > 1:
            reason = ("the item is already linked to another listing of this channel" if item_id in linked_items
                      else f"{len(links)} listings would link to one item")
            plan.ambiguous.append({"skus": sorted(link.sku for link in links), "reason": reason,
                                   "item_ids": [item_id]})
            continue
        plan.links.extend(links)
    plan.links.sort(key=lambda link: link.sku_key)
    return plan


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


# --- totals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TotalsDelta:
    """What one change of link does to a channel's totals (removed listings count in none)."""

    linked: int = 0
    unlinked: int = 0

    def __add__(self, other: TotalsDelta) -> TotalsDelta:
        return TotalsDelta(self.linked + other.linked, self.unlinked + other.unlinked)

    def __bool__(self) -> bool:
        return bool(self.linked or self.unlinked)


def link_delta(before: str | None, after: str | None, removed: bool) -> TotalsDelta:
    if removed or bool(before) == bool(after):
        return TotalsDelta()
    return TotalsDelta(1, -1) if after else TotalsDelta(-1, 1)


def effective_limits(own: Mapping[str, float | None], defaults: ListingLimits) -> ListingLimits:
    """A listing's limits: its own where set, else the channel's default."""
    limits: dict[str, Any] = {name: own.get(name) if own.get(name) is not None else getattr(defaults, name)
                              for name in ("max_listed", "end_when", "percentage")}
    return ListingLimits(**limits)
