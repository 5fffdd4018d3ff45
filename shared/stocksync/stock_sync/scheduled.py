"""The scheduled sync run (every 15 minutes): per enabled channel, read what the channel's
submissions still processing became, send the listings due (GSI3: linked and never sent, refused,
throttled), and re-assert the next slice of the channel's linked listings (zeros first: an oversold
listing costs more than an undersold one).

A run reads what it will send and little else. A stock change reaches the channels through the stock
queue within seconds, announced after its commit by whoever made it (and again on their retry), so the
run does not recompute every listing's target to find the few that moved. Re-assertion rotates: each
run takes the next 1/CYCLE_RUNS of the channel in key order from where the last one stopped (the
cursor and the cycle's figures on the channel's StockSyncStateRecord), so every linked listing is sent
again within REASSERT_AFTER of the last time, and its target compared on the way. A re-asserted
listing the channel accepts at the quantity it already had is not written (stock_sync/submitter.py).
A cycle older than CYCLE_DEADLINE takes the rest of the channel at once.

The channels whose slice is bigger than IN_RUN_PAGE (channels of more than 20,000 listings) have
their run in the jobs worker, in `stock_sync_slice` jobs (900 s, where this function has 60) of up to
SLICE_JOB_LISTINGS listings: one job for several channels is still one submission, the channels sent to
at once and an item's stock read once, and one invocation waiting on them, not one per channel. A channel the
invocation has no time left for, or whose overdue rest is too big for one invocation, is handed to
the jobs worker as a `stock_sync_run` job: a paged pass over the whole channel (channel_pass.py) that
hands itself over again before the worker's own timeout. One job per channel and tick (its id says
which), so a repeated tick does not start a second one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from stocksync.core import db
from stocksync.core.db import CatalogueStatusRecord, ChannelRecord, ListingRecord, StockSyncStateRecord
from stocksync.core.jobs import FINAL_STATUSES, Jobs, TimeLeft
from stocksync.core.messages import JobMessage, JobQueue
from stocksync.core.observability import logger
from stocksync.stock_sync.channel_pass import REASSERT_AFTER, Deadline, pass_message, read_page
from stocksync.stock_sync.rules import is_synced
from stocksync.stock_sync.submitter import LISTING_ATTRIBUTES, ListingKey, StockSubmitter, SyncOutcome

SYNC_RUN_KIND = "stock_sync_run"
SLICE_KIND = "stock_sync_slice"
SLICE_SUBJECT = "scheduled_sync"  # a slice job serves several channels: the scheduled sync's own
RUN_EVERY = timedelta(minutes=15)  # the StockSubmitterFunction's ScheduledSync rate
# A cycle spread over 20 runs (5 h) leaves a late or failed run or two within REASSERT_AFTER.
CYCLE_RUNS = 20
CYCLE_DEADLINE = REASSERT_AFTER - 2 * RUN_EVERY
RECENT = REASSERT_AFTER - CYCLE_DEADLINE
# The slice of a channel never counted; a bigger slice, or an overdue rest, goes to the jobs worker.
IN_RUN_PAGE = 1_000
OVERDUE_REST = 2 * IN_RUN_PAGE  # what an overdue cycle reads at once (the count may be a little behind)
# A slice job's share, its listings held in memory at once (six channels of 100,000 listings: 30,000 in
# one job); its time is its slowest channel's, the channels going at once.
SLICE_JOB_LISTINGS = 50_000
MARGIN_S = 15.0  # hand the rest over when less than this (or twice a channel's time) is left


@dataclass(frozen=True)
class Handover:
    """Where a channel too big for this invocation goes on: a job of its own on the jobs queue."""

    jobs: Jobs
    queue: JobQueue


def run_scheduled_sync(submitter: StockSubmitter, clock: Callable[[], datetime] = db.now, *,
                       time_left: TimeLeft | None = None, handover: Handover | None = None) -> dict[str, Any]:
    """Without a handover (tests, tools) every channel is run here, whatever its size.

    Every channel's work is gathered first and sent in one submission: the channels are sent to at
    once, and an item listed on six channels has its stock read once, not six times."""
    now = clock()
    deadline = Deadline(time_left, margin_s=MARGIN_S)
    summary: dict[str, Any] = {}
    plans: list[ChannelPlan] = []
    too_big: dict[str, SliceTooBig] = {}  # their slices go to the jobs worker
    for channel in ChannelRecord.gsi1.query(db.CHANNELS_PARTITION):
        if not isinstance(channel, ChannelRecord) or not channel.enabled:
            continue
        channel_id = channel.channel_id
        if handover is not None and not deadline.room_for_a_page():
            summary[channel_id] = {"job_id": _hand_over(channel_id, now, handover)}
            _record_run(channel_id, now)
            continue
        deadline.page_begins()
        planned = _planned(submitter, channel_id, now, handover)
        if isinstance(planned, ChannelPlan):
            plans.append(planned)
        elif isinstance(planned, SliceTooBig):
            too_big[channel_id] = planned
        else:
            summary[channel_id] = planned
        deadline.page_ends()
    if handover is not None:
        for number, channel_ids in enumerate(_slice_jobs(too_big), start=1):
            try:
                handed = {"job_id": _hand_over_slices(channel_ids, now, number, handover)}
            except Exception as exc:  # the jobs queue refusing this job never stops the channels sent here
                logger.exception("Scheduled sync could not hand slices over", extra={"channel_ids": channel_ids})
                handed = _failure(exc)
            summary |= {channel_id: {"settled": too_big[channel_id].settled, **handed} for channel_id in channel_ids}
    return {"channels": summary | _submit(submitter, plans, now)}


def _planned(submitter: StockSubmitter, channel_id: str, now: datetime,
             handover: Handover | None) -> ChannelPlan | SliceTooBig | dict[str, Any]:
    try:
        return _plan_channel(submitter, channel_id, now, handover)
    except Exception as exc:  # one channel's fault (a bug, an answer we cannot read) never stops the others
        logger.exception("Scheduled sync of a channel failed", extra={"channel_id": channel_id})
        return _failure(exc)


@dataclass(frozen=True)
class SliceTooBig:
    """A channel whose slice is more than this function's time allows: a slice job of the run takes it."""

    settled: int
    size: int


