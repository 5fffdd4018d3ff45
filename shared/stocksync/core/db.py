"""The single-table model. Every key of every entity is built here and nowhere else.

Access patterns (docs/data-model.md has the full table):
  ITEM#<id> / ITEM                 the item           GSI1: ITEMS / SKU#<sku key>   (list, prefix search)
  ITEM#<id> / STOCK#<location>     its stock levels   GSI1: LOCATION_STOCK#<location> / ITEM#<id>
  ITEM#<id> / COMPONENT#<id>       kit components     GSI2: KITS_OF#<component> / KIT#<kit>
  HISTORY#<item> / <time>#<change> stock history of an item, newest last
  UNIQUE#<kind>#<key> / UNIQUE     claims that keep SKUs and names unique
                                   SKU claims: GSI1: SKU_CLAIMS / <sku key>   (the SKU index: key -> item id)
  LOCATION#<id> / LOCATION         locations          GSI1: LOCATIONS / NAME#<name key>
  CHANNEL#<id> / CHANNEL           channels           GSI1: CHANNELS / NAME#<name key>
  CHANNEL#<id> / LISTING#<sku key> listings           GSI4 (keys only): ITEM#<linked item> / LISTING#<channel>#<sku>
  CHANNEL#<id> / CATALOGUE         catalogue status (last load, totals, report poller state)
  LOAD#<id> / LOAD, ERROR#<row>#n  a catalogue load's coordination state and its row errors
  ORDER#<id> / ORDER               orders      GSI1: ORDERS / <placed>#<id>  GSI2: ORDERS_OF#<channel> / <placed>#<id>
  UNMAPPED_LINES#<channel> / <sku key>#<order id>   open orders' unlinked lines (re-linked when the listing is)
  CHANNEL#<id> / ORDER_POLL        the order poller's state of a channel
  SYNC_STATS#<channel> / HOUR#<yyyy-mm-ddThh>   listings submitted that hour: sent, errors, retrying
One item collection (PK ITEM#<id>) holds everything needed to compute an item's availability.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from stocksync.core.errors import InvalidInput

# A record's key attributes (PK, SK and index keys), spread into its model: `ItemRecord(**ItemRecord.keys(..))`.
# Typed loosely because pynamodb's Model.__init__ takes them beside typed arguments of its own.
Keys = dict[str, Any]

ITEMS_PARTITION = "ITEMS"
LOCATIONS_PARTITION = "LOCATIONS"
CHANNELS_PARTITION = "CHANNELS"
SKU_CLAIMS_PARTITION = "SKU_CLAIMS"
SKU_CLAIM = "SKU"  # the kind of an item's SKU claim


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Gsi1(GlobalSecondaryIndex["Record"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class Gsi2(GlobalSecondaryIndex["Record"]):
    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class Gsi3(GlobalSecondaryIndex["Record"]):
    class Meta:
        index_name = "GSI3"
        projection = AllProjection()

    GSI3PK = UnicodeAttribute(hash_key=True)
    GSI3SK = UnicodeAttribute(range_key=True)


class Gsi4(GlobalSecondaryIndex["Record"]):
    """An item's listings, keys only: the stock submitter records every submission on the listing, and
    an index holding whole listings would be written again with each of them."""

    class Meta:
        index_name = "GSI4"
        projection = KeysOnlyProjection()

    GSI4PK = UnicodeAttribute(hash_key=True)
    GSI4SK = UnicodeAttribute(range_key=True)


class Record(Model):
    """Base of every entity: the table's keys, the index keys and the entity discriminator."""

    class Meta:
        table_name = "stocksync"  # replaced by bind_table() with the deployed name
        # The stock submitter sends to every channel at once and records each with up to four writers:
        # more requests in flight than botocore's default pool of 10 keeps connections for.
        max_pool_connections = 32

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    GSI3PK = UnicodeAttribute(null=True)
    GSI3SK = UnicodeAttribute(null=True)
    GSI4PK = UnicodeAttribute(null=True)
    GSI4SK = UnicodeAttribute(null=True)
    entity = DiscriminatorAttribute()
    expires_at = TTLAttribute(null=True)

    gsi1 = Gsi1()
    gsi2 = Gsi2()
    gsi3 = Gsi3()
    gsi4 = Gsi4()


def bind_table(table_name: str) -> None:
    """Point every model at the deployed table (pynamodb reconnects when the name changes)."""
    Record.Meta.table_name = table_name


# --- inventory -------------------------------------------------------------------------------


class Dimensions(MapAttribute[str, Any]):
    width = NumberAttribute(default=0)
    height = NumberAttribute(default=0)
    depth = NumberAttribute(default=0)


