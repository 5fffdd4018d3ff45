"""Hourly tallies of a channel's stock submissions, for the console's charts: listings sent, refused
(errors) and throttled (retrying) per hour.

The sync log is keyed per listing, so counting a channel's hour from it would read every listing's
log. Instead each submission ADDs its counts to the hour's tally in one UpdateItem per channel, and a
chart reads a channel's hours in one Query.

The tallies are for a chart, not a ledger: a submission redone after a crash (the record written, the
message not yet deleted) counts again, and so does a listing retried after throttling (once as
retrying, then once as sent). That is what the channel was sent, which is what the chart shows; the
listings' own states (GET /channels/{id}/sync) stay the truth of where each listing stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from stocksync.core import db
from stocksync.core.db import SyncStatsRecord

MAX_HISTORY_HOURS = 14 * 24  # the tallies' retention
DEFAULT_HISTORY_HOURS = 72


@dataclass(frozen=True)
class HourTally:
    hour: datetime  # the hour's start, UTC
    sent: int = 0
    errors: int = 0
    retrying: int = 0


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def add_to_hour(channel_id: str, at: datetime, *, sent: int = 0, errors: int = 0, retrying: int = 0) -> None:
    """ADD these counts to the channel's tally of the hour `at` falls in (one UpdateItem; nothing when all are 0)."""
    if not (sent or errors or retrying):
        return
    hour = hour_of(at)
    # The entity too: an UpdateItem that creates the record sets only what it names, and queries of
    # the model filter on it.
    actions: list[Any] = [SyncStatsRecord.entity.set(SyncStatsRecord), SyncStatsRecord.channel_id.set(channel_id),
                          SyncStatsRecord.hour.set(hour),
                          SyncStatsRecord.expires_at.set(hour + db.SYNC_STATS_RETENTION)]
    for counter, count in ((SyncStatsRecord.sent, sent), (SyncStatsRecord.errors, errors),
                           (SyncStatsRecord.retrying, retrying)):
        if count:
            actions.append(counter.add(count))
    SyncStatsRecord(**SyncStatsRecord.keys(channel_id, hour)).update(actions=actions)


def hourly_history(channel_id: str, hours: int, now: datetime) -> list[HourTally]:
    """The last `hours` hours up to and including the current one, oldest first, hours with nothing as
    zeros: one Query over the range of hour keys (older tallies TTL has not removed yet are outside it)."""
    last = hour_of(now)
    first = last - timedelta(hours=hours - 1)
    recorded = {record.SK: record for record in SyncStatsRecord.query(
        db.sync_stats_pk(channel_id), SyncStatsRecord.SK.between(db.sync_stats_sk(first), db.sync_stats_sk(last)))}
    tallies = []
    for index in range(hours):
        hour = first + timedelta(hours=index)
        record = recorded.get(db.sync_stats_sk(hour))
        tallies.append(HourTally(hour) if record is None else HourTally(
            hour, int(record.sent or 0), int(record.errors or 0), int(record.retrying or 0)))
    return tallies
