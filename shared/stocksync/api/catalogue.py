"""/channels/{id}/catalogue and /listings: upload URLs, the last load, its row errors, the listings."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from stocksync.api.context import services
from stocksync.catalogue.formats import Source
from stocksync.catalogue.load import range_offsets
from stocksync.core import db
from stocksync.core.db import CatalogueLoadRecord, CatalogueStatusRecord, ListingRecord, LoadErrorRecord
from stocksync.core.errors import NotFound

router = Router()

ChannelId = Annotated[str, Path(min_length=1, max_length=64)]
UPLOAD_EXPIRES_SECONDS = 900
MAX_UPLOAD_BYTES = 2 * 1024**3  # the loader refuses bigger objects
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


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


class TotalsOut(BaseModel):
    active: int
    linked: int
    unlinked: int
    fba: int
    at: datetime | None


class CatalogueOut(BaseModel):
    channel_id: str
    last_load: LoadOut
    totals: TotalsOut
    catalogue_status: dict[str, Any] | None = Field(
        default=None, description="The report poller's state for this channel (report requested, ready, next fetch)")


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


class ListingOut(BaseModel):
    sku: str
    title: str
    price: float | None
    quantity: int | None
    currency: str | None
    barcode: str | None
    asin: str | None
    channel_listing_id: str | None
    listing_kind: str | None
    fba: bool
    state: str
    removed: bool
    linked_item_id: str | None
    ignore_sync: bool
    max_listed: int | None
    end_when: int | None
    percentage: float | None
    submitted_quantity: int | None
    update_status: str | None
    update_error: str | None
    last_update: datetime | None

    @classmethod
    def of(cls, record: ListingRecord) -> ListingOut:
        def number(value: Any) -> int | None:
            return None if value is None else int(value)

        return cls(sku=record.sku, title=record.title, price=record.price, quantity=number(record.quantity),
                   currency=record.currency, barcode=record.barcode, asin=record.asin,
                   channel_listing_id=record.channel_listing_id, listing_kind=record.listing_kind,
                   fba=bool(record.fba), state=record.state, removed=bool(record.removed),
                   linked_item_id=record.linked_item_id, ignore_sync=bool(record.ignore_sync),
                   max_listed=number(record.max_listed), end_when=number(record.end_when),
                   percentage=record.percentage, submitted_quantity=number(record.submitted_quantity),
                   update_status=record.update_status, update_error=record.update_error,
                   last_update=record.last_update)


class ListingPage(BaseModel):
    listings: list[ListingOut]
    totals: TotalsOut
    next_cursor: str | None


def _status(channel_id: str) -> CatalogueStatusRecord:
    services().channels.get(channel_id)
    return db.get_or_none(CatalogueStatusRecord, CatalogueStatusRecord.keys(channel_id)) or CatalogueStatusRecord(
        **CatalogueStatusRecord.keys(channel_id), channel_id=channel_id)


def _totals(status: CatalogueStatusRecord) -> TotalsOut:
    return TotalsOut(active=int(status.total_active or 0), linked=int(status.total_linked or 0),
                     unlinked=int(status.total_unlinked or 0), fba=int(status.total_fba or 0), at=status.totals_at)


@router.post("/channels/<channel_id>/catalogue/upload-url", tags=["Catalogue"],
             summary="A presigned URL to PUT a catalogue file to; it is loaded as soon as it lands")
def upload_url(channel_id: ChannelId, upload: Annotated[UploadUrlInput, Body()]) -> Response[UploadUrlOut]:
    from stocksync.core.aws import client

    services().channels.get(channel_id)
    name = _UNSAFE.sub("_", upload.filename).strip("._") or "catalogue.csv"
    folder = str(upload.source) if upload.source else "uploads"
    key = f"catalogues/{channel_id}/{folder}/{db.now().strftime('%Y%m%dT%H%M%SZ')}-{db.new_id()[:8]}-{name}"
    url = client("s3").generate_presigned_url(
        "put_object", Params={"Bucket": services().settings.catalogue_bucket, "Key": key},
        ExpiresIn=UPLOAD_EXPIRES_SECONDS)
    body = UploadUrlOut(url=url, key=key, expires_in=UPLOAD_EXPIRES_SECONDS, max_bytes=MAX_UPLOAD_BYTES)
    return Response(status_code=201, content_type="application/json", body=body)


@router.get("/channels/<channel_id>/catalogue", tags=["Catalogue"],
            summary="The channel's catalogue: last load (job, counts), listing totals, report state")
def catalogue_status(channel_id: ChannelId) -> CatalogueOut:
    status = _status(channel_id)
    last = LoadOut(load_id=status.last_load_id, job_id=status.last_job_id, status=status.last_status,
                   file=status.last_file, message=status.last_message, at=status.last_load_at,
                   counts=status.last_counts.as_dict() if status.last_counts else None)
    report = status.report.as_dict() if status.report is not None else None
    return CatalogueOut(channel_id=channel_id, last_load=last, totals=_totals(status), catalogue_status=report)


@router.get("/channels/<channel_id>/catalogue/errors", tags=["Catalogue"],
            summary="Row errors of a load (the last one by default), in file order")
def catalogue_errors(
    channel_id: ChannelId,
    load_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> RowErrorPage:
    status = _status(channel_id)
    wanted = load_id or status.last_load_id
    load = db.get_or_none(CatalogueLoadRecord, CatalogueLoadRecord.keys(wanted)) if wanted else None
    if load is None or load.channel_id != channel_id:
        raise NotFound(f"No catalogue load {wanted} for channel {channel_id}", details={"load_id": wanted})
    offsets = range_offsets(load) or [1]
    results = LoadErrorRecord.query(db.load_pk(load.load_id), LoadErrorRecord.SK.startswith(db.LOAD_ERROR_PREFIX),
                                    limit=limit, last_evaluated_key=db.decode_cursor(cursor))
    rows, next_cursor = db.page_of(results, limit)
    errors = [RowErrorOut(row=offsets[min(int(e.range_index), len(offsets) - 1)] + int(e.rel_row) if e.rel_row else 0,
                          field=e.field, reason=e.reason, value=e.value) for e in rows]
    return RowErrorPage(load_id=load.load_id, file=load.key, errors=errors, next_cursor=next_cursor)