class ItemRecord(Record, discriminator="item"):
    item_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    sku_key = UnicodeAttribute()
    title = UnicodeAttribute(default="")
    search_text = UnicodeAttribute(default="")
    purchase_price = NumberAttribute(default=0)
    retail_price = NumberAttribute(default=0)
    description = UnicodeAttribute(default="")
    weight = NumberAttribute(default=0)
    tax_rate = NumberAttribute(default=-1)
    barcode = UnicodeAttribute(null=True)
    dimensions = Dimensions(default=dict)
    extended_properties = MapAttribute[str, Any](default=dict)
    # PIM: S3 keys of the item's images (main image first) and per-channel title/price/description,
    # {channel_id: {"title": str, "price": number, "description": str}}.
    images = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]  # pynamodb's stub wants str
    channel_fields = MapAttribute[str, Any](default=dict)
    is_composite = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute(default=now)
    updated_at = UTCDateTimeAttribute(default=now)
    version = VersionAttribute()

    @staticmethod
    def keys(item_id: str, sku_key: str) -> Keys:
        return {
            "PK": item_pk(item_id),
            "SK": "ITEM",
            "GSI1PK": ITEMS_PARTITION,
            "GSI1SK": f"SKU#{sku_key}",
        }


def item_pk(item_id: str) -> str:
    return f"ITEM#{item_id}"


def sku_sort_key(sku_key_prefix: str) -> str:
    return f"SKU#{sku_key_prefix}"


class StockLevelRecord(Record, discriminator="stock_level"):
    item_id = UnicodeAttribute()
    location_id = UnicodeAttribute()
    level = NumberAttribute(default=0)
    allocated = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(default=now)
    version = VersionAttribute()

    @staticmethod
    def keys(item_id: str, location_id: str) -> Keys:
        return {
            "PK": item_pk(item_id),
            "SK": f"STOCK#{location_id}",
            "GSI1PK": f"LOCATION_STOCK#{location_id}",
            "GSI1SK": f"ITEM#{item_id}",
        }


STOCK_PREFIX = "STOCK#"
COMPONENT_PREFIX = "COMPONENT#"


class ComponentRecord(Record, discriminator="component"):
    kit_id = UnicodeAttribute()
    component_id = UnicodeAttribute()
    quantity = NumberAttribute()

    @staticmethod
    def keys(kit_id: str, component_id: str) -> Keys:
        return {
            "PK": item_pk(kit_id),
            "SK": f"{COMPONENT_PREFIX}{component_id}",
            "GSI2PK": kits_of_pk(component_id),
            "GSI2SK": f"KIT#{kit_id}",
        }


def kits_of_pk(component_id: str) -> str:
    return f"KITS_OF#{component_id}"


class StockHistoryRecord(Record, discriminator="stock_history"):
    change_id = UnicodeAttribute()
    item_id = UnicodeAttribute()
    location_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # "set" or "adjust"
    level_before = NumberAttribute()
    level_after = NumberAttribute()
    reason = UnicodeAttribute(default="")
    at = UTCDateTimeAttribute(default=now)

    @staticmethod
    def keys(item_id: str, at: datetime, change_id: str) -> Keys:
        return {"PK": history_pk(item_id), "SK": f"{at.isoformat()}#{change_id}"}


def history_pk(item_id: str) -> str:
    return f"HISTORY#{item_id}"


class UniqueClaim(Record, discriminator="unique"):
    """Holds a unique key (an SKU, a name, an idempotency key) for its owner.

    An item's SKU claim is also the SKU index: GSI1 `SKU_CLAIMS` / <sku key> lists every item's SKU key
    and id in small records (auto-link reads them instead of the items). It is written, renamed and
    deleted in the transactions that write, rename and delete the item, so it is always in step."""

    owner_id = UnicodeAttribute()

    @staticmethod
    def keys(kind: str, key: str) -> Keys:
        keys = {"PK": f"UNIQUE#{kind}#{key}", "SK": "UNIQUE"}
        if kind == SKU_CLAIM:
            keys |= {"GSI1PK": SKU_CLAIMS_PARTITION, "GSI1SK": key}
        return keys


# --- locations and channels ------------------------------------------------------------------


class LocationRecord(Record, discriminator="location"):
    location_id = UnicodeAttribute()
    name = UnicodeAttribute()
    is_default = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute(default=now)
    version = VersionAttribute()

    @staticmethod
    def keys(location_id: str, name_key: str) -> Keys:
        return {
            "PK": f"LOCATION#{location_id}",
            "SK": "LOCATION",
            "GSI1PK": LOCATIONS_PARTITION,
            "GSI1SK": f"NAME#{name_key}",
        }


