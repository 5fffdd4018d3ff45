"""Every request body and answer of the API, by area. Records are turned into these and nothing else leaves.

Request bodies a service takes as its own input (ItemInput, ChannelInput, ListingPatch, ProfileInput...)
live with that service; the routers import them from there.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from stocksync.catalogue.formats import Source
from stocksync.channels.auth_failures import RECONNECT
from stocksync.core.db import (
    AutomationEventRecord,
    CatalogueStatusRecord,
    ChannelAuthFailureRecord,
    ChannelRecord,
    JobRecord,
    LocationRecord,
    OrderRecord,
    StockHistoryRecord,
    StockLevelRecord,
    SyncLogRecord,
)
from stocksync.inventory.items import ComponentInput, ItemView
from stocksync.mapping.csv_io import ColumnMapping
from stocksync.orders.rules import StoredLine, is_unmapped

if TYPE_CHECKING:  # only the `of` constructors name them: the routes that read them import them
    from stocksync.catalogue.retrieval import ReportView
    from stocksync.inventory.stock import ChannelAvailability
    from stocksync.stock_sync.sync_stats import HourTally

# --- items and stock -------------------------------------------------------------------------


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
    updated_at: datetime | None = Field(default=None, description="null: this location never had stock of the item")

    @classmethod
    def of(cls, record: StockLevelRecord) -> StockLevelOut:
        level, allocated = int(record.level), int(record.allocated)
        return cls(item_id=record.item_id, location_id=record.location_id, level=level, allocated=allocated,
                   available=level - allocated, updated_at=record.updated_at)


class StockChangeOut(StockLevelOut):
    replayed: bool = Field(default=False, description="true when this idempotency key was applied before")


class ItemRow(BaseModel):
    """An item as a list shows it: its own fields. A list does not load stock or components, so it leaves
    them out (is_composite says whether it is a kit); the item's own page carries them."""

    item_id: str
    sku: str
    title: str
    purchase_price: float
    retail_price: float
    description: str
    weight: float
    tax_rate: float | None = Field(description="null = the system default (set -1 or null to go back to it)")
    barcode: str | None
    dimensions: Dimensions
    extended_properties: dict[str, Any]
    images: list[str] = Field(default_factory=list, description="S3 keys of the item's images, main image first")
    channel_fields: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per channel id: the title, price and description for that channel")
    is_composite: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: ItemView) -> ItemRow:
        return cls(**_item_fields(view))


class ItemOut(ItemRow):
    """An item with its components ([] unless it is a kit) and its stock at every location holding some."""

    components: list[ComponentOut]
    stock: list[StockLevelOut]

    @classmethod
    def of(cls, view: ItemView) -> ItemOut:
        return cls(**_item_fields(view),
                   components=[ComponentOut(item_id=c.component_id, quantity=int(c.quantity)) for c in view.components],
                   stock=[StockLevelOut.of(s) for s in view.stock])


def _item_fields(view: ItemView) -> dict[str, Any]:
    item = view.item
    return dict(
        item_id=item.item_id, sku=item.sku, title=item.title, purchase_price=item.purchase_price,
        retail_price=item.retail_price, description=item.description, weight=item.weight,
        tax_rate=None if item.tax_rate < 0 else item.tax_rate, barcode=item.barcode,
        dimensions=Dimensions(**item.dimensions.as_dict()), extended_properties=item.extended_properties.as_dict(),
        images=list(item.images or []), channel_fields=item.channel_fields.as_dict(),
        is_composite=item.is_composite, created_at=item.created_at, updated_at=item.updated_at,
    )


class ComponentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    components: list[ComponentInput] = Field(description="The kit's components; [] makes it a plain item again")


class ItemPage(BaseModel):
    items: list[ItemRow]
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


# --- locations and channels ------------------------------------------------------------------


class LocationOut(BaseModel):
    location_id: str
    name: str
    is_default: bool

    @classmethod
    def of(cls, record: LocationRecord) -> LocationOut:
        return cls(location_id=record.location_id, name=record.name, is_default=record.is_default)


class LocationList(BaseModel):
    locations: list[LocationOut]