def _slice_jobs(too_big: Mapping[str, SliceTooBig]) -> list[list[str]]:
    """The channels in jobs of at most SLICE_JOB_LISTINGS listings between them (a bigger channel alone),
    in the order the run met them, so that a repeated tick makes the same jobs."""
    jobs: list[list[str]] = []
    listings = 0
    for channel_id, big in too_big.items():
        if not jobs or listings + big.size > SLICE_JOB_LISTINGS:
            jobs.append([])
            listings = 0
        jobs[-1].append(channel_id)
        listings += big.size
    return jobs


@dataclass(frozen=True)
class ChannelPlan:
    """One channel's share of a run: what it sends, and where its re-assertion will stand after."""

    channel_id: str
    listings: list[ListingRecord]
    reassert_keys: set[ListingKey]
    cycle: Cycle
    counts: dict[str, int]


def _plan_channel(submitter: StockSubmitter, channel_id: str, now: datetime,
                  handover: Handover | None) -> ChannelPlan | SliceTooBig | dict[str, Any]:
    """The channel's plan, or what was done instead (handed over to a job)."""
    settled = submitter.settle_pending(channel_id)
    state = db.get_or_none(StockSyncStateRecord, StockSyncStateRecord.keys(channel_id)) \
        or StockSyncStateRecord(**StockSyncStateRecord.keys(channel_id), channel_id=channel_id)
    cycle, linked_total = Cycle.of(state, now), _linked_total(channel_id)
    size = cycle.slice_size(linked_total, now)
    if size is None and handover is not None:  # an overdue rest too big for this invocation
        job_id = _hand_over(channel_id, now, handover)
        _save_cycle(channel_id, now, Cycle.restarted(now, max(cycle.last_size or 0, linked_total or 0)))
        return {"settled": settled, "job_id": job_id}
    if size is not None and size > IN_RUN_PAGE and handover is not None:  # more than this function's time allows
        _record_run(channel_id, now)
        return SliceTooBig(settled, size)
    reasserted, after = read_page(channel_id, cycle.cursor, size=size)
    due = _due_listings(channel_id)
    in_slice = {(listing.channel_id, listing.sku_key) for listing in reasserted}
    # One recorded in the last RECENT needs no re-assertion yet: its next slice is within REASSERT_AFTER.
    stale = {(listing.channel_id, listing.sku_key) for listing in reasserted
             if listing.last_update is None or now - listing.last_update >= RECENT}
    listings = reasserted + [listing for listing in due if (listing.channel_id, listing.sku_key) not in in_slice]
    return ChannelPlan(channel_id, listings, stale, cycle.advanced(len(reasserted), after, now),
                       {"settled": settled, "due": len(due), "reasserted": len(reasserted)})