class ChannelRecord(Record, discriminator="channel"):
    channel_id = UnicodeAttribute()
    name = UnicodeAttribute()
    type = UnicodeAttribute()
    enabled = BooleanAttribute(default=True)
    location_ids = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]  # pynamodb's stub wants str
    settings = MapAttribute[str, Any](default=dict)
    # Only the secret's name: the credentials themselves live in Secrets Manager.
    credentials_secret = UnicodeAttribute(null=True)
    credentials_updated_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)
    updated_at = UTCDateTimeAttribute(default=now)
    version = VersionAttribute()

    @staticmethod
    def keys(channel_id: str, name_key: str) -> Keys:
        return {
            "PK": channel_pk(channel_id),
            "SK": "CHANNEL",
            "GSI1PK": CHANNELS_PARTITION,
            "GSI1SK": f"NAME#{name_key}",
        }


def channel_pk(channel_id: str) -> str:
    return f"CHANNEL#{channel_id}"


class ChannelAuthFailureRecord(Record, discriminator="channel_auth_failure"):
    """The channel refused the credentials: the seller must reconnect the account. It counts until
    credentials saved after `failed_at`, or a later call that the channel accepts, clears it. Kept
    apart from the channel record so that workers never race the seller's edits of the channel."""

    channel_id = UnicodeAttribute()
    failed_at = UTCDateTimeAttribute()
    operation = UnicodeAttribute()  # what we were doing: "catalogue", "stock", "orders"
    message = UnicodeAttribute()

    @staticmethod
    def keys(channel_id: str) -> Keys:
        return {"PK": channel_pk(channel_id), "SK": "AUTH_FAILURE"}


# --- listings and catalogue loads --------------------------------------------------------------

LISTING_PREFIX = "LISTING#"


class ListingRecord(Record, discriminator="listing"):
    """One offer on a channel, keyed by the channel's SKU. Catalogue loads own the catalogue fields;
    the mapping screen and stock sync own the link, flags, limits and sync status (loads never write them)."""

    channel_id = UnicodeAttribute()
    sku = UnicodeAttribute()  # as the channel spells it
    sku_key = UnicodeAttribute()
    # catalogue fields, as the last load reported them
    title = UnicodeAttribute(default="")
    price = NumberAttribute(null=True)  # Pixmania resubmits it with every stock update
    quantity = NumberAttribute(null=True)  # the channel's own figure; None for FBA
    currency = UnicodeAttribute(null=True)
    barcode = UnicodeAttribute(null=True)  # EAN / UPC / ISBN
    asin = UnicodeAttribute(null=True)
    channel_listing_id = UnicodeAttribute(null=True)  # eBay ItemID, Amazon listing-id, Mirakl offer-id
    listing_kind = UnicodeAttribute(null=True)  # eBay: inventory_api | trading
    fba = BooleanAttribute(default=False)
    state = UnicodeAttribute(default="active")  # active | ended | disabled | removed | backorders (Magento)
    removed = BooleanAttribute(default=False)  # absent from the last complete load
    removed_at = UTCDateTimeAttribute(null=True)
    last_load_id = UnicodeAttribute(null=True)  # the load that last wrote the catalogue fields
    # The catalogue fields only loads write (all but channel_listing_id and state, which the stock
    # submitter may change), as a JSON list in the order of the load's row: the next load's diff reads
    # this one attribute instead of nine (catalogue/listing_writes.py).
    load_fields = UnicodeAttribute(null=True)
    # The offer as the last load exported it, for channels whose stock update resends the whole offer
    # (Mirakl's OF24 resets every field not sent), and the channel's own flags (Rakuten's unlimited):
    # the file's non-empty cells of those columns as a compact JSON object, column -> text (a few
    # hundred bytes; catalogue/formats.py `Layout.offer`); None when the file had none.
    exported_offer = UnicodeAttribute(null=True)
    # A variation child (one size or colour of a listing with variations): its parent's or group's key
    # as the channel names it (an Amazon parent SKU, an eBay ItemID or inventory item group key, a
    # Magento configurable SKU), and its attributes as a compact JSON object of text, e.g.
    # {"Size":"M"}. Both None for a listing of its own. The parent is never a listing itself: it has
    # no stock of its own, and each child maps to its own item.
    variation_parent = UnicodeAttribute(null=True)
    variation = UnicodeAttribute(null=True)
    first_seen_at = UTCDateTimeAttribute(default=now)
    updated_at = UTCDateTimeAttribute(default=now)
    # the link, flags and limits: the mapping screen and auto-link write these, loads never do (but
    # for Ignore Sync, set by the load that first sees a listing the channel marks unlimited)
    linked_item_id = UnicodeAttribute(null=True)
    ignore_sync = BooleanAttribute(default=False)
    # listing limits; None = the channel's default
    max_listed = NumberAttribute(null=True)
    end_when = NumberAttribute(null=True)
    percentage = NumberAttribute(null=True)
    # sync status (filled by the stock submitter)
    submitted_quantity = NumberAttribute(null=True)
    update_date = UTCDateTimeAttribute(null=True)
    last_update = UTCDateTimeAttribute(null=True)
    update_status = UnicodeAttribute(null=True)
    update_error = UnicodeAttribute(null=True)
    # when the recorded submission's stock was read: an older submission finishing late never records
    # over a newer one (stock_sync/submitter.py)
    submitted_as_of = UTCDateTimeAttribute(null=True)
    # what a channel keeping stock per place (Magento MSI sources) was sent per place, when it matters
    submitted_split = UnicodeAttribute(null=True)

    def variation_attributes(self) -> dict[str, str]:
        """`variation` as a map (empty for a listing of its own)."""
        return json.loads(self.variation) if self.variation else {}

    def offer_as_exported(self) -> dict[str, str]:
        """`exported_offer` as a map (empty when the last load's file had none)."""
        return json.loads(self.exported_offer) if self.exported_offer else {}

    @staticmethod
    def keys(channel_id: str, sku_key: str, sku: str = "", linked_item_id: str | None = None) -> Keys:
        keys = {"PK": channel_pk(channel_id), "SK": listing_sk(sku_key)}
        if linked_item_id:
            keys |= {"GSI4PK": item_pk(linked_item_id), "GSI4SK": f"{LISTING_PREFIX}{channel_id}#{sku}"}
        return keys


