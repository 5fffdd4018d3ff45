"""The single-table model. Every key of every entity is built here and nowhere else.

Access patterns (docs/data-model.md has the full table):
  ITEM#<id> / ITEM                 the item           GSI1: ITEMS / SKU#<sku key>   (list, prefix search)
  ITEM#<id> / STOCK#<location>     its stock levels   GSI1: LOCATION_STOCK#<location> / ITEM#<id>
  ITEM#<id> / COMPONENT#<id>       kit components     GSI2: KITS_OF#<component> / KIT#<kit>
  HISTORY#<item> / <time>#<change> stock history of an item, newest last
  UNIQUE#<kind>#<key> / UNIQUE     claims that keep SKUs and names unique
  LOCATION#<id> / LOCATION         locations          GSI1: LOCATIONS / NAME#<name key>
  CHANNEL#<id> / CHANNEL           channels           GSI1: CHANNELS / NAME#<name key>
One item collection (PK ITEM#<id>) holds everything needed to compute an item's availability.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from stocksync.errors import InvalidInput

ITEMS_PARTITION = "ITEMS"
LOCATIONS_PARTITION = "LOCATIONS"
CHANNELS_PARTITION = "CHANNELS"


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


class Record(Model):
    """Base of every entity: the table's keys, the index keys and the entity discriminator."""

    class Meta:
        table_name = "stocksync"  # replaced by bind_table() with the deployed name

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    entity = DiscriminatorAttribute()
    expires_at = TTLAttribute(null=True)

    gsi1 = Gsi1()
    gsi2 = Gsi2()


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
    is_composite = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute(default=now)
    updated_at = UTCDateTimeAttribute(default=now)
    version = VersionAttribute()

    @staticmethod
    def keys(item_id: str, sku_key: str) -> dict[str, str]:
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
    def keys(item_id: str, location_id: str) -> dict[str, str]:
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
    def keys(kit_id: str, component_id: str) -> dict[str, str]:
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
    def keys(item_id: str, at: datetime, change_id: str) -> dict[str, str]:
        return {"PK": history_pk(item_id), "SK": f"{at.isoformat()}#{change_id}"}


def history_pk(item_id: str) -> str:
    return f"HISTORY#{item_id}"


class UniqueClaim(Record, discriminator="unique"):
    """Holds a unique key (an SKU, a name, an idempotency key) for its owner."""

    owner_id = UnicodeAttribute()

    @staticmethod
    def keys(kind: str, key: str) -> dict[str, str]:
        return {"PK": f"UNIQUE#{kind}#{key}", "SK": "UNIQUE"}


# --- locations and channels ------------------------------------------------------------------


class LocationRecord(Record, discriminator="location"):
    location_id = UnicodeAttribute()
    name = UnicodeAttribute()
    is_default = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute(default=now)
    version = VersionAttribute()

    @staticmethod
    def keys(location_id: str, name_key: str) -> dict[str, str]:
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
    location_ids = ListAttribute[str](of=UnicodeAttribute, default=list)
    settings = MapAttribute[str, Any](default=dict)
    # Only the secret's name: the credentials themselves live in Secrets Manager.
    credentials_secret = UnicodeAttribute(null=True)
    credentials_updated_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=now)
    updated_at = UTCDateTimeAttribute(default=now)
    version = VersionAttribute()

    @staticmethod
    def keys(channel_id: str, name_key: str) -> dict[str, str]:
        return {
            "PK": channel_pk(channel_id),
            "SK": "CHANNEL",
            "GSI1PK": CHANNELS_PARTITION,
            "GSI1SK": f"NAME#{name_key}",
        }


def channel_pk(channel_id: str) -> str:
    return f"CHANNEL#{channel_id}"


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
    def keys(job_id: str, subject: str = "", created_at: datetime | None = None) -> dict[str, str]:
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
    def keys(subject: str, at: datetime, event_id: str) -> dict[str, str]:
        return {"PK": events_pk(subject), "SK": f"{at.isoformat()}#{event_id}"}


def events_pk(subject: str) -> str:
    return f"EVENTS#{subject}"


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


def page_of(results: Iterator[T], limit: int) -> tuple[list[T], str | None]:
    """Drain one page of a pynamodb result iterator and the cursor for the next page."""
    rows = list(results)[:limit]
    return rows, encode_cursor(getattr(results, "last_evaluated_key", None))


def get_or_none(model: type[T], keys: dict[str, str]) -> T | None:
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
