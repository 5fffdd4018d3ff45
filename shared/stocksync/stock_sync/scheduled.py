"""The scheduled sync run (every 15 minutes): per enabled channel, reconcile listings whose target
differs from the last submitted one, retry listings in error, and re-assert levels submitted more
than 6 hours ago (zeros first: an oversold listing costs more than an undersold one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from stocksync import db
from stocksync.db import ChannelRecord, ListingRecord, StockSyncStateRecord
from stocksync.stock_sync.submitter import ListingKey, StockSubmitter, SyncOutcome

REASSERT_AFTER = timedelta(hours=6)


def run_scheduled_sync(submitter: StockSubmitter, clock: Callable[[], datetime] = db.now) -> dict[str, Any]:
    now = clock()
    summary: dict[str, Any] = {}
    for channel in ChannelRecord.gsi1.query(db.CHANNELS_PARTITION):
        if not isinstance(channel, ChannelRecord) or not channel.enabled:
            continue
        settled = submitter.settle_pending(channel.channel_id)
        outcome = sync_channel(submitter, channel.channel_id, now=now, reason="scheduled")
        StockSyncStateRecord(**StockSyncStateRecord.keys(channel.channel_id)).update(actions=[
            StockSyncStateRecord.channel_id.set(channel.channel_id), StockSyncStateRecord.last_run_at.set(now)])
        summary[channel.channel_id] = {"sent": outcome.sent, "errors": outcome.errors, "pending": outcome.pending,
                                       "unchanged": outcome.unchanged, "settled": settled}
    return {"channels": summary}


def sync_channel(submitter: StockSubmitter, channel_id: str, *, now: datetime, reason: str,
                 force: bool = False) -> SyncOutcome:
    """Every linked listing of the channel: differing targets and errors always, stale ones re-asserted."""
    listings = list(ListingRecord.query(db.channel_pk(channel_id), ListingRecord.SK.startswith(db.LISTING_PREFIX),
                                        filter_condition=ListingRecord.linked_item_id.exists()))
    stale: set[ListingKey] = {
        (listing.channel_id, listing.sku_key) for listing in listings
        if listing.last_update is None or now - listing.last_update >= REASSERT_AFTER
    }
    listings.sort(key=lambda listing: (listing.submitted_quantity != 0, listing.sku_key))  # zeros first
    return submitter.submit(listings, force=force, force_keys=stale, reason=reason)