class ChannelAuthFailureOut(BaseModel):
    failed_at: datetime
    operation: str = Field(description="What was refused: catalogue, stock or orders")
    message: str
    action: str = Field(description="What the seller does about it")

    @classmethod
    def of(cls, record: ChannelAuthFailureRecord) -> ChannelAuthFailureOut:
        return cls(failed_at=record.failed_at, operation=record.operation, message=record.message, action=RECONNECT)


class ChannelOut(BaseModel):
    channel_id: str
    name: str
    type: str
    enabled: bool
    location_ids: list[str]
    settings: dict[str, Any]
    has_credentials: bool = Field(description="Credentials are stored in AWS Secrets Manager, never shown")
    credentials_updated_at: datetime | None
    auth_failure: ChannelAuthFailureOut | None = Field(
        default=None, description="The channel refused the credentials since they were last saved: the seller "
                                  "must reconnect the account. Absent while the channel accepts them")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: ChannelRecord, auth_failure: ChannelAuthFailureRecord | None = None) -> ChannelOut:
        return cls(
            channel_id=record.channel_id, name=record.name, type=record.type, enabled=record.enabled,
            location_ids=list(record.location_ids), settings=record.settings.as_dict(),
            has_credentials=bool(record.credentials_secret), credentials_updated_at=record.credentials_updated_at,
            auth_failure=ChannelAuthFailureOut.of(auth_failure) if auth_failure else None,
            created_at=record.created_at, updated_at=record.updated_at,
        )


class ChannelList(BaseModel):
    channels: list[ChannelOut]


# --- jobs and the automation log -------------------------------------------------------------


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


class JobPage(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class JobList(BaseModel):
    jobs: list[JobOut]


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


# --- catalogue -------------------------------------------------------------------------------


class UploadUrlInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field(default="catalogue.csv", min_length=1, max_length=200)
    source: Source | None = Field(default=None, description="The file's layout; omitted = recognised by its headers")


class UploadUrlOut(BaseModel):
    url: str
    method: str = "PUT"
    key: str
    expires_in: int = Field(description="Seconds the URL stays valid")
    max_bytes: int = Field(description="Larger files are refused when loaded")


class LoadOut(BaseModel):
    load_id: str | None
    job_id: str | None
    status: str | None = Field(description="running | succeeded | failed | superseded")
    file: str | None
    message: str | None
    at: datetime | None
    counts: dict[str, Any] | None

    @classmethod
    def of(cls, status: CatalogueStatusRecord) -> LoadOut:
        return cls(load_id=status.last_load_id, job_id=status.last_job_id, status=status.last_status,
                   file=status.last_file, message=status.last_message, at=status.last_load_at,
                   counts=status.last_counts.as_dict() if status.last_counts else None)


class TotalsOut(BaseModel):
    active: int
    linked: int
    unlinked: int
    fba: int
    at: datetime | None

    @classmethod
    def of(cls, status: CatalogueStatusRecord) -> TotalsOut:
        return cls(active=int(status.total_active or 0), linked=int(status.total_linked or 0),
                   unlinked=int(status.total_unlinked or 0), fba=int(status.total_fba or 0), at=status.totals_at)


class RowErrorOut(BaseModel):
    row: int = Field(description="Row of the file (the header is row 1)")
    field: str
    reason: str
    value: str


class RowErrorPage(BaseModel):
    load_id: str
    file: str
    errors: list[RowErrorOut]
    next_cursor: str | None


class RefreshInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: bool = Field(default=False, description="Amazon's Re-request report asks for an explicit confirmation")


class CatalogueReportOut(BaseModel):
    channel_id: str
    channel_type: str
    enabled: bool
    status: str = Field(description="none | idle | requesting | requested | in_progress | writing | done | failed")
    message: str
    report_id: str | None = Field(default=None, description="The channel's id of the report, task or export")
    requested_at: datetime | None = None
    completed_at: datetime | None = None
    document_key: str | None = Field(default=None, description="The last catalogue document written to the bucket")
    pending_request: bool = Field(default=False, description="A refresh is waiting for the next poller run")
    next_retrieval_at: datetime | None = Field(default=None, description="Rakuten: the next scheduled retrieval")
    warning: str | None = Field(default=None, description="Rakuten: the next retrieval is within 5 minutes")
    force_refresh_allowed_at: datetime | None = Field(default=None,
                                                      description="Rakuten: when Force Mapping Refresh is allowed")

    @classmethod
    def of(cls, view: ReportView) -> CatalogueReportOut:
        return cls(**view.__dict__)


class CatalogueOut(BaseModel):
    channel_id: str
    last_load: LoadOut
    totals: TotalsOut
    report: CatalogueReportOut = Field(
        description="The channel's catalogue report, as /catalogue/report tells it (reading it here requests none)")


# --- PIM -------------------------------------------------------------------------------------


class ConnectionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class PimConnectionOut(BaseModel):
    url: str
    enabled: bool = Field(description="Periodic runs happen only while the connection is enabled")
    has_credentials: bool = Field(description="Client id, secret, username and password are in Secrets Manager, "
                                              "never shown")
    pim_version: str | None
    pim_edition: str | None
    products_api: str | None = Field(description="products or products-uuid, from the PIM's version")
    last_test_at: datetime | None
    last_test_status: str | None = Field(description="ok, bad_url, bad_credentials, unreachable or error")
    updated_at: datetime

    @classmethod
    def of(cls, record: Any) -> PimConnectionOut:
        return cls(url=record.url, enabled=record.enabled, has_credentials=bool(record.credentials_secret),
                   pim_version=record.pim_version, pim_edition=record.pim_edition, products_api=record.products_api,
                   last_test_at=record.last_test_at, last_test_status=record.last_test_status,
                   updated_at=record.updated_at)


class PimConnectionTestOut(BaseModel):
    success: bool
    problem: str | None = Field(description="bad_url, bad_credentials, unreachable or error; null on success")
    message: str
    pim_version: str | None = None
    pim_edition: str | None = None
    products_api: str | None = None


class PimOption(BaseModel):
    code: str
    label: str
    type: str | None = None
    parent: str | None = None
    locales: list[str] | None = None
    currencies: list[str] | None = None
    metric_family: str | None = None


class PimOptions(BaseModel):
    options: list[PimOption]


class PimCountOut(BaseModel):
    count: int = Field(description="Products the filter selects (the category filter includes every child)")
    categories: list[str] = Field(description="The chosen categories and every category below them")


class PimProfileOut(BaseModel):
    profile_id: str
    name: str
    enabled: bool
    settings: dict[str, Any] = Field(description="scope, locale, categories, mappings, product settings, "
                                                 "extended properties")
    last_success_at: datetime | None = Field(description="Start of the last run that read every product")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: Any, settings: dict[str, Any]) -> PimProfileOut:
        return cls(profile_id=record.profile_id, name=record.name, enabled=record.enabled, settings=settings,
                   last_success_at=record.last_success_at, created_at=record.created_at,
                   updated_at=record.updated_at)