def _submit(submitter: StockSubmitter, plans: list[ChannelPlan], now: datetime) -> dict[str, Any]:
    """The plans in one submission, zeros first (an oversold listing costs more than an undersold
    one); should it fail for a reason of one channel's (a bug, an answer we cannot read), each
    channel again on its own, so that the others still sync."""
    if not plans:
        return {}
    summary: dict[str, Any] = {}
    try:
        outcome = _submit_plans(submitter, plans)
        done = plans
    except Exception:
        logger.exception("Scheduled sync submission failed; each channel on its own")
        done, outcome = [], SyncOutcome()
        for plan in plans:
            try:
                outcome.add(_submit_plans(submitter, [plan]))
                done.append(plan)
            except Exception as exc:
                logger.exception("Scheduled sync of a channel failed", extra={"channel_id": plan.channel_id})
                summary[plan.channel_id] = plan.counts | _failure(exc)
    for plan in done:
        _save_cycle(plan.channel_id, now, plan.cycle)
        summary[plan.channel_id] = plan.counts | {"submitted": outcome.calls.get(plan.channel_id, 0)}
    return summary


def _submit_plans(submitter: StockSubmitter, plans: list[ChannelPlan]) -> SyncOutcome:
    listings = [listing for plan in plans for listing in plan.listings]
    listings.sort(key=lambda listing: (listing.submitted_quantity != 0, listing.channel_id, listing.sku_key))
    return submitter.submit(listings, reassert_keys=set().union(*(plan.reassert_keys for plan in plans)),
                            reason="scheduled")


