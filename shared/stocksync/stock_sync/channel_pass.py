"""A pass over every linked listing of a channel (Force Update, the scheduled sync run), in pages,
within the invocation's time.

A page is up to PAGE_SIZE listings in key order after a cursor (the sort key of the previous page's
last listing): at most one Amazon listings feed (its 25,000 messages), so a pass over 100,000 listings
sends four. Before each page the pass checks the invocation's remaining time (the Lambda context's,
when the worker gives it); when less is left than the last page took (with a margin), it hands the
rest over: its own job message again, with the cursor.

As a job (`stock_force_update`, `stock_sync_run`) each page is claimed before anything is sent (a
UniqueClaim, leased until the claiming invocation's end) and marked done, with the job's progress and
the page's counts (sent, pending, ...: the job's result), in one transaction once its results are
recorded. So a redelivered or duplicated message never sends a
page twice: it skips the pages done, stops at a page another live invocation holds, and takes over
one whose holder died (its lease ran out). Such a page is sent again only for the listings the dead
holder did not record, since a forced listing recorded since the job began (`started_at`) is not
forced again: the crash rule of the submitter (a crash between the channel call and the record sends
the same target again), never a second feed for what was recorded.

Before its first page a pass reads the outcome of the channel's submissions still processing (Amazon
feeds, Mirakl offer imports), as the scheduled run does for the channels it runs itself: a run that
hands a channel over for want of time would otherwise leave them processing for good.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from pynamodb.exceptions import TransactWriteError

from stocksync.core import db, raw_table
from stocksync.core.db import ListingRecord, UniqueClaim
from stocksync.core.jobs import FINAL_STATUSES, Jobs, TimeLeft
from stocksync.core.messages import JobMessage, JobQueue
from stocksync.core.observability import logger
from stocksync.stock_sync.submitter import LISTING_ATTRIBUTES, ListingKey, StockSubmitter, SyncOutcome

PAGE_SIZE = 25_000  # one Amazon JSON_LISTINGS_FEED (messages maxItems)
REASSERT_AFTER = timedelta(hours=6)
PAGE_CLAIM = "STOCK_PASS_PAGE"
DONE = "done"
MIN_MARGIN_S = 60.0  # hand over when less than this (or twice the last page's time) is left
NO_CONTEXT_TIME_S = 840.0  # the jobs worker's 900 s, less a margin, when no Lambda context says better
COUNTS = ("sent", "pending", "errors", "retrying", "unchanged")


class PassPayload(BaseModel):
    """Where a pass is: the job message's payload (the first message carries only the channel)."""

    channel_id: str
    reason: str = "force_update"
    force: bool = True
    started_at: datetime | None = None
    cursor: str | None = None


def read_page(channel_id: str, cursor: str | None, *, keys_only: bool = False,
              size: int | None = None) -> tuple[list[ListingRecord], str | None]:
    """The channel's next `size` (PAGE_SIZE) linked listings after `cursor`, and the cursor after them
    (None: the last page)."""
    size = size or PAGE_SIZE
    start = {"PK": {"S": db.channel_pk(channel_id)}, "SK": {"S": cursor}} if cursor else None
    results = ListingRecord.query(db.channel_pk(channel_id), ListingRecord.SK.startswith(db.LISTING_PREFIX),
                                  filter_condition=ListingRecord.linked_item_id.exists(), limit=size,
                                  last_evaluated_key=start,
                                  attributes_to_get=["PK", "SK", "entity"] if keys_only else LISTING_ATTRIBUTES)
    page = list(results)
    return page, (page[-1].SK if len(page) == size else None)


def submit_page(submitter: StockSubmitter, listings: list[ListingRecord], *, now: datetime, reason: str,
                force: bool, forced_since: datetime | None = None) -> SyncOutcome:
    """A page through the submitter: differing targets and errors always, levels not recorded for
    REASSERT_AFTER re-asserted (without a record when the channel takes them unchanged), zeros first
    (an oversold listing costs more than an undersold one)."""
    stale: set[ListingKey] = {(listing.channel_id, listing.sku_key) for listing in listings
                              if listing.last_update is None or now - listing.last_update >= REASSERT_AFTER}
    listings.sort(key=lambda listing: (listing.submitted_quantity != 0, listing.sku_key))
    # A Force Update records and logs every listing it sends: the seller asked to see them sent.
    return submitter.submit(listings, force=force, reassert_keys=None if force else stale, reason=reason,
                            forced_since=forced_since)