class PimProfileList(BaseModel):
    profiles: list[PimProfileOut]


# --- mapping ---------------------------------------------------------------------------------


class LinkedItemOut(BaseModel):
    item_id: str
    sku: str
    title: str


class ListingLimitsOut(BaseModel):
    max_listed: int | None = Field(description="null = the channel's default")
    end_when: int | None = Field(description="null = the channel's default")
    percentage: float | None = Field(description="null = the channel's default")


class SyncStatusOut(BaseModel):
    update_date: datetime | None
    last_update: datetime | None
    submitted_quantity: int | None
    update_status: str | None
    error: str | None


# The catalogue's totals under the name the mapping screen's document gives them (no docstring:
# it would become the schema's description).
class MappingTotalsOut(TotalsOut):
    pass


class MappingListingOut(BaseModel):
    """A row of the mapping screen."""

    sku: str = Field(description="The channel's SKU")
    title: str
    price: float | None
    quantity: int | None = Field(description="The channel's quantity, as its catalogue reported it")
    fba: bool = Field(description="Fulfilled by Amazon: may be linked, never synced")
    ignore_sync: bool
    state: str
    removed: bool
    barcode: str | None
    asin: str | None
    listing_id: str | None = Field(default=None, description="The channel's id of the listing (eBay ItemID, "
                                                              "Amazon listing id...); follows an eBay relist")
    parent: str | None = Field(default=None, description=(
        "A variation child's parent or group on the channel (an Amazon parent SKU, an eBay ItemID or inventory "
        "item group key, a Magento configurable SKU); null for a listing of its own. ?parent= lists its children"))
    attributes: dict[str, str] = Field(default_factory=dict, description=(
        "A variation child's attributes as the channel names them, e.g. {\"Size\": \"M\"}; {} otherwise"))
    linked_item: LinkedItemOut | None
    limits: ListingLimitsOut
    sync: SyncStatusOut

    @classmethod
    def of(cls, listing: Any, item: Any) -> MappingListingOut:
        def whole(value: Any) -> int | None:
            return None if value is None else int(value)

        linked = None
        if listing.linked_item_id:
            linked = LinkedItemOut(item_id=listing.linked_item_id, sku=item.sku if item else "",
                                   title=item.title if item else "")
        return cls(
            sku=listing.sku, title=listing.title or "", price=listing.price, quantity=whole(listing.quantity),
            fba=bool(listing.fba), ignore_sync=bool(listing.ignore_sync), state=listing.state or "active",
            removed=bool(listing.removed), barcode=listing.barcode, asin=listing.asin,
            listing_id=listing.channel_listing_id, parent=listing.variation_parent,
            attributes=listing.variation_attributes(), linked_item=linked,
            limits=ListingLimitsOut(max_listed=whole(listing.max_listed), end_when=whole(listing.end_when),
                                    percentage=listing.percentage),
            sync=SyncStatusOut(update_date=listing.update_date, last_update=listing.last_update,
                               submitted_quantity=whole(listing.submitted_quantity),
                               update_status=listing.update_status, error=listing.update_error),
        )


