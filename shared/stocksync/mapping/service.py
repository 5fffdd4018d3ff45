"""The mapping screen's operations on one listing, and the listings page. Uses AWS (the table).

Every change of a link, a flag or a limit puts the listing's item(s) on the stock queue; every
change of a link updates the channel's totals in the same transaction (see `store.ListingWriter`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stocksync.channels.base import QuantityStatus
from stocksync.channels.store import ChannelPatch, ChannelStore
from stocksync.channels.types import ChannelType, MappingSettings
from stocksync.core import db
from stocksync.core.automation_log import AutomationLog
from stocksync.core.db import (
    ChannelRecord,
    ItemRecord,
    ListingRecord,
    StockHistoryRecord,
    StockLevelRecord,
    UniqueClaim,
)
from stocksync.core.errors import Conflict, InvalidInput, NotFound
from stocksync.core.jobs import Jobs
from stocksync.core.messages import (
    JobMessage,
    JobQueue,
    MappingMessage,
    MappingQueue,
    StockChange,
    StockChangePublisher,
)
from stocksync.inventory.items import Inventory, ItemInput
from stocksync.inventory.locations import Locations
from stocksync.inventory.rules import normalize_sku
from stocksync.mapping import store
from stocksync.mapping.rules import ListingLimits
from stocksync.mapping.store import ListingChange, ListingWriter

RAKUTEN_CREATE_REFUSED = (
    "You cannot create inventory items from the Rakuten mapping screen: you can only map Rakuten listings to "
    "inventory items already in the inventory."
)
AUTO_LINK_JOB = "mapping_auto_link"
CREATE_ALL_JOB = "mapping_create_all"
IMPORT_JOB = "mapping_import"
MAX_SCANNED_PER_PAGE = 5000
NARROW_READ_PAGE = 500  # listings per read when a filter may pass few of them
_LIMITS = ("max_listed", "end_when", "percentage")


class LinksListener(Protocol):
    """Told once per batch of committed links of a channel (sku key -> item id): open orders whose
    lines waited for those listings re-link and allocate (orders/importer.py OrderBook.relink)."""

    def __call__(self, channel_id: str, links: dict[str, str], /) -> object: ...


def no_listener(channel_id: str, links: dict[str, str], /) -> None:
    return None


class LinkInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str | None = Field(default=None, min_length=1, max_length=64)
    sku: str | None = Field(default=None, min_length=1, max_length=200, description="The item's SKU, any case")

    @model_validator(mode="after")
    def _one(self) -> LinkInput:
        if (self.item_id is None) == (self.sku is None):
            raise ValueError("give exactly one of item_id and sku")
        return self


class ListingPatch(BaseModel):
    """Ignore Sync and listing limits; a limit set to null goes back to the channel's default."""

    model_config = ConfigDict(extra="forbid")
    ignore_sync: bool | None = None
    max_listed: int | None = Field(default=None, ge=0, le=10_000_000)
    end_when: int | None = Field(default=None, ge=0, le=10_000_000)
    percentage: float | None = Field(default=None, ge=0, le=100)


@dataclass
class ListingFilter:
    linked: bool | None = None
    fba: bool | None = None
    ignore_sync: bool | None = None
    errors: bool | None = None
    throttled: bool | None = None
    removed: bool | None = False
    q: str = ""
    parent: str | None = None  # one parent's variation children only (its key as the channel names it)

    def page_size(self, limit: int) -> int:
        """Listings to read per request for a page of `limit`: the page and one more (is there a next
        page?) while only removed listings are hidden (few are); more for a filter that may pass few."""
        narrows = (any(wanted is not None
                       for wanted in (self.linked, self.fba, self.ignore_sync, self.errors, self.throttled))
                   or self.removed is True or bool(self.q.strip()))
        return max(limit + 1, NARROW_READ_PAGE) if narrows else limit + 1

    def accepts(self, listing: ListingRecord) -> bool:
        def same(wanted: bool | None, actual: bool) -> bool:
            return wanted is None or wanted == actual

        if not (same(self.linked, bool(listing.linked_item_id)) and same(self.fba, bool(listing.fba))
                and same(self.ignore_sync, bool(listing.ignore_sync)) and same(self.removed, bool(listing.removed))
                and same(self.errors, bool(listing.update_error) or listing.update_status == "error")
                and same(self.throttled, listing.update_status == QuantityStatus.RETRY.value)):
            return False
        if self.parent is not None and listing.variation_parent != self.parent.strip():
            return False
        if self.q:
            needle = self.q.strip().casefold()
            return needle in listing.sku_key or needle in (listing.title or "").casefold()
        return True


