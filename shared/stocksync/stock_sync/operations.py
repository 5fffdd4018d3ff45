"""What a seller triggers on a channel's stock sync: Force Update (a job through the bulk path,
guarded against repeats within 15 minutes), the sync summary, its hourly history and a listing's sync log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from stocksync.core import db
from stocksync.core.db import ChannelRecord, JobRecord, ListingRecord, StockSyncStateRecord, SyncLogRecord
from stocksync.core.errors import InvalidInput, NotFound, TooManyRequests
from stocksync.core.jobs import Jobs
from stocksync.core.messages import JobQueue
from stocksync.inventory.rules import normalize_sku
from stocksync.stock_sync.channel_pass import pass_message
from stocksync.stock_sync.submitter import sync_log
from stocksync.stock_sync.sync_stats import MAX_HISTORY_HOURS, HourTally, hourly_history

FORCE_UPDATE_KIND = "stock_force_update"
FORCE_UPDATE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class SyncSummary:
    channel_id: str
    linked: int
    pending: int  # to be sent: never sent, or waiting to be retried
    throttled: int  # of pending: the channel throttled the last submission, retried after its wait
    processing: int  # sent, the channel's result awaited (an Amazon feed)
    errors: int
    ok: int
    last_run_at: datetime | None
    last_force_at: datetime | None
    force_allowed_at: datetime | None


class StockSyncOperations:
    def __init__(self, jobs: Jobs, job_queue: JobQueue, *, clock: Callable[[], datetime] = db.now) -> None:
        self.jobs = jobs
        self.job_queue = job_queue
        self.clock = clock

    def force_update(self, channel_id: str, *, confirm: bool = False) -> JobRecord:
        """Resubmit every linked listing of the channel. Refused (429) within 15 minutes of the last
        one unless confirmed: it can get the seller's account throttled."""
        self._channel(channel_id)
        now = self.clock()
        state = db.get_or_none(StockSyncStateRecord, StockSyncStateRecord.keys(channel_id))
        last = state.last_force_at if state else None
        if last is not None and now < last + FORCE_UPDATE_WINDOW and not confirm:
            allowed = last + FORCE_UPDATE_WINDOW
            raise TooManyRequests(
                f"Force Update ran at {last.strftime('%H:%M UTC')}; running it again before "
                f"{allowed.strftime('%H:%M UTC')} can get the account throttled by the channel. "
                "Send confirm=true to run it anyway.",
                retry_after=int((allowed - now).total_seconds()) + 1, code="force_update_too_soon",
                details={"allowed_at": allowed.isoformat(), "last_force_at": last.isoformat()},
            )
        job = self.jobs.create(FORCE_UPDATE_KIND, subject=channel_id, message="Force Update")
        record = StockSyncStateRecord(**StockSyncStateRecord.keys(channel_id))
        record.update(actions=[StockSyncStateRecord.channel_id.set(channel_id),
                               StockSyncStateRecord.last_force_at.set(now),
                               StockSyncStateRecord.last_force_job_id.set(job.job_id)])
        self.job_queue.send(pass_message(job.job_id, FORCE_UPDATE_KIND, channel_id, reason="force_update", force=True))
        return job

    def summary(self, channel_id: str) -> SyncSummary:
        self._channel(channel_id)
        counts: Counter[str] = Counter()
        for listing in ListingRecord.query(
                db.channel_pk(channel_id), ListingRecord.SK.startswith(db.LISTING_PREFIX),
                filter_condition=ListingRecord.linked_item_id.exists(),
                attributes_to_get=["PK", "SK", "entity", "fba", "ignore_sync", "removed", "update_status",
                                   "submitted_quantity"]):
            if listing.fba or listing.ignore_sync or listing.removed:
                continue
            counts["linked"] += 1
            status = listing.update_status
            if status == "pending":
                counts["processing"] += 1
            elif status == "error":
                counts["errors"] += 1
            elif status == "retrying" or listing.submitted_quantity is None:
                counts["pending"] += 1
                if status == "retrying":
                    counts["throttled"] += 1
            else:
                counts["ok"] += 1
        state = db.get_or_none(StockSyncStateRecord, StockSyncStateRecord.keys(channel_id))
        last_force = state.last_force_at if state else None
        return SyncSummary(channel_id, counts["linked"], counts["pending"], counts["throttled"], counts["processing"],
                           counts["errors"], counts["ok"], state.last_run_at if state else None, last_force,
                           last_force + FORCE_UPDATE_WINDOW if last_force else None)

    def history(self, channel_id: str, hours: int) -> list[HourTally]:
        """The channel's submissions per hour over the last `hours` (up to the tallies' 14 days), oldest first."""
        if not 1 <= hours <= MAX_HISTORY_HOURS:
            raise InvalidInput(f"hours must be 1 to {MAX_HISTORY_HOURS}", details={"field": "hours"})
        self._channel(channel_id)
        return hourly_history(channel_id, hours, self.clock())

    def sync_log(self, channel_id: str, sku: str, *, limit: int,
                 cursor: str | None) -> tuple[list[SyncLogRecord], str | None]:
        self._channel(channel_id)
        if db.get_or_none(ListingRecord, ListingRecord.keys(channel_id, normalize_sku(sku))) is None:
            raise NotFound(f"No listing {sku} on channel {channel_id}", details={"sku": sku})
        return sync_log(channel_id, normalize_sku(sku), limit=limit, cursor=cursor)

    @staticmethod
    def _channel(channel_id: str) -> ChannelRecord:
        channel = db.get_or_none(ChannelRecord, ChannelRecord.keys(channel_id, ""))
        if channel is None:
            raise NotFound(f"No channel with id {channel_id}", details={"channel_id": channel_id})
        return channel
