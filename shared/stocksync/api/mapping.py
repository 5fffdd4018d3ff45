"""/channels/{id}/listings and /mapping: the seller's mapping screen as an API.

A listing is addressed by its channel SKU, compared case-insensitively after trimming. SKUs may hold
`/`, spaces or `%`: percent-encode the SKU twice in the path (`A/B 1` -> `A%252FB%25201`); API
Gateway decodes the path once and the API decodes the parameter once more. A SKU without `/` or
`%` may be encoded once.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from stocksync.api.context import services
from stocksync.api.models import (
    CreatedFromListingOut,
    ExportLinkOut,
    ImportReportOut,
    ItemOut,
    JobOut,
    LimitsImportIn,
    MappingImportIn,
    MappingListingOut,
    MappingListingPage,
    MappingTotalsOut,
)
from stocksync.api.params import ChannelId, DryRun, PlainCursor, PlainLimit, Sku
from stocksync.core import db
from stocksync.core.errors import InvalidInput
from stocksync.core.messages import JobMessage
from stocksync.mapping import bulk
from stocksync.mapping.csv_io import LIMITS_COLUMNS, ColumnMapping, parse_export_fields
from stocksync.mapping.rules import ListingLimits
from stocksync.mapping.service import IMPORT_JOB, LinkInput, ListingFilter, ListingPatch, ListingRow

router = Router()
# A small file is checked (and applied) while the request waits; a large one becomes a job.
IMPORT_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "The report: every row checked, applied unless dry_run or invalid",
          "content": {"application/json": {"model": ImportReportOut}}},
    202: {"description": "A large file: queued as a job; follow /jobs/{job_id}",
          "content": {"application/json": {"model": JobOut}}},
}

EXPORT_INLINE_ROWS = 5000
EXPORT_URL_SECONDS = 900
IMPORT_INLINE_ROWS = 2000


def _sku(raw: str) -> str:
    sku = unquote(raw)
    if not sku.strip():
        raise InvalidInput("The SKU is empty", details={"field": "sku"})
    return sku


def _out(row: ListingRow) -> MappingListingOut:
    return MappingListingOut.of(row.listing, row.item)


def _accepted(job: db.JobRecord) -> Response[JobOut]:
    return Response(status_code=202, content_type="application/json", body=JobOut.of(job))


@router.get("/channels/<channel_id>/listings", tags=["Mapping"],
            summary="The mapping screen: listings in SKU order with their links, flags, limits, sync status, totals")
def list_listings(
    channel_id: ChannelId,
    *,
    limit: PlainLimit = 50,
    cursor: PlainCursor = None,
    linked: Annotated[bool | None, Query(description="true: linked only; false: unlinked only")] = None,
    fba: Annotated[bool | None, Query()] = None,
    ignore_sync: Annotated[bool | None, Query()] = None,
    errors: Annotated[bool | None, Query(description="true: listings whose last update failed")] = None,
    throttled: Annotated[bool | None, Query(
        description="true: listings waiting to be sent again (the channel throttled or failed the call)")] = None,
    removed: Annotated[bool | None, Query(description="Listings gone from the last load (default: hidden)")] = False,
    q: Annotated[str, Query(max_length=200, description="Part of the listing's SKU or title, any case")] = "",
    order: Annotated[Literal["asc", "desc"], Query(description=(
        "Channel SKU order: asc (A to Z) or desc; send a cursor with the order it came with"))] = "asc",
    parent: Annotated[str | None, Query(min_length=1, max_length=200, description=(
        "One parent's variation children only, in SKU order: the parent's key as the listings show it"))] = None,
) -> MappingListingPage:
    mapping = services().mapping
    wanted = ListingFilter(linked=linked, fba=fba, ignore_sync=ignore_sync, errors=errors, throttled=throttled,
                           removed=removed, q=q, parent=parent)
    page = mapping.page(channel_id, wanted, limit=limit, cursor=cursor, descending=order == "desc")
    return MappingListingPage(listings=[_out(row) for row in page.rows],
                              totals=MappingTotalsOut.of(mapping.totals(channel_id)), next_cursor=page.next_cursor)


@router.get("/channels/<channel_id>/listings/<sku>", tags=["Mapping"], summary="One listing")
def get_listing(channel_id: ChannelId, sku: Sku) -> MappingListingOut:
    return _out(services().mapping.row(channel_id, _sku(sku)))


@router.patch("/channels/<channel_id>/listings/<sku>", tags=["Mapping"],
              summary="Set Ignore Sync and listing limits (null limit = the channel's default)")
def patch_listing(channel_id: ChannelId, sku: Sku, patch: Annotated[ListingPatch, Body()]) -> MappingListingOut:
    return _out(services().mapping.patch(channel_id, _sku(sku), patch))


@router.put("/channels/<channel_id>/listings/<sku>/link", tags=["Mapping"],
            summary="Link the listing to an item, by item id or item SKU (404 when there is no such item)")
def link_listing(channel_id: ChannelId, sku: Sku, target: Annotated[LinkInput, Body()]) -> MappingListingOut:
    return _out(services().mapping.link(channel_id, _sku(sku), target))


@router.delete("/channels/<channel_id>/listings/<sku>/link", tags=["Mapping"], summary="Unlink the listing")
def unlink_listing(channel_id: ChannelId, sku: Sku) -> MappingListingOut:
    return _out(services().mapping.unlink(channel_id, _sku(sku)))


@router.post("/channels/<channel_id>/listings/<sku>/create-item", tags=["Mapping"],
             summary="Create an item from the listing and link it (refused on Rakuten; 409 if the SKU is taken)",
             status_code=201)
def create_item(channel_id: ChannelId, sku: Sku) -> Response[CreatedFromListingOut]:
    mapping = services().mapping
    created = mapping.create_item(channel_id, _sku(sku))
    body = CreatedFromListingOut(item=ItemOut.of(services().inventory.get(created.item.item_id)),
                                 listing=_out(ListingRow(created.listing, created.item)))
    return Response(status_code=201, content_type="application/json", body=body)


@router.post("/channels/<channel_id>/mapping/auto-link", tags=["Mapping"],
             summary="Link every unlinked listing whose SKU (or barcode / ASIN) matches an item: a job",
             status_code=202)
def auto_link(channel_id: ChannelId) -> Response[JobOut]:
    return _accepted(services().mapping.start_auto_link(channel_id))


@router.post("/channels/<channel_id>/mapping/create-all", tags=["Mapping"],
             summary="Create an item for every unlinked listing: a job (refused on Rakuten)", status_code=202)
def create_all(channel_id: ChannelId) -> Response[JobOut]:
    return _accepted(services().mapping.start_create_all(channel_id))


@router.get("/channels/<channel_id>/mapping/export", tags=["Mapping"],
            summary="The mapping as CSV; large exports answer 303 with a presigned URL",
            responses={200: {"description": "The CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                       303: {"description": "Too large to answer inline: Location is a presigned URL of the file",
                             "content": {"application/json": {"model": ExportLinkOut}}}})
def export_mapping(
    channel_id: ChannelId,
    fields: Annotated[str | None, Query(max_length=500, description=(
        "Comma-separated: channel_sku, title, linked_sku, linked_title, fba, ignore_sync, max_listed, end_when, "
        "percentage, submitted_quantity, last_update, status, price, quantity"))] = None,
) -> Response[str]:
    services().mapping.channel(channel_id)
    try:
        chosen = parse_export_fields(fields)
    except ValueError as exc:
        raise InvalidInput(str(exc), details={"field": "fields"}) from exc
    text, spooled = bulk.export_csv(channel_id, chosen, EXPORT_INLINE_ROWS)
    if text is not None:
        return Response(status_code=200, content_type="text/csv; charset=utf-8", body=text,
                        headers={"Content-Disposition": f'attachment; filename="mapping-{channel_id}.csv"'})
    from stocksync.core.aws import client

    bucket = services().mapping.bucket
    key = f"exports/{channel_id}/{db.now().strftime('%Y%m%dT%H%M%SZ')}-{db.new_id()[:8]}.csv"
    client("s3").upload_fileobj(spooled, bucket, key, ExtraArgs={"ContentType": "text/csv; charset=utf-8"})
    url = client("s3").generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                              ExpiresIn=EXPORT_URL_SECONDS)
    link = ExportLinkOut(url=url, key=key, expires_in=EXPORT_URL_SECONDS)
    return Response(status_code=303, content_type="application/json", body=link.model_dump_json(),
                    headers={"Location": url})


@router.post("/channels/<channel_id>/mapping/import", tags=["Mapping"],
             summary="Import a mapping CSV: all rows validated, nothing applied unless all are valid",
             responses=IMPORT_RESPONSES)
def import_mapping(channel_id: ChannelId, body: Annotated[MappingImportIn, Body()],
                   dry_run: DryRun = False) -> Response[ImportReportOut | JobOut]:
    return _import(channel_id, body.csv, body.columns, dry_run, kind="mapping")


@router.post("/channels/<channel_id>/listing-limits/import", tags=["Mapping"],
             summary=("Import listing limits by CSV: SKU and any of Max Listed, End When, Percentage (a missing "
                      "column is left as it is), all or nothing"),
             responses=IMPORT_RESPONSES)
def import_limits(channel_id: ChannelId, body: Annotated[LimitsImportIn, Body()],
                  dry_run: DryRun = False) -> Response[ImportReportOut | JobOut]:
    return _import(channel_id, body.csv, LIMITS_COLUMNS, dry_run, kind="limits")


@router.get("/channels/<channel_id>/listing-limits", tags=["Mapping"],
            summary="The channel's default listing limits (for listings without their own)")
def default_limits(channel_id: ChannelId) -> ListingLimits:
    mapping = services().mapping
    return mapping.settings(mapping.channel(channel_id)).default_limits


@router.put("/channels/<channel_id>/listing-limits", tags=["Mapping"],
            summary="Set the channel's default listing limits")
def set_default_limits(channel_id: ChannelId, limits: Annotated[ListingLimits, Body()]) -> ListingLimits:
    mapping = services().mapping
    return mapping.settings(mapping.set_default_limits(channel_id, limits)).default_limits


def _import(channel_id: str, text: str, columns: ColumnMapping, dry_run: bool, *, kind: str) -> Response:
    mapping = services().mapping
    mapping.channel(channel_id)
    if text.count("\n") > IMPORT_INLINE_ROWS:
        return _import_job(channel_id, text, columns, dry_run, kind)
    report = bulk.import_mapping(mapping, channel_id, text, columns, dry_run=dry_run, kind=kind)
    body = ImportReportOut(**report.as_dict())
    if not report.valid and not dry_run:
        raise InvalidInput(f"{report.error_count} problems in the file: nothing was applied",
                           details=body.model_dump(), code="invalid_file")
    return Response(status_code=200, content_type="application/json", body=body)


def _import_job(channel_id: str, text: str, columns: ColumnMapping, dry_run: bool, kind: str) -> Response:
    from stocksync.core.aws import client

    mapping = services().mapping
    job = mapping.jobs.create(IMPORT_JOB, subject=channel_id, message=f"{kind.capitalize()} import queued")
    key = f"imports/{channel_id}/{job.job_id}.csv"
    client("s3").put_object(Bucket=mapping.bucket, Key=key, Body=text.encode("utf-8"), ContentType="text/csv")
    services().job_queue.send(JobMessage(job_id=job.job_id, kind=IMPORT_JOB, payload={
        "channel_id": channel_id, "key": key, "columns": columns.model_dump(), "dry_run": dry_run, "kind": kind}))
    return _accepted(job)