class MappingListingPage(BaseModel):
    listings: list[MappingListingOut]
    totals: MappingTotalsOut
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class CreatedFromListingOut(BaseModel):
    item: ItemOut
    listing: MappingListingOut


class ImportReportOut(BaseModel):
    valid: bool = Field(description="Every row passed; nothing is applied unless the whole file is valid")
    applied: bool
    rows: int
    errors: list[dict[str, Any]] = Field(description="Every bad row (first 1000): row (header = 1), column, reason")
    error_count: int
    changes: dict[str, int] = Field(description="What the file changes (or would change, on a dry run)")


MAX_CSV_CHARS = 900_000  # within the API's 1 MB request body, with room for the rest of the JSON


class MappingImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csv: str = Field(min_length=1, max_length=MAX_CSV_CHARS, description="The CSV file's text, header first")
    columns: ColumnMapping = Field(description="Which column feeds which field")


class LimitsImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csv: str = Field(min_length=1, max_length=MAX_CSV_CHARS,
                     description="Columns SKU, Max Listed, End When, Percentage (any case; empty = default)")


class ExportLinkOut(BaseModel):
    url: str = Field(description="Presigned GET URL of the CSV")
    key: str
    expires_in: int


# --- orders ----------------------------------------------------------------------------------


class OrderPartOut(BaseModel):
    item_id: str
    per_unit: int = Field(description="Units of this item per unit of the line (a kit's components)")


class OrderLineOut(BaseModel):
    line_id: str
    sku: str = Field(description="The listing's SKU as the channel spells it")
    title: str
    quantity: int
    unit_price: str | None
    item_id: str | None = Field(description="The linked item; null when the listing is not linked")
    unmapped: bool = Field(description="No linked item: the line reserves nothing until its listing is linked")
    location_id: str | None = Field(description="Where the line's stock is allocated and shipped from")
    parts: list[OrderPartOut] = Field(description="What the line holds stock of (fixed when it first held some)")
    allocated: int = Field(description="Line units allocated now")
    shipped: int = Field(description="Line units taken out of the stock level")


class OrderRow(BaseModel):
    """An order as a list shows it; the list leaves its lines out, the order's own page carries them."""

    order_id: str = Field(description="Ours: stable for a channel's order id (see the README)")
    channel_id: str
    channel_type: str
    channel_order_id: str
    status: str = Field(description="open, shipped or cancelled")
    channel_status: str
    placed_at: datetime
    revision: datetime = Field(description="The channel's last-modified time of the download applied last")
    fulfilled_by_channel: bool = Field(description="Amazon FBA and the like: recorded, never touches our stock")
    location_id: str | None
    currency: str | None
    total: str | None
    buyer_name: str
    unmapped: bool
    oversold: bool = Field(description="An allocation of this order took available below 0 at a location")
    oversold_at: list[dict[str, Any]]
    cancelled_after_shipping: bool = Field(
        description="Cancelled (refunded) after it shipped: its units were not put back; restock them by hand")
    announced: bool = Field(description="Every stock change of this order is on the stock queue")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: OrderRecord) -> OrderRow:
        return cls(**_order_fields(record))


