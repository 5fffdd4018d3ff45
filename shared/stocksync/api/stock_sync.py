"""/channels/{id}/force-update, /channels/{id}/sync and /channels/{id}/listings/{sku}/sync-log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from stocksync.api.context import services
from stocksync.api.models import JobOut
from stocksync.core.db import SyncLogRecord

router = Router()

ChannelId = Annotated[str, Path(min_length=1, max_length=64)]
Sku = Annotated[str, Path(min_length=1, max_length=200)]


class ForceUpdateInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: bool = Field(default=False, description="Run again within 15 minutes of the last Force Update")


class SyncSummaryOut(BaseModel):
    channel_id: str
    linked: int = Field(description="Linked listings the sync keeps (not FBA, not Ignore Sync)")
    pending: int = Field(description="Waiting to be sent: never sent, or to be retried after throttling")
    processing: int = Field(description="Sent; the channel's result is awaited (e.g. an Amazon feed)")
    errors: int = Field(description="The channel refused the last submission; the listing says why")
    ok: int
    last_run_at: datetime | None = Field(description="The last scheduled sync run")
    last_force_at: datetime | None
    force_allowed_at: datetime | None = Field(description="From then on Force Update needs no confirmation")


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


@router.post("/channels/<channel_id>/force-update", tags=["Stock sync"],
             summary="Resubmit every linked listing of the channel (a job through the bulk path)",
             responses={202: {"description": "Queued; follow /jobs/{job_id}"},
                        429: {"description": "Run less than 15 minutes ago; Retry-After says when, or confirm"}})
def force_update(channel_id: ChannelId,
                 body: Annotated[ForceUpdateInput | None, Body()] = None) -> Response[JobOut]:
    job = services().stock_sync.force_update(channel_id, confirm=bool(body and body.confirm))
    return Response(status_code=202, content_type="application/json", body=JobOut.of(job))


@router.get("/channels/<channel_id>/sync", tags=["Stock sync"], summary="The channel's stock sync summary")
def sync_summary(channel_id: ChannelId) -> SyncSummaryOut:
    return SyncSummaryOut(**services().stock_sync.summary(channel_id).__dict__)


@router.get("/channels/<channel_id>/listings/<sku>/sync-log", tags=["Stock sync"],
            summary="Every submission of the listing's quantity in the last 90 days, newest first")
def listing_sync_log(channel_id: ChannelId, sku: Sku, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                     cursor: Annotated[str | None, Query(max_length=2000)] = None) -> SyncLogPage:
    rows, next_cursor = services().stock_sync.sync_log(channel_id, sku, limit=limit, cursor=cursor)
    return SyncLogPage(entries=[SyncLogEntryOut.of(row) for row in rows], next_cursor=next_cursor)