@dataclass
class ListingRow:
    listing: ListingRecord
    item: ItemRecord | None


@dataclass
class ListingPageResult:
    rows: list[ListingRow]
    next_cursor: str | None
    scanned: int


@dataclass
class CreatedItem:
    item: ItemRecord
    listing: ListingRecord


@dataclass
class ListingMapping:
    channels: ChannelStore
    inventory: Inventory
    locations: Locations
    stock_queue: StockChangePublisher
    jobs: Jobs
    job_queue: JobQueue | None  # None in a function that starts no jobs (the auto-mapper)
    mapping_queue: MappingQueue | None  # None in a function that asks for no auto-link runs
    log: AutomationLog = field(default_factory=AutomationLog)
    writer: ListingWriter = field(default_factory=ListingWriter)
    bucket: str = ""
    links_committed: LinksListener = no_listener

    # --- reading -----------------------------------------------------------------------------

    def channel(self, channel_id: str) -> ChannelRecord:
        return self.channels.get(channel_id)

    def listing(self, channel_id: str, sku: str) -> ListingRecord:
        self.channel(channel_id)
        return self._listing(channel_id, sku)

    def row(self, channel_id: str, sku: str) -> ListingRow:
        listing = self.listing(channel_id, sku)
        return self._rows([listing])[0]

    def page(self, channel_id: str, wanted: ListingFilter, *, limit: int, cursor: str | None,
             descending: bool = False) -> ListingPageResult:
        """One page of the channel's listings in SKU order that pass the filter, a parent's variation
        children together in SKU order where the first of them comes (a page runs over `limit` rather
        than part them). At most MAX_SCANNED_PER_PAGE listings are read per call: a sparse filter may
        give a short page with a cursor. `wanted.parent`: that parent's children only."""
        self.channel(channel_id)
        after = _cursor_key(cursor)
        if wanted.parent is not None:
            return self._children_page(channel_id, wanted, limit=limit, after=after, descending=descending)
        found: list[ListingRecord] = []
        families: dict[str, list[ListingRecord]] = {}  # parent -> its children that pass, read once a page
        scanned = 0
        last_key: str | None = None
        more = False
        for listing in store.channel_listings(channel_id, after_key=after, page_size=wanted.page_size(limit),
                                              descending=descending):
            if len(found) >= limit or scanned >= MAX_SCANNED_PER_PAGE:
                more = True
                break
            scanned += 1
            last_key = listing.sku_key
            if not wanted.accepts(listing):
                continue
            parent = listing.variation_parent
            if parent is None:
                found.append(listing)
                continue
            if parent not in families:
                children = [c for c in store.variation_children(channel_id, parent) if wanted.accepts(c)]
                families[parent] = children[::-1] if descending else children
            family = families[parent]
            if listing.sku_key not in {child.sku_key for child in family}:
                found.append(listing)  # not on the index (yet): shown where it stands
            elif family[0].sku_key == listing.sku_key:
                found.extend(family)
            # else: shown already, with the first of its siblings (on this page or an earlier one)
        next_cursor = db.encode_cursor({"after": last_key}) if more and last_key is not None else None
        return ListingPageResult(self._rows(found), next_cursor, scanned)

    def _children_page(self, channel_id: str, wanted: ListingFilter, *, limit: int, after: str | None,
                       descending: bool) -> ListingPageResult:
        ordered = list(store.variation_children(channel_id, str(wanted.parent).strip()))
        children = [child for child in (ordered[::-1] if descending else ordered)
                    if (after is None or (child.sku_key < after if descending else child.sku_key > after))
                    and wanted.accepts(child)]
        found = children[:limit]
        more = len(children) > limit
        next_cursor = db.encode_cursor({"after": found[-1].sku_key}) if more and found else None
        return ListingPageResult(self._rows(found), next_cursor, len(children))

    def totals(self, channel_id: str) -> db.CatalogueStatusRecord:
        return store.totals(channel_id)

    def settings(self, channel: ChannelRecord) -> MappingSettings:
        return MappingSettings.model_validate(channel.settings.as_dict().get("mapping") or {})

    # --- links -------------------------------------------------------------------------------

    def link(self, channel_id: str, sku: str, target: LinkInput) -> ListingRow:
        channel = self.channel(channel_id)
        listing = self._listing(channel_id, sku)
        item = self._item(target)
        if listing.linked_item_id == item.item_id:
            return ListingRow(listing, item)
        if self.settings(channel).one_listing_per_item:
            others = [other for other in store.channel_links_of(item.item_id, channel_id)
                      if normalize_sku(other) != listing.sku_key]
            if others:
                raise Conflict("This channel allows one listing per item, and the item is already linked",
                               details={"item_id": item.item_id, "linked_listing_skus": others},
                               code="item_already_linked")
        change = ListingChange(listing, link_to=item.item_id, checks=[
            (ItemRecord, db.item_pk(item.item_id), "ITEM", ItemRecord.PK.exists(), "item_gone")])
        self._apply_one(channel_id, change, reason="listing_linked")
        self.links_committed(channel_id, {listing.sku_key: item.item_id})
        return self.row(channel_id, sku)

    def unlink(self, channel_id: str, sku: str) -> ListingRow:
        self.channel(channel_id)
        listing = self._listing(channel_id, sku)
        if listing.linked_item_id:
            self._apply_one(channel_id, ListingChange(listing, link_to=None), reason="listing_unlinked")
        return self.row(channel_id, sku)

    def patch(self, channel_id: str, sku: str, patch: ListingPatch) -> ListingRow:
        self.channel(channel_id)
        listing = self._listing(channel_id, sku)
        actions: list[Any] = []
        given = patch.model_fields_set
        if "ignore_sync" in given:
            if patch.ignore_sync is None:
                raise InvalidInput("ignore_sync must be true or false", details={"field": "ignore_sync"})
            actions.append(ListingRecord.ignore_sync.set(patch.ignore_sync))
        for name in _LIMITS:
            if name in given:
                value = getattr(patch, name)
                attribute = getattr(ListingRecord, name)
                actions.append(attribute.remove() if value is None else attribute.set(value))
        if actions:
            self._apply_one(channel_id, ListingChange(listing, actions=actions), reason="listing_settings_changed")
        return self.row(channel_id, sku)

    # --- items from listings -----------------------------------------------------------------

    def create_item(self, channel_id: str, sku: str) -> CreatedItem:
        channel = self.channel(channel_id)
        refuse_creation(channel)
        listing = self._listing(channel_id, sku)
        if listing.linked_item_id:
            raise Conflict("The listing is already linked to an item; unlink it first",
                           details={"sku": listing.sku, "item_id": listing.linked_item_id}, code="listing_linked")
        change = item_creation(listing, self.create_location(channel))
        result = self.writer.apply(channel_id, [change])
        if result.refused:
            if result.refused[0].reason == "sku_taken":
                raise self.inventory.sku_taken(listing.sku)
            raise Conflict("The listing changed meanwhile; read it again and retry", code="listing_changed")
        item = cast(ItemRecord, change.puts[0][0])
        self.stock_queue.publish([StockChange(reason="item_created_from_listing", item_ids=[item.item_id],
                                              channel_ids=[channel_id])])
        self.links_committed(channel_id, {listing.sku_key: item.item_id})
        return CreatedItem(item, self._listing(channel_id, sku))

    def create_location(self, channel: ChannelRecord) -> str:
        chosen = self.settings(channel).create_item_location_id
        if chosen:
            return self.locations.get(chosen).location_id
        default = self.locations.default().location_id
        if not channel.location_ids or default in channel.location_ids:
            return default
        return channel.location_ids[0]

    # --- jobs --------------------------------------------------------------------------------

    def start_auto_link(self, channel_id: str) -> db.JobRecord:
        self.channel(channel_id)
        job = self.jobs.create(AUTO_LINK_JOB, subject=channel_id, message="Auto-link queued")
        message = MappingMessage(channel_id=channel_id, reason="requested", job_id=job.job_id)
        _given(self.mapping_queue, "mapping queue").send(message)
        return job

    def start_create_all(self, channel_id: str) -> db.JobRecord:
        refuse_creation(self.channel(channel_id))
        job = self.jobs.create(CREATE_ALL_JOB, subject=channel_id, message="Create all queued")
        message = JobMessage(job_id=job.job_id, kind=CREATE_ALL_JOB, payload={"channel_id": channel_id})
        _given(self.job_queue, "jobs queue").send(message)
        return job

    # --- channel defaults --------------------------------------------------------------------

    def set_default_limits(self, channel_id: str, limits: ListingLimits) -> ChannelRecord:
        channel = self.channel(channel_id)
        mapping = self.settings(channel).model_copy(update={"default_limits": limits}).model_dump(mode="json")
        updated = self.channels.update(channel_id, ChannelPatch(settings={"mapping": mapping}))
        self.stock_queue.publish([StockChange(reason="listing_limits_changed", channel_ids=[channel_id],
                                              all_items=True)])
        return updated

    # --- internals ---------------------------------------------------------------------------

    def _listing(self, channel_id: str, sku: str) -> ListingRecord:
        listing = db.get_or_none(ListingRecord, ListingRecord.keys(channel_id, normalize_sku(sku)))
        if listing is None:
            raise NotFound(f"No listing with SKU {sku!r} on this channel", details={"sku": sku},
                           code="listing_not_found")
        return listing

    def _item(self, target: LinkInput) -> ItemRecord:
        if target.item_id is not None:
            item = db.get_or_none(ItemRecord, {"PK": db.item_pk(target.item_id), "SK": "ITEM"})
            if item is None:
                raise NotFound(f"No item with id {target.item_id}", details={"item_id": target.item_id},
                               code="item_not_found")
            return item
        item = self.inventory.find_by_sku(target.sku or "")
        if item is None:
            raise NotFound(f"No item with SKU {target.sku!r}", details={"sku": target.sku}, code="item_not_found")
        return item

    def _apply_one(self, channel_id: str, change: ListingChange, *, reason: str) -> None:
        result = self.writer.apply(channel_id, [change])
        if result.refused:
            if result.refused[0].reason == "item_gone":
                raise NotFound("The item was deleted meanwhile", code="item_not_found")
            raise Conflict("The listing changed meanwhile; read it again and retry", code="listing_changed")
        items = change.touched_items()
        if items:
            self.stock_queue.publish([StockChange(reason=reason, item_ids=sorted(items), channel_ids=[channel_id])])

    def _rows(self, listings: list[ListingRecord]) -> list[ListingRow]:
        items = store.items_by_id(listing.linked_item_id for listing in listings if listing.linked_item_id)
        return [ListingRow(listing, items.get(listing.linked_item_id or "")) for listing in listings]