def listing_sk(sku_key: str) -> str:
    return f"{LISTING_PREFIX}{sku_key}"


def sync_due_pk(channel_id: str) -> str:
    return f"SYNC_DUE#{channel_id}"


def sync_due_keys(channel_id: str, sku_key: str) -> Keys:
    """A listing's keys on GSI3 while the scheduled sync must look at it (stock_sync/scheduled.py)."""
    return {"GSI3PK": sync_due_pk(channel_id), "GSI3SK": listing_sk(sku_key)}


def variation_keys(channel_id: str, parent: str, sku_key: str) -> Keys:
    """A variation child's keys on GSI1: one parent's children together, in SKU-key order."""
    return {"GSI1PK": variation_pk(channel_id, parent), "GSI1SK": listing_sk(sku_key)}


def variation_pk(channel_id: str, parent: str) -> str:
    return f"VARIATIONS_OF#{channel_id}#{parent}"


class CatalogueStatusRecord(Record, discriminator="catalogue_status"):
    """A channel's catalogue: its last load, listing totals, and the report poller's state.

    Written only with UpdateItem on named attributes, so the loader and the poller never overwrite
    each other: the loader owns `last_*`, `applied_*` and the totals
    (e.g. {"state": "requested", "report_id": ..., "requested_at": ..., "next_fetch_at": ...})."""

    channel_id = UnicodeAttribute()
    last_load_id = UnicodeAttribute(null=True)
    last_job_id = UnicodeAttribute(null=True)
    last_status = UnicodeAttribute(null=True)  # running | succeeded | failed | superseded
    last_file = UnicodeAttribute(null=True)
    last_message = UnicodeAttribute(null=True)
    last_load_at = UTCDateTimeAttribute(null=True)
    last_counts = MapAttribute[str, Any](null=True)
    applied_load_id = UnicodeAttribute(null=True)  # the newest load that started applying
    applied_source_time = UnicodeAttribute(null=True)  # its file's time (ISO): older files are superseded
    total_active = NumberAttribute(default=0)
    total_linked = NumberAttribute(default=0)
    total_unlinked = NumberAttribute(default=0)
    total_fba = NumberAttribute(default=0)
    totals_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def keys(channel_id: str) -> Keys:
        return {"PK": channel_pk(channel_id), "SK": "CATALOGUE"}


class CatalogueLoadRecord(Record, discriminator="catalogue_load"):
    """The coordination state of one catalogue load (its progress for people is the job `load_id`)."""

    load_id = UnicodeAttribute()
    channel_id = UnicodeAttribute()
    bucket = UnicodeAttribute()
    key = UnicodeAttribute()
    version = UnicodeAttribute(default="")  # versionId or ETag of the object
    source_time = UnicodeAttribute(default="")
    size = NumberAttribute(default=0)
    phase = UnicodeAttribute(default="parsing")  # parsing | applying | succeeded | failed | superseded
    plan = MapAttribute[str, Any](null=True)
    ranges = ListAttribute[list](default=list)  # [start, end] byte ranges of the body
    done_ranges = NumberSetAttribute(default=set)
    range_rows = MapAttribute[str, Any](default=dict)  # range index -> rows read
    runs = ListAttribute[dict](default=list)
    range_errors = NumberAttribute(default=0)
    fatal = UnicodeAttribute(null=True)
    bounds = ListAttribute[str](default=list)  # partition boundaries (SKU keys)
    done_partitions = NumberSetAttribute(default=set)
    rows = NumberAttribute(default=0)
    created = NumberAttribute(default=0)
    updated = NumberAttribute(default=0)
    removed = NumberAttribute(default=0)
    unchanged = NumberAttribute(default=0)
    written = NumberAttribute(default=0)
    drift = NumberAttribute(default=0)
    active = NumberAttribute(default=0)
    linked = NumberAttribute(default=0)
    fba = NumberAttribute(default=0)
    # The channel's `totals_at` when the apply phase began: the totals the load counted are set only if
    # nothing (a link, an unlink...) moved them since; otherwise they are counted again.
    totals_seen = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)

    @staticmethod
    def keys(load_id: str) -> Keys:
        return {"PK": load_pk(load_id), "SK": "LOAD"}


