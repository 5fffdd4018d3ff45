"""The scheduled sync run (every 15 minutes): per enabled channel, reconcile listings whose target
differs from the last submitted one, retry listings in error, and re-assert levels submitted more
than 6 hours ago (zeros first: an oversold listing costs more than an undersold one).

A channel with more linked listings than one small page, or one the invocation has no time left
for, is handed to the jobs worker as a `stock_sync_run` job: a paged pass (channel_pass.py) that
hands itself over again before the worker's own timeout. One job per channel and tick (its id says
which), so a repeated tick does not start a second pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stocksync.core import db
from stocksync.core.db import ChannelRecord, StockSyncStateRecord
from stocksync.core.jobs import Jobs, TimeLeft
from stocksync.core.messages import JobQueue
from stocksync.core.observability import logger
from stocksync.stock_sync.channel_pass import COUNTS, Deadline, pass_message, read_page, submit_page
from stocksync.stock_sync.submitter import StockSubmitter

SYNC_RUN_KIND = "stock_sync_run"
IN_RUN_PAGE = 1_000  # a channel with more linked listings than this goes to the jobs worker
MARGIN_S = 15.0  # hand the rest over when less than this (or twice a channel's time) is left


@dataclass(frozen=True)
class Handover:
    """Where a channel too big for this invocation goes on: a job of its own on the jobs queue."""

    jobs: Jobs
    queue: JobQueue


def run_scheduled_sync(submitter: StockSubmitter, clock: Callable[[], datetime] = db.now, *,
                       time_left: TimeLeft | None = None, handover: Handover | None = None) -> dict[str, Any]:
    """Without a handover (tests, tools) every channel is run here, whatever its size."""
    now = clock()
    deadline = Deadline(time_left, margin_s=MARGIN_S)
    summary: dict[str, Any] = {}
    for channel in ChannelRecord.gsi1.query(db.CHANNELS_PARTITION):
        if not isinstance(channel, ChannelRecord) or not channel.enabled:
            continue
        channel_id = channel.channel_id
        if handover is not None and not deadline.room_for_a_page():
            summary[channel_id] = {"job_id": _hand_over(channel_id, now, handover)}
            continue
        deadline.page_begins()
        try:
            summary[channel_id] = _run_channel(submitter, channel_id, now, handover)
        except Exception as exc:  # one channel's fault (a bug, an answer we cannot read) never stops the others
            logger.exception("Scheduled sync of a channel failed", extra={"channel_id": channel_id})
            summary[channel_id] = {"failed": f"{type(exc).__name__}: {exc}"[:500]}
        deadline.page_ends()
    return {"channels": summary}


def _run_channel(submitter: StockSubmitter, channel_id: str, now: datetime,
                 handover: Handover | None) -> dict[str, Any]:
    settled = submitter.settle_pending(channel_id)
    listings, after = read_page(channel_id, None, size=IN_RUN_PAGE)
    while after is not None and handover is None:
        more, after = read_page(channel_id, after, size=IN_RUN_PAGE)
        listings += more
    if after is not None and handover is not None:
        return {"settled": settled, "job_id": _hand_over(channel_id, now, handover)}
    outcome = submit_page(submitter, listings, now=now, reason="scheduled", force=False)
    StockSyncStateRecord(**StockSyncStateRecord.keys(channel_id)).update(actions=[
        StockSyncStateRecord.channel_id.set(channel_id), StockSyncStateRecord.last_run_at.set(now)])
    return {name: getattr(outcome, name) for name in COUNTS} | {"settled": settled}


def _hand_over(channel_id: str, now: datetime, handover: Handover) -> str:
    job = handover.jobs.create(SYNC_RUN_KIND, subject=channel_id, message="Scheduled sync run",
                      job_id=f"sync-{channel_id}-{now:%Y%m%dT%H%M}")
    handover.queue.send(pass_message(job.job_id, SYNC_RUN_KIND, channel_id, reason="scheduled", force=False))
    StockSyncStateRecord(**StockSyncStateRecord.keys(channel_id)).update(actions=[
        StockSyncStateRecord.channel_id.set(channel_id), StockSyncStateRecord.last_run_at.set(now)])
    return job.job_id