def refuse_creation(channel: ChannelRecord) -> None:
    if channel.type == ChannelType.RAKUTEN:
        raise Conflict(RAKUTEN_CREATE_REFUSED, details={"channel_type": channel.type}, code="rakuten_create_refused")


def item_creation(listing: ListingRecord, location_id: str, reason: str = "") -> ListingChange:
    """A new item from a listing, with the seed's defaults, linked to it, with the listing's quantity
    as its stock at `location_id`: one change, written in one transaction."""
    data = ItemInput(sku=listing.sku, title=(listing.title or "")[:1000],
                     retail_price=max(float(listing.price or 0), 0))  # purchase 0, "" description, weight 0, tax -1
    item, claim = Inventory.new_records(data)
    puts: list[tuple[Any, Any, str]] = [(item, ItemRecord.PK.does_not_exist(), "item_exists"),
                                        (claim, UniqueClaim.PK.does_not_exist(), "sku_taken")]
    quantity = max(int(listing.quantity or 0), 0)
    if quantity:
        at = db.now()
        change_id = db.new_id()
        puts.append((StockLevelRecord(**StockLevelRecord.keys(item.item_id, location_id), item_id=item.item_id,
                                      location_id=location_id, level=quantity, updated_at=at), None, "stock"))
        puts.append((StockHistoryRecord(**StockHistoryRecord.keys(item.item_id, at, change_id), change_id=change_id,
                                        item_id=item.item_id, location_id=location_id, kind="set", level_before=0,
                                        level_after=quantity,
                                        reason=reason or f"created from listing {listing.sku} of {listing.channel_id}",
                                        at=at), None, "history"))
    return ListingChange(listing, link_to=item.item_id, puts=puts)


def _cursor_key(cursor: str | None) -> str | None:
    decoded = db.decode_cursor(cursor)
    if decoded is None:
        return None
    after = decoded.get("after")
    if not isinstance(after, str):
        raise InvalidInput("The cursor is not one this API gave out", details={"field": "cursor"})
    return after


Q = TypeVar("Q")


def _given(queue: Q | None, name: str) -> Q:
    if queue is None:
        raise RuntimeError(f"this function was built without a {name}")
    return queue
