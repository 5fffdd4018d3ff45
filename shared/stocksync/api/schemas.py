"""What the API answers with. Records are turned into these and nothing else leaves the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from stocksync.db import (
    AutomationEventRecord,
    ChannelRecord,
    JobRecord,
    LocationRecord,
    StockHistoryRecord,
    StockLevelRecord,
)
from stocksync.inventory import ItemView
from stocksync.stock import ChannelAvailability


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    error: ErrorBody


class Dimensions(BaseModel):
    width: float = 0
    height: float = 0
    depth: float = 0


class ComponentOut(BaseModel):
    item_id: str
    quantity: int


class StockLevelOut(BaseModel):
    item_id: str
    location_id: str
    level: int
    allocated: int
    available: int = Field(description="level - allocated at this location (may be negative when oversold)")
    updated_at: datetime | None = None

    @classmethod
    def of(cls, record: StockLevelRecord) -> StockLevelOut:
        level, allocated = int(record.level), int(record.allocated)
        return cls(item_id=record.item_id, location_id=record.location_id, level=level, allocated=allocated,
                   available=level - allocated, updated_at=record.updated_at)


class StockChangeOut(StockLevelOut):
    replayed: bool = Field(default=False, description="true when this idempotency key was applied before")


class ItemOut(BaseModel):
    item_id: str
    sku: str
    title: str
    purchase_price: float
    retail_price: float
    description: str
    weight: float
    tax_rate: float
    barcode: str | None
    dimensions: Dimensions
    extended_properties: dict[str, Any]
    is_composite: bool
    created_at: datetime
    updated_at: datetime
    components: list[ComponentOut] | None = Field(default=None, description="Given on the item's own page")
    stock: list[StockLevelOut] | None = Field(default=None, description="Given on the item's own page")

    @classmethod
    def of(cls, view: ItemView, *, detail: bool = True) -> ItemOut:
        item = view.item
        out = cls(
            item_id=item.item_id, sku=item.sku, title=item.title, purchase_price=item.purchase_price,
            retail_price=item.retail_price, description=item.description, weight=item.weight,
            tax_rate=item.tax_rate, barcode=item.barcode, dimensions=Dimensions(**item.dimensions.as_dict()),
            extended_properties=item.extended_properties.as_dict(), is_composite=item.is_composite,
            created_at=item.created_at, updated_at=item.updated_at,
        )
        if detail:
            out.components = [ComponentOut(item_id=c.component_id, quantity=int(c.quantity)) for c in view.components]
            out.stock = [StockLevelOut.of(s) for s in view.stock]
        return out


class ItemPage(BaseModel):
    items: list[ItemOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class HistoryEntryOut(BaseModel):
    change_id: str
    item_id: str
    location_id: str
    kind: str
    level_before: int
    level_after: int
    delta: int
    reason: str
    at: datetime

    @classmethod
    def of(cls, record: StockHistoryRecord) -> HistoryEntryOut:
        before, after = int(record.level_before), int(record.level_after)
        return cls(change_id=record.change_id, item_id=record.item_id, location_id=record.location_id,
                   kind=record.kind, level_before=before, level_after=after, delta=after - before,
                   reason=record.reason, at=record.at)


class HistoryPage(BaseModel):
    entries: list[HistoryEntryOut]
    next_cursor: str | None


class ChannelAvailabilityOut(BaseModel):
    channel_id: str
    name: str
    type: str
    enabled: bool
    location_ids: list[str]
    available: int

    @classmethod
    def of(cls, row: ChannelAvailability) -> ChannelAvailabilityOut:
        channel = row.channel
        return cls(channel_id=channel.channel_id, name=channel.name, type=channel.type, enabled=channel.enabled,
                   location_ids=list(channel.location_ids), available=row.available)


class AvailabilityOut(BaseModel):
    item_id: str
    sku: str
    is_composite: bool
    all_locations: int = Field(description="Available over every location, never below 0")
    channels: list[ChannelAvailabilityOut]


class LocationOut(BaseModel):
    location_id: str
    name: str
    is_default: bool

    @classmethod
    def of(cls, record: LocationRecord) -> LocationOut:
        return cls(location_id=record.location_id, name=record.name, is_default=record.is_default)


class LocationList(BaseModel):
    locations: list[LocationOut]


class ChannelOut(BaseModel):
    channel_id: str
    name: str
    type: str
    enabled: bool
    location_ids: list[str]
    settings: dict[str, Any]
    has_credentials: bool = Field(description="Credentials are stored in AWS Secrets Manager, never shown")
    credentials_updated_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: ChannelRecord) -> ChannelOut:
        return cls(
            channel_id=record.channel_id, name=record.name, type=record.type, enabled=record.enabled,
            location_ids=list(record.location_ids), settings=record.settings.as_dict(),
            has_credentials=bool(record.credentials_secret), credentials_updated_at=record.credentials_updated_at,
            created_at=record.created_at, updated_at=record.updated_at,
        )


class ChannelList(BaseModel):
    channels: list[ChannelOut]


class JobOut(BaseModel):
    job_id: str
    kind: str
    subject: str
    status: str = Field(description="queued, running, succeeded or failed")
    total: int | None
    done: int
    bytes_total: int | None
    bytes_done: int
    error_count: int
    errors: list[dict[str, Any]] = Field(description="The first 1000 errors (row, field, reason...)")
    result: dict[str, Any]
    message: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, job: JobRecord) -> JobOut:
        def whole(value: float | None) -> int | None:
            return None if value is None else int(value)

        return cls(
            job_id=job.job_id, kind=job.kind, subject=job.subject, status=job.status, total=whole(job.total),
            done=int(job.done), bytes_total=whole(job.bytes_total), bytes_done=int(job.bytes_done),
            error_count=int(job.error_count), errors=list(job.errors), result=job.result.as_dict(),
            message=job.message, created_at=job.created_at, updated_at=job.updated_at,
        )


class AutomationEventOut(BaseModel):
    kind: str
    message: str
    details: dict[str, Any]
    at: datetime

    @classmethod
    def of(cls, event: AutomationEventRecord) -> AutomationEventOut:
        return cls(kind=event.kind, message=event.message, details=event.details.as_dict(), at=event.at)


class AutomationEventPage(BaseModel):
    events: list[AutomationEventOut]
    next_cursor: str | None
