"""/channels/{id}/catalogue: upload URLs, the last load and its row errors."""

from __future__ import annotations

import re
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from stocksync.api.context import services
from stocksync.api.models import (
    CatalogueOut,
    CatalogueReportOut,
    LoadOut,
    RowErrorOut,
    RowErrorPage,
    TotalsOut,
    UploadUrlInput,
    UploadUrlOut,
)
from stocksync.api.params import ChannelId, PlainCursor
from stocksync.catalogue.load import range_offsets
from stocksync.core import db
from stocksync.core.db import CatalogueLoadRecord, CatalogueStatusRecord, LoadErrorRecord
from stocksync.core.errors import NotFound

router = Router()

UPLOAD_EXPIRES_SECONDS = 900
MAX_UPLOAD_BYTES = 2 * 1024**3  # the loader refuses bigger objects
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _status(channel_id: str) -> CatalogueStatusRecord:
    services().channels.get(channel_id)
    return db.get_or_none(CatalogueStatusRecord, CatalogueStatusRecord.keys(channel_id)) or CatalogueStatusRecord(
        **CatalogueStatusRecord.keys(channel_id), channel_id=channel_id)


@router.post("/channels/<channel_id>/catalogue/upload-url", tags=["Catalogue"],
             summary="A presigned URL to PUT a catalogue file to; it is loaded as soon as it lands", status_code=201)
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
    report = CatalogueReportOut.of(services().catalogue_requests.view(channel_id))
    return CatalogueOut(channel_id=channel_id, last_load=LoadOut.of(status), totals=TotalsOut.of(status),
                        report=report)


@router.get("/channels/<channel_id>/catalogue/errors", tags=["Catalogue"],
            summary="Row errors of a load (the last one by default), in file order")
def catalogue_errors(
    channel_id: ChannelId,
    load_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: PlainCursor = None,
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