def load_pk(load_id: str) -> str:
    return f"LOAD#{load_id}"


LOAD_ERROR_PREFIX = "ERROR#"


class LoadErrorRecord(Record, discriminator="catalogue_load_error"):
    """A row error of a load, found by the worker reading byte range `range_index` at its `rel_row`-th
    record; the file's row number (header = row 1) is worked out from the load's `range_rows`."""

    load_id = UnicodeAttribute()
    range_index = NumberAttribute()
    rel_row = NumberAttribute()
    field = UnicodeAttribute(default="")
    reason = UnicodeAttribute()
    value = UnicodeAttribute(default="")

    @staticmethod
    def keys(load_id: str, range_index: int, rel_row: int, seq: int) -> Keys:
        return {"PK": load_pk(load_id), "SK": f"{LOAD_ERROR_PREFIX}{range_index:05d}#{rel_row:012d}#{seq:04d}"}


# --- jobs and automation events --------------------------------------------------------------

RETENTION = timedelta(days=90)


class JobRecord(Record, discriminator="job"):
    """A long-running piece of work (a catalogue load, an auto-link run, a PIM run) and its progress."""

    job_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    subject = UnicodeAttribute()  # what it works on: a channel id, a PIM profile id
    status = UnicodeAttribute(default="queued")  # queued | running | succeeded | failed
    total = NumberAttribute(null=True)
    done = NumberAttribute(default=0)
    bytes_total = NumberAttribute(null=True)
    bytes_done = NumberAttribute(default=0)
    error_count = NumberAttribute(default=0)
    errors = ListAttribute[dict](default=list)  # the first MAX_JOB_ERRORS, each a plain map
    result = MapAttribute[str, Any](default=dict)
    message = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute(default=now)
    updated_at = UTCDateTimeAttribute(default=now)

    @staticmethod
    def keys(job_id: str, subject: str = "", created_at: datetime | None = None) -> Keys:
        keys = {"PK": f"JOB#{job_id}", "SK": "JOB"}
        if subject:
            keys |= {"GSI1PK": f"JOBS_OF#{subject}", "GSI1SK": f"{(created_at or now()).isoformat()}#{job_id}"}
        return keys


def jobs_of_pk(subject: str) -> str:
    return f"JOBS_OF#{subject}"


class AutomationEventRecord(Record, discriminator="automation_event"):
    """One line of a channel's (or a PIM profile's) automation log: report fetched, catalogue loaded..."""

    subject = UnicodeAttribute()
    kind = UnicodeAttribute()
    message = UnicodeAttribute()
    details = MapAttribute[str, Any](default=dict)
    at = UTCDateTimeAttribute(default=now)

    @staticmethod
    def keys(subject: str, at: datetime, event_id: str) -> Keys:
        return {"PK": events_pk(subject), "SK": f"{at.isoformat()}#{event_id}"}


def events_pk(subject: str) -> str:
    return f"EVENTS#{subject}"


# --- report polling --------------------------------------------------------------------------


class ReportRequestRecord(Record, discriminator="report_request"):
    """A channel's catalogue retrieval: the report asked of the channel, its progress and its document.

    One per channel, moved forward by the report poller and the catalogue API under optimistic
    locking (`version`), so that two runs never request two reports or write two documents."""

    channel_id = UnicodeAttribute()
    channel_type = UnicodeAttribute()
    status = UnicodeAttribute(default="idle")  # idle | requesting | requested | in_progress | writing | done | failed
    report_id = UnicodeAttribute(null=True)  # the channel's id of the report / task / export
    report_details = MapAttribute[str, Any](default=dict)  # e.g. Amazon's reportDocumentId, Mirakl's file URLs
    requested_at = UTCDateTimeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)  # requesting / writing: another run may take over after it
    pending_request = BooleanAttribute(default=False)  # the seller asked for a fresh report
    document_key = UnicodeAttribute(null=True)  # the last document written to the bucket
    completed_at = UTCDateTimeAttribute(null=True)
    last_forced_at = UTCDateTimeAttribute(null=True)
    message = UnicodeAttribute(default="")
    failures = NumberAttribute(default=0)  # consecutive failed steps
    updated_at = UTCDateTimeAttribute(default=now)
    version = VersionAttribute()

    @staticmethod
    def keys(channel_id: str) -> Keys:
        return {"PK": channel_pk(channel_id), "SK": "REPORT_REQUEST"}