class OrderOut(OrderRow):
    lines: list[OrderLineOut]

    @classmethod
    def of(cls, record: OrderRecord) -> OrderOut:
        return cls(**_order_fields(record), lines=[OrderLineOut(
            line_id=line.line_id, sku=line.sku, title=line.title, quantity=line.quantity,
            unit_price=line.unit_price, item_id=line.item_id,
            unmapped=is_unmapped(line, bool(record.fulfilled_by_channel)), location_id=line.location_id,
            parts=[OrderPartOut(item_id=part.item_id, per_unit=part.per_unit) for part in line.parts],
            allocated=line.allocated, shipped=line.taken,
        ) for line in (StoredLine.of(raw) for raw in record.lines or [])])


def _order_fields(record: OrderRecord) -> dict[str, Any]:
    return dict(
        order_id=record.order_id, channel_id=record.channel_id, channel_type=record.channel_type,
        channel_order_id=record.channel_order_id, status=record.status, channel_status=record.channel_status,
        placed_at=record.placed_at, revision=record.revision,
        fulfilled_by_channel=bool(record.fulfilled_by_channel), location_id=record.location_id,
        currency=record.currency, total=record.total, buyer_name=record.buyer_name,
        unmapped=bool(record.unmapped), oversold=bool(record.oversold), oversold_at=list(record.oversold_at or []),
        cancelled_after_shipping=bool(record.cancelled_after_shipping),
        announced=not record.pending_announce, created_at=record.created_at, updated_at=record.updated_at,
    )


class OrderPage(BaseModel):
    orders: list[OrderRow]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


# --- stock sync ------------------------------------------------------------------------------


class ForceUpdateInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: bool = Field(default=False, description="Run again within 15 minutes of the last Force Update")


class SyncSummaryOut(BaseModel):
    channel_id: str
    linked: int = Field(description="Linked listings the sync keeps (not FBA, not Ignore Sync)")
    pending: int = Field(description="Waiting to be sent: never sent, or to be retried after throttling")
    throttled: int = Field(description="Of pending: the channel throttled the last submission (status retrying)")
    processing: int = Field(description="Sent; the channel's result is awaited (e.g. an Amazon feed)")
    errors: int = Field(description="The channel refused the last submission; the listing says why")
    ok: int
    last_run_at: datetime | None = Field(description="The last scheduled sync run")
    last_force_at: datetime | None
    force_allowed_at: datetime | None = Field(description="From then on Force Update needs no confirmation")


class SyncHourOut(BaseModel):
    hour: datetime = Field(description="The hour's start, UTC")
    sent: int = Field(description="Listings the channel took that hour (a feed's when its outcome was read)")
    errors: int = Field(description="Listings the channel refused that hour")
    retrying: int = Field(description="Listings the channel throttled that hour, to be sent again")

    @classmethod
    def of(cls, tally: HourTally) -> SyncHourOut:
        return cls(hour=tally.hour, sent=tally.sent, errors=tally.errors, retrying=tally.retrying)


class SyncHistoryOut(BaseModel):
    hours: list[SyncHourOut] = Field(description="Oldest first, one per hour up to the current one; none as zeros")


class SyncLogEntryOut(BaseModel):
    at: datetime
    quantity: int
    status: str = Field(description="ok, pending (the channel processes it later), error or retrying")
    message: str = Field(description="The channel's error text, if any")
    reason: str = Field(description="What caused the submission (stock change, force_update, scheduled...)")

    @classmethod
    def of(cls, entry: SyncLogRecord) -> SyncLogEntryOut:
        return cls(at=entry.at, quantity=int(entry.quantity), status=entry.status, message=entry.message,
                   reason=entry.reason)


class SyncLogPage(BaseModel):
    entries: list[SyncLogEntryOut]
    next_cursor: str | None
