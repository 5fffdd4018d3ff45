"""/channels/{id}/force-update, /channels/{id}/sync, /channels/{id}/sync/history and
/channels/{id}/listings/{sku}/sync-log."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from stocksync.api.context import services
from stocksync.api.models import (
    ForceUpdateInput,
    JobOut,
    SyncHistoryOut,
    SyncHourOut,
    SyncLogEntryOut,
    SyncLogPage,
    SyncSummaryOut,
)
from stocksync.api.params import ChannelId, PlainCursor, PlainLimit, SyncLogSku
from stocksync.stock_sync.sync_stats import DEFAULT_HISTORY_HOURS, MAX_HISTORY_HOURS

router = Router()


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


@router.get("/channels/<channel_id>/sync/history", tags=["Stock sync"],
            summary="Listings sent, refused and throttled per hour over the last hours, oldest first")
def sync_history(
    channel_id: ChannelId,
    hours: Annotated[int, Query(ge=1, le=MAX_HISTORY_HOURS,
                                description="How many hours back, the current one included")] = DEFAULT_HISTORY_HOURS,
) -> SyncHistoryOut:
    return SyncHistoryOut(hours=[SyncHourOut.of(tally) for tally in services().stock_sync.history(channel_id, hours)])


@router.get("/channels/<channel_id>/listings/<sku>/sync-log", tags=["Stock sync"],
            summary="Every submission of the listing's quantity in the last 90 days, newest first")
def listing_sync_log(channel_id: ChannelId, sku: SyncLogSku, limit: PlainLimit = 50,
                     cursor: PlainCursor = None) -> SyncLogPage:
    rows, next_cursor = services().stock_sync.sync_log(channel_id, sku, limit=limit, cursor=cursor)
    return SyncLogPage(entries=[SyncLogEntryOut.of(row) for row in rows], next_cursor=next_cursor)