class ScheduleTickRecord(Record, discriminator="schedule_tick"):
    """When a schedule of the report poller last ran (the Rakuten 5-minute warning reads it).

    The run before it gives the interval the schedule really keeps (a local stack runs its schedules
    faster than AWS); `interval_s`, the template's, serves until a second run."""

    schedule = UnicodeAttribute()
    last_tick_at = UTCDateTimeAttribute()
    previous_tick_at = UTCDateTimeAttribute(null=True)
    interval_s = NumberAttribute()

    def next_tick(self) -> datetime:
        return self.last_tick_at.astimezone(UTC) + self.interval()

    def interval(self) -> timedelta:
        if self.previous_tick_at is not None and self.previous_tick_at < self.last_tick_at:
            return self.last_tick_at - self.previous_tick_at
        return timedelta(seconds=int(self.interval_s))

    @staticmethod
    def keys(schedule: str) -> Keys:
        return {"PK": f"SCHEDULE#{schedule}", "SK": "TICK"}


# --- PIM -------------------------------------------------------------------------------------

PIM_PROFILES_PARTITION = "PIM_PROFILES"


class PimConnectionRecord(Record, discriminator="pim_connection"):
    """The seller's Akeneo connection. Only the secret's name: the credentials live in Secrets Manager."""

    url = UnicodeAttribute()
    enabled = BooleanAttribute(default=True)  # periodic runs happen only while enabled
    credentials_secret = UnicodeAttribute()
    pim_version = UnicodeAttribute(null=True)
    pim_edition = UnicodeAttribute(null=True)
    products_api = UnicodeAttribute(null=True)  # "products" or "products-uuid", from the PIM's version
    last_test_at = UTCDateTimeAttribute(null=True)
    last_test_status = UnicodeAttribute(null=True)  # ok | bad_url | bad_credentials | unreachable | error
    created_at = UTCDateTimeAttribute(default=now)
    updated_at = UTCDateTimeAttribute(default=now)
    version = VersionAttribute()

    @staticmethod
    def keys() -> Keys:
        return {"PK": "PIM#CONNECTION", "SK": "CONNECTION"}


class PimProfileRecord(Record, discriminator="pim_profile"):
    """A saved sync profile: filters, mappings and product settings (validated as a whole, kept as a map)."""

    profile_id = UnicodeAttribute()
    name = UnicodeAttribute()
    enabled = BooleanAttribute(default=True)
    settings = MapAttribute[str, Any](default=dict)
    last_success_at = UTCDateTimeAttribute(null=True)  # start of the last run that succeeded
    created_at = UTCDateTimeAttribute(default=now)
    updated_at = UTCDateTimeAttribute(default=now)
    version = VersionAttribute()

    @staticmethod
    def keys(profile_id: str, name_key: str = "") -> Keys:
        keys = {"PK": f"PIM_PROFILE#{profile_id}", "SK": "PROFILE"}
        if name_key:
            keys |= {"GSI1PK": PIM_PROFILES_PARTITION, "GSI1SK": f"NAME#{name_key}#{profile_id}"}
        return keys


# --- stock sync ------------------------------------------------------------------------------


class SyncLogRecord(Record, discriminator="sync_log"):
    """One submission of a listing's quantity to its channel (kept RETENTION; readers filter by time,
    never trusting TTL to have removed old ones)."""

    channel_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    quantity = NumberAttribute()
    status = UnicodeAttribute()  # ok | pending | error | retrying
    message = UnicodeAttribute(default="")
    reason = UnicodeAttribute(default="")
    at = UTCDateTimeAttribute(default=now)

    @staticmethod
    def keys(channel_id: str, sku_key: str, at: datetime, entry_id: str) -> Keys:
        return {"PK": sync_log_pk(channel_id, sku_key), "SK": f"{at.isoformat()}#{entry_id}"}


def sync_log_pk(channel_id: str, sku_key: str) -> str:
    return f"SYNCLOG#{channel_id}#{sku_key}"


SYNC_STATS_RETENTION = timedelta(days=14)  # what the console's charts reach back (14 days of hours)