@dataclass(frozen=True)
class Cycle:
    """Where a channel's rotating re-assertion stands: see the module docstring."""

    cursor: str | None
    started_at: datetime
    seen: int
    last_size: int | None

    @classmethod
    def of(cls, state: StockSyncStateRecord, now: datetime) -> Cycle:
        return cls(state.reassert_cursor, state.cycle_started_at or now, int(state.cycle_seen or 0),
                   None if state.cycle_size is None else int(state.cycle_size))

    @classmethod
    def restarted(cls, now: datetime, size: int) -> Cycle:
        """After a pass job re-asserted the whole channel: a new cycle, sized by what is known."""
        return cls(None, now, 0, size or None)

    def slice_size(self, linked_total: int | None, now: datetime) -> int | None:
        """Listings to re-assert now; None when the cycle is overdue and its rest too big for one run."""
        if self.seen > 0 and now - self.started_at >= CYCLE_DEADLINE:
            return OVERDUE_REST if (linked_total or 0) - self.seen <= IN_RUN_PAGE else None
        share = -(-max(self.last_size or 0, linked_total or 0, self.seen) // CYCLE_RUNS)
        # Until a whole cycle has counted the channel, the mapping's totals are only a hint.
        return max(share, 1) if self.last_size is not None else max(share, IN_RUN_PAGE)

    def advanced(self, read: int, after: str | None, now: datetime) -> Cycle:
        if after is None:  # the channel's end: the next run begins a new cycle
            return Cycle(None, now, 0, self.seen + read)
        return Cycle(after, self.started_at, self.seen + read, self.last_size)


def _save_cycle(channel_id: str, now: datetime, cycle: Cycle) -> None:
    record = StockSyncStateRecord
    actions: list[Any] = [record.channel_id.set(channel_id), record.last_run_at.set(now),
               record.cycle_started_at.set(cycle.started_at), record.cycle_seen.set(cycle.seen),
               record.reassert_cursor.set(cycle.cursor) if cycle.cursor else record.reassert_cursor.remove()]
    if cycle.last_size is not None:
        actions.append(record.cycle_size.set(cycle.last_size))
    record(**record.keys(channel_id)).update(actions=actions)


def _due_listings(channel_id: str) -> list[ListingRecord]:
    """The channel's listings on GSI3; one no longer synced (unlinked, Ignore Sync, gone) leaves it."""
    due: list[ListingRecord] = []
    for listing in ListingRecord.gsi3.query(db.sync_due_pk(channel_id), attributes_to_get=LISTING_ATTRIBUTES):
        if not isinstance(listing, ListingRecord):
            continue
        if is_synced(fba=bool(listing.fba), ignore_sync=bool(listing.ignore_sync), linked=bool(listing.linked_item_id),
                     removed=bool(listing.removed)):
            due.append(listing)
        else:
            db.update_if(listing, [ListingRecord.GSI3PK.remove(), ListingRecord.GSI3SK.remove()],
                         ListingRecord.PK.exists())
    return due


def _linked_total(channel_id: str) -> int | None:
    """The mapping screen's count of the channel's linked listings, if it was counted."""
    status = db.get_or_none(CatalogueStatusRecord, CatalogueStatusRecord.keys(channel_id))
    return None if status is None or status.total_linked is None else int(status.total_linked)


class SlicePayload(BaseModel):
    """A slice job's message: the channels whose scheduled work it runs."""

    channel_ids: list[str]


def run_slice_job(submitter: StockSubmitter, jobs: Jobs, message: JobMessage, clock: Callable[[], datetime] = db.now,
                  ) -> None:
    """The scheduled work (due listings and slice) of the channels too big for the scheduled function's
    time, run by the jobs worker in one submission. A redelivered message of a finished job does
    nothing; one delivered while the job runs sends the same slices again, which the channels take
    unchanged."""
    job = jobs.get(message.job_id)
    if job.status in FINAL_STATUSES:
        return
    jobs.start(job.job_id)
    now = clock()
    plans: list[ChannelPlan] = []
    summary: dict[str, dict[str, Any]] = {}
    for channel_id in SlicePayload.model_validate(message.payload).channel_ids:
        planned = _planned(submitter, channel_id, now, None)
        if isinstance(planned, ChannelPlan):
            plans.append(planned)
        elif isinstance(planned, dict):  # failed (without a handover no slice is too big)
            summary[channel_id] = planned
    summary |= _submit(submitter, plans, now)
    totals: dict[str, int] = {}
    for counts in summary.values():
        for name, value in counts.items():
            if isinstance(value, int):
                totals[name] = totals.get(name, 0) + value
    failed = sum(1 for counts in summary.values() if "failed" in counts)  # logged where it failed
    jobs.finish(job.job_id, succeeded=True, result=totals | {"channels": len(summary), "failed": failed})


def _hand_over(channel_id: str, now: datetime, handover: Handover) -> str:
    """The channel's rest as a pass job, one per channel and tick: a repeated tick sends the same
    job's message again, which finds it done or running."""
    job = handover.jobs.create(SYNC_RUN_KIND, subject=channel_id, message="Scheduled sync run",
                               job_id=f"sync-{channel_id}-{now:%Y%m%dT%H%M}")
    handover.queue.send(pass_message(job.job_id, SYNC_RUN_KIND, channel_id, reason="scheduled", force=False))
    return job.job_id


def _hand_over_slices(channel_ids: list[str], now: datetime, number: int, handover: Handover) -> str:
    """The channels' slices as the tick's job `number` (idempotent like `_hand_over`)."""
    job = handover.jobs.create(SLICE_KIND, subject=SLICE_SUBJECT, message="Scheduled sync of the biggest channels",
                               job_id=f"slice-{now:%Y%m%dT%H%M}-{number}")
    handover.queue.send(JobMessage(job_id=job.job_id, kind=SLICE_KIND,
                                   payload=SlicePayload(channel_ids=channel_ids).model_dump(mode="json")))
    return job.job_id


def _record_run(channel_id: str, now: datetime) -> None:
    StockSyncStateRecord(**StockSyncStateRecord.keys(channel_id)).update(actions=[
        StockSyncStateRecord.channel_id.set(channel_id), StockSyncStateRecord.last_run_at.set(now)])


def _failure(exc: Exception) -> dict[str, str]:
    return {"failed": f"{type(exc).__name__}: {exc}"[:500]}