class Deadline:
    """The invocation's remaining time, and whether another page fits in it."""

    def __init__(self, time_left: TimeLeft | None, *, margin_s: float = MIN_MARGIN_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        began = clock()
        self.time_left = time_left or (lambda: NO_CONTEXT_TIME_S - (clock() - began))
        self.margin_s = margin_s
        self.clock = clock
        self.longest_page_s = 0.0
        self._page_began = began

    def page_begins(self) -> None:
        self._page_began = self.clock()

    def page_ends(self) -> None:
        self.longest_page_s = max(self.longest_page_s, self.clock() - self._page_began)

    def room_for_a_page(self) -> bool:
        return self.time_left() >= max(self.margin_s, 2 * self.longest_page_s)


class ChannelPass:
    """Runs pass jobs: see the module docstring."""

    def __init__(self, submitter: StockSubmitter, jobs: Jobs, queue: JobQueue, *,
                 clock: Callable[[], datetime] = db.now) -> None:
        self.submitter = submitter
        self.jobs = jobs
        self.queue = queue
        self.clock = clock

    def run(self, message: JobMessage, time_left: TimeLeft | None = None) -> None:
        job = self.jobs.get(message.job_id)
        if job.status in FINAL_STATUSES:
            return  # a redelivered message of a finished pass
        payload = PassPayload.model_validate(message.payload)
        if payload.started_at is None:  # the job's own time: the same for every delivery of the first message
            payload.started_at = job.created_at
            self.jobs.start(job.job_id)
        deadline = Deadline(time_left)
        lease = db.new_id()
        while True:
            if not deadline.room_for_a_page():
                logger.info("Stock pass continues", extra={"job_id": job.job_id, "cursor": payload.cursor})
                self.queue.send(JobMessage(job_id=job.job_id, kind=message.kind,
                                           payload=payload.model_dump(mode="json")))
                return
            deadline.page_begins()
            claim = self._claim(job.job_id, payload.cursor, lease, seconds=deadline.time_left())
            if claim == "held":
                return  # another delivery of this job is on this page: the pass is theirs
            if payload.cursor is None:  # a run handed over before its channel's turn still reads its outcomes
                self.submitter.settle_pending(payload.channel_id)
            listings, after = read_page(payload.channel_id, payload.cursor, keys_only=claim == DONE)
            if claim != DONE:
                outcome = submit_page(self.submitter, listings, now=self.clock(), reason=payload.reason,
                                      force=payload.force, forced_since=payload.started_at)
                if not self._done(job.job_id, payload.cursor, lease, len(listings), outcome):
                    return  # our lease ran out and another delivery took the page over
            deadline.page_ends()
            if after is None:
                self.jobs.finish(job.job_id, succeeded=True)  # its result: what each page added when done
                return
            payload.cursor = after

    def _claim(self, job_id: str, cursor: str | None, lease: str, *, seconds: float) -> str:
        """"taken" (ours until our invocation ends), "done" (recorded earlier) or "held" (another's)."""
        now = self.clock()
        claim = UniqueClaim(**UniqueClaim.keys(PAGE_CLAIM, _page_key(job_id, cursor)), owner_id=lease,
                            expires_at=now + timedelta(seconds=max(seconds, 1.0)))
        free = UniqueClaim.PK.does_not_exist() | ((UniqueClaim.owner_id != DONE) & (UniqueClaim.expires_at < now))
        if db.save_if(claim, free):
            return "taken"
        held = db.get_or_none(UniqueClaim, UniqueClaim.keys(PAGE_CLAIM, _page_key(job_id, cursor)))
        return DONE if held is not None and held.owner_id == DONE else "held"

    def _done(self, job_id: str, cursor: str | None, lease: str, listings: int, outcome: SyncOutcome) -> bool:
        """The page done, the job's progress and the page's counts in the job's result, together and only
        while the page is still ours: a page redone after a crash is counted once."""
        claim = UniqueClaim(**UniqueClaim.keys(PAGE_CLAIM, _page_key(job_id, cursor)))
        done = raw_table.update_request(
            claim, [UniqueClaim.owner_id.set(DONE), UniqueClaim.expires_at.set(self.clock() + db.RETENTION)],
            UniqueClaim.owner_id == lease)
        try:
            tallies = {name: getattr(outcome, name) for name in COUNTS} | {"pages": 1}
            raw_table.transact_updates([done, Jobs.progress_update(job_id, listings, tallies)])
        except TransactWriteError:
            return False
        return True


def _page_key(job_id: str, cursor: str | None) -> str:
    return f"{job_id}#{cursor or ''}"


def pass_message(job_id: str, kind: str, channel_id: str, *, reason: str, force: bool,
                 cursor: str | None = None, started_at: datetime | None = None) -> JobMessage:
    payload: dict[str, Any] = PassPayload(channel_id=channel_id, reason=reason, force=force, cursor=cursor,
                                          started_at=started_at).model_dump(mode="json")
    return JobMessage(job_id=job_id, kind=kind, payload=payload)