class SyncStatsRecord(Record, discriminator="sync_stats"):
    """A channel's listings submitted in one hour, by outcome: counters the submitter ADDs to once per
    channel per submission, read per channel as one Query over a range of hours (the charts). Kept
    SYNC_STATS_RETENTION; readers ask for a range of hours, never trusting TTL to have removed old ones."""

    channel_id = UnicodeAttribute()
    hour = UTCDateTimeAttribute()  # the hour's start
    sent = NumberAttribute(default=0)
    errors = NumberAttribute(default=0)
    retrying = NumberAttribute(default=0)

    @staticmethod
    def keys(channel_id: str, hour: datetime) -> Keys:
        return {"PK": sync_stats_pk(channel_id), "SK": sync_stats_sk(hour)}


def sync_stats_pk(channel_id: str) -> str:
    return f"SYNC_STATS#{channel_id}"


def sync_stats_sk(hour: datetime) -> str:
    """HOUR#<yyyy-mm-ddThh> of the UTC hour `hour` falls in: sorts in time order."""
    return f"HOUR#{hour.astimezone(UTC).strftime('%Y-%m-%dT%H')}"


class RateBucketRecord(Record, discriminator="rate_bucket"):
    """A token bucket of one channel account's operation, shared by every concurrent function."""

    tokens = NumberAttribute()
    refilled_at = NumberAttribute()  # epoch seconds

    @staticmethod
    def keys(account: str, operation: str) -> Keys:
        return {"PK": f"RATE#{account}", "SK": f"OP#{operation}"}


class StockSyncStateRecord(Record, discriminator="stock_sync_state"):
    """A channel's stock sync: the last force update (15-minute guard) and the last scheduled run."""

    channel_id = UnicodeAttribute()
    last_force_at = UTCDateTimeAttribute(null=True)
    last_force_job_id = UnicodeAttribute(null=True)
    last_run_at = UTCDateTimeAttribute(null=True)
    pending_feeds = UnicodeSetAttribute(default=set)  # Amazon feeds whose processing report is awaited
    # those of them that carry re-asserted listings left unrecorded: their refusals are found by SKU
    unrecorded_feeds = UnicodeSetAttribute(default=set)
    # the scheduled run's rotating re-assertion (stock_sync/scheduled.py): where the next slice
    # starts, when this cycle began, and how many linked listings it and the last whole cycle read
    reassert_cursor = UnicodeAttribute(null=True)
    cycle_started_at = UTCDateTimeAttribute(null=True)
    cycle_seen = NumberAttribute(null=True)
    cycle_size = NumberAttribute(null=True)

    @staticmethod
    def keys(channel_id: str) -> Keys:
        return {"PK": channel_pk(channel_id), "SK": "STOCK_SYNC"}


# --- orders ----------------------------------------------------------------------------------

ORDERS_PARTITION = "ORDERS"


def order_id_of(channel_id: str, channel_order_id: str) -> str:
    """Our id of a channel's order: stable (the same order always gets it), URL-safe, 32 hex digits."""
    return hashlib.sha256(f"{channel_id}\n{channel_order_id}".encode()).hexdigest()[:32]


def order_time_key(moment: datetime) -> str:
    """A time as the order indexes sort it (UTC, fixed width)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


class OrderRecord(Record, discriminator="order"):
    """One channel order as last downloaded, with what it holds of our stock line by line.

    `lines` are plain maps (see orders/rules.py StoredLine): the channel SKU, the linked item, the
    location and the parts (item, units per line unit) frozen when the line first held stock, and how
    many line units are allocated / taken out of the level now, so releases are exact whatever the
    mapping becomes. `revision` is the channel's updated_at of the download applied last.
    `pending_announce` holds items changed by a committed write and not yet put on the stock queue."""

    order_id = UnicodeAttribute()
    channel_id = UnicodeAttribute()
    channel_type = UnicodeAttribute(default="")
    channel_order_id = UnicodeAttribute()
    status = UnicodeAttribute()  # open | shipped | cancelled
    channel_status = UnicodeAttribute(default="")
    revision = UTCDateTimeAttribute()
    placed_at = UTCDateTimeAttribute()
    fulfilled_by_channel = BooleanAttribute(default=False)
    location_id = UnicodeAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    total = UnicodeAttribute(null=True)  # a decimal as text
    buyer_name = UnicodeAttribute(default="")
    reference = MapAttribute[str, Any](default=dict)
    lines = ListAttribute[dict](default=list)
    unmapped = BooleanAttribute(default=False)
    oversold = BooleanAttribute(default=False)
    oversold_at = ListAttribute[dict](default=list)  # [{item_id, location_id, available}] when it happened
    cancelled_after_shipping = BooleanAttribute(default=False)
    pending_announce = UnicodeSetAttribute(default=set)
    # A digest of what the channel said (status, lines): two downloads stamped with the same updated_at
    # (Magento keeps whole seconds) but saying different things are two revisions, not a duplicate.
    content_digest = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)
    updated_at = UTCDateTimeAttribute(default=now)
    version = VersionAttribute()

    @staticmethod
    def keys(order_id: str, channel_id: str = "", placed_at: datetime | None = None) -> Keys:
        keys = {"PK": order_pk(order_id), "SK": "ORDER"}
        if channel_id and placed_at is not None:
            sort = f"{order_time_key(placed_at)}#{order_id}"
            keys |= {"GSI1PK": ORDERS_PARTITION, "GSI1SK": sort,
                     "GSI2PK": orders_of_pk(channel_id), "GSI2SK": sort}
        return keys


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def orders_of_pk(channel_id: str) -> str:
    return f"ORDERS_OF#{channel_id}"


class UnmappedLineRecord(Record, discriminator="unmapped_order_line"):
    """An open order's line whose listing is not linked: one Query per channel finds them all when
    listings get linked (orders/importer.py relink)."""

    channel_id = UnicodeAttribute()
    sku_key = UnicodeAttribute()
    order_id = UnicodeAttribute()

    @staticmethod
    def keys(channel_id: str, sku_key: str, order_id: str) -> Keys:
        return {"PK": unmapped_lines_pk(channel_id), "SK": f"{sku_key}#{order_id}"}


def unmapped_lines_pk(channel_id: str) -> str:
    return f"UNMAPPED_LINES#{channel_id}"


class OrderPollStateRecord(Record, discriminator="order_poll_state"):
    """A channel's order download: how far it got (versioned, so doubled ticks never both advance it)."""

    channel_id = UnicodeAttribute()
    high_water = UTCDateTimeAttribute()  # newest channel updated_at of the windows finished so far
    window_start = UTCDateTimeAttribute(null=True)  # updated_after of an unfinished window
    window_max = UTCDateTimeAttribute(null=True)  # newest updated_at seen in the unfinished window
    page_token = UnicodeAttribute(null=True)  # where the unfinished window goes on
    initial = BooleanAttribute(default=True)  # the first sweep imports open orders only
    last_polled_at = UTCDateTimeAttribute(null=True)
    last_success_at = UTCDateTimeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    last_error_at = UTCDateTimeAttribute(null=True)
    subscription_id = UnicodeAttribute(null=True)  # the channel's order notification subscription
    subscribed_to = UnicodeAttribute(null=True)  # the queue it delivers to
    version = VersionAttribute()

    @staticmethod
    def keys(channel_id: str) -> Keys:
        return {"PK": channel_pk(channel_id), "SK": "ORDER_POLL"}


# --- paging ----------------------------------------------------------------------------------

T = TypeVar("T", bound=Record)


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput("The cursor is not one this API gave out", details={"field": "cursor"}) from exc
    if not isinstance(key, dict):
        raise InvalidInput("The cursor is not one this API gave out", details={"field": "cursor"})
    return key


def newest_first(model: type[T], partition: str, *, limit: int, cursor: str | None,
                 filter_condition: Condition | None = None) -> tuple[list[T], str | None]:
    """One page of a log-like partition (sort keys start with the time), newest first."""
    results = model.query(partition, filter_condition=filter_condition, scan_index_forward=False, limit=limit,
                          last_evaluated_key=decode_cursor(cursor))
    return page_of(results, limit)


def all_of(conditions: Iterable[Condition]) -> Condition | None:
    """The conditions joined with AND (None when there are none): a query's optional filters."""
    joined: Condition | None = None
    for condition in conditions:
        joined = condition if joined is None else joined & condition
    return joined


def page_of(results: Iterator[T], limit: int) -> tuple[list[T], str | None]:
    """Drain one page of a pynamodb result iterator and the cursor for the next page."""
    rows = list(results)[:limit]
    return rows, encode_cursor(getattr(results, "last_evaluated_key", None))


def get_or_none(model: type[T], keys: Keys) -> T | None:
    try:
        return model.get(keys["PK"], keys["SK"], consistent_read=True)
    except model.DoesNotExist:
        return None


# --- transactions ----------------------------------------------------------------------------


def transaction() -> TransactWrite:
    """A TransactWrite on the table's own connection (same endpoint, region and pool)."""
    return TransactWrite(connection=Record._get_connection().connection)


def failed_conditions(error: TransactWriteError) -> list[bool]:
    """For each operation of a cancelled transaction, whether its condition failed."""
    return [bool(reason and reason.code == "ConditionalCheckFailed") for reason in error.cancellation_reasons]


def is_condition_failure(error: PutError | UpdateError | DeleteError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def update_if(record: Record, actions: list[Any], condition: Condition) -> bool:
    """UpdateItem under `condition`: False when the condition did not hold; other failures raise."""
    try:
        record.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        return False
    return True


def save_if(record: Record, condition: Condition | None = None) -> bool:
    """PutItem under `condition` (and the record's version, if it has one): False when it did not hold."""
    try:
        record.save(condition=condition)
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        return False
    return True
