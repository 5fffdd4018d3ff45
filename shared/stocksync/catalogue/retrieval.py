"""Catalogue retrieval: the report poller's steps and the mapping screen's status / refresh rules.

Per channel one ReportRequestRecord moves through
  idle -> requesting -> requested / in_progress -> writing -> done   (or failed)
under optimistic locking, so concurrent or retried runs never request two reports or write two
documents for one report: a run that loses a race stops; `requesting` and `writing` hold a lease
another run may take over only once it has run out; the document key is fixed by the report.

Rules from the seller's screens:
- Amazon: asking the status when no report exists requests one ("usually takes 10 to 15
  minutes"); Re-request needs `confirm` and answers scheduled / not ready yet.
- Rakuten: fetched every 30 minutes for every enabled channel (a newly enabled one at the next
  interval); Force Mapping Refresh only while enabled (409) and once in 4 hours (429 with when);
  the status warns when the next scheduled retrieval is within 5 minutes. Every retrieval is the
  automation event RAKUTEN_MAPPING_SYNC.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from stocksync.catalogue.documents import CatalogueBucket, document_prefix
from stocksync.channels.auth_failures import AuthFailures
from stocksync.channels.base import (
    CatalogueProgress,
    CatalogueStatus,
    ChannelAccount,
    ChannelAdapter,
)
from stocksync.channels.registry import build_adapter
from stocksync.channels.types import ChannelType
from stocksync.core import db
from stocksync.core.automation_log import AutomationLog
from stocksync.core.db import ChannelRecord, ReportRequestRecord, ScheduleTickRecord
from stocksync.core.errors import ChannelError, Conflict, InvalidInput, TooManyRequests
from stocksync.core.observability import logger
from stocksync.core.secrets import CredentialStore

# How often the poller asks each kind of channel for a fresh catalogue on its own.
REFRESH_EVERY: dict[ChannelType, timedelta] = {
    ChannelType.AMAZON: timedelta(hours=12),
    ChannelType.EBAY: timedelta(hours=6),
    ChannelType.MAGENTO: timedelta(hours=1),
    ChannelType.PIXMANIA: timedelta(hours=1),
    ChannelType.RAKUTEN: timedelta(minutes=30),
    ChannelType.GENERIC: timedelta(hours=1),
}
DUE_SLACK = 0.9  # a schedule tick a little early still counts as due
LEASE = timedelta(minutes=16)  # longer than the poller's timeout
FORCE_REFRESH_WINDOW = timedelta(hours=4)
WARN_WITHIN = timedelta(minutes=5)

# The poller's schedules (template.yaml) and the channel types each one serves.
FREQUENT = "frequent"
RAKUTEN = "rakuten"
SCHEDULE_INTERVALS = {FREQUENT: timedelta(minutes=5), RAKUTEN: timedelta(minutes=30)}
SCHEDULE_TYPES: dict[str, frozenset[ChannelType]] = {
    FREQUENT: frozenset(ChannelType) - {ChannelType.RAKUTEN},
    RAKUTEN: frozenset({ChannelType.RAKUTEN}),
}
ASYNC_TYPES = frozenset({ChannelType.AMAZON, ChannelType.EBAY, ChannelType.PIXMANIA})  # a report to wait for

RAKUTEN_EVENT = "RAKUTEN_MAPPING_SYNC"
ACTIVE = ("requesting", "requested", "in_progress", "writing")

AMAZON_REQUESTED = ("No listings report was available, so one has been requested from Amazon. It usually takes "
                    "10 to 15 minutes: open the mapping screen again later.")
AMAZON_SCHEDULED = ("The report has been scheduled by Amazon, but it is not ready yet. Open the mapping screen "
                    "again later: it can take 10 to 15 minutes when Amazon's servers are busy.")
AMAZON_NOT_READY = "A report requested at {at} is not ready yet: Amazon is still generating it."
AMAZON_CONFIRM = ("Requesting a fresh report from Amazon replaces the one the mapping screen shows once it is "
                  "ready, in 10 to 15 minutes. Send {\"confirm\": true} to request it.")


class ChannelDirectory(Protocol):
    def get(self, channel_id: str) -> ChannelRecord: ...

    def list(self) -> list[ChannelRecord]: ...


class Busy(Exception):
    """Another run moved this channel's report on first: this run leaves it alone."""


@dataclass(frozen=True)
class ReportView:
    """What the catalogue report status / refresh answer."""

    channel_id: str
    channel_type: str
    enabled: bool
    status: str  # none | idle | requesting | requested | in_progress | writing | done | failed
    message: str
    report_id: str | None = None
    requested_at: datetime | None = None
    completed_at: datetime | None = None
    document_key: str | None = None
    pending_request: bool = False
    next_retrieval_at: datetime | None = None
    warning: str | None = None
    force_refresh_allowed_at: datetime | None = None


class CatalogueRequests:
    def __init__(self, channels: ChannelDirectory, credentials: CredentialStore, bucket: CatalogueBucket,
                 log: AutomationLog, *, clock: Callable[[], datetime] = db.now,
                 adapter_factory: Callable[[ChannelAccount], ChannelAdapter] | None = None) -> None:
        self.channels = channels
        self.credentials = credentials
        self.bucket = bucket
        self.log = log
        self.auth_failures = AuthFailures(log, clock=clock)
        self.clock = clock
        self.adapter_factory = adapter_factory or (lambda account: build_adapter(account, clock=clock))

    # --- the poller ----------------------------------------------------------------------

    def tick(self, schedule: str) -> dict[str, str]:
        """One run of a schedule: every enabled channel it serves takes one step. Outcome per channel."""
        if schedule not in SCHEDULE_TYPES:
            raise InvalidInput(f"Unknown poller schedule {schedule!r}", details={"known": sorted(SCHEDULE_TYPES)})
        now = self.clock()
        last = db.get_or_none(ScheduleTickRecord, ScheduleTickRecord.keys(schedule))
        ScheduleTickRecord(**ScheduleTickRecord.keys(schedule), schedule=schedule, last_tick_at=now,
                           previous_tick_at=last.last_tick_at if last else None,
                           interval_s=int(SCHEDULE_INTERVALS[schedule].total_seconds())).save()
        outcomes: dict[str, str] = {}
        for channel in self.channels.list():
            if not channel.enabled:
                continue
            state = self._state(channel)
            served = ChannelType(channel.type) in SCHEDULE_TYPES[schedule]
            forced = schedule == FREQUENT and state.pending_request  # a forced refresh does not wait 30 minutes
            if not (served or forced):
                continue
            try:
                with self.auth_failures.watch(channel, "catalogue"):
                    outcomes[channel.channel_id] = self.step(channel, state)
                if outcomes[channel.channel_id] == "done":
                    self.auth_failures.clear(channel.channel_id)
            except Busy:
                outcomes[channel.channel_id] = "busy"
            except Exception as exc:  # one channel's failure never stops the others
                logger.exception("Catalogue step failed", extra={"channel_id": channel.channel_id})
                outcomes[channel.channel_id] = f"error: {type(exc).__name__}"
        return outcomes

    def step(self, channel: ChannelRecord, state: ReportRequestRecord | None = None) -> str:
        """Request, poll or download: whatever this channel's report needs next."""
        state = state or self._state(channel)
        now = self.clock()
        adapter = self._adapter(channel)
        if not adapter.catalogue_configured():
            return "upload_only"
        leased = state.lease_until is not None and state.lease_until > now
        if state.status in ("requested", "in_progress") or (state.status == "writing" and not leased):
            return self._poll(channel, adapter, state)
        if state.status in ("requesting", "writing") and leased:
            return "busy"
        if state.status == "requesting" and state.requested_at:
            adopted = adapter.find_catalogue_request(state.requested_at - timedelta(minutes=1))
            if adopted is not None:  # the last run asked, then died before noting the answer
                state.report_id = adopted.report_id
                state.status = "requested"
                self._save(state)
                return self._poll(channel, adapter, state)
        if state.pending_request or self._due(channel, state, now):
            return self._request(channel, adapter, state)
        return "idle"

    # --- the screens ---------------------------------------------------------------------

    def view(self, channel_id: str) -> ReportView:
        """The report's state as it is: unlike `status`, asking requests nothing."""
        channel = self.channels.get(channel_id)
        return self._view(channel, self._state(channel))

    def status(self, channel_id: str) -> ReportView:
        channel = self.channels.get(channel_id)
        state = self._state(channel)
        if channel.type == ChannelType.AMAZON and channel.enabled and _no_report(state):
            return self._request_for_screen(channel, state, AMAZON_REQUESTED)
        return self._view(channel, state)

    def refresh(self, channel_id: str, *, confirm: bool) -> ReportView:
        channel = self.channels.get(channel_id)
        state = self._state(channel)
        channel_type = ChannelType(channel.type)
        if not channel.enabled:
            what = "Force Mapping Refresh" if channel_type == ChannelType.RAKUTEN else "A catalogue refresh"
            raise Conflict(f"{what} works only while the channel is enabled: enable {channel.name!r} first.",
                           code="channel_disabled", details={"channel_id": channel_id})
        if channel_type == ChannelType.RAKUTEN:
            return self._force_rakuten(channel, state)
        adapter = self._adapter(channel)
        if not adapter.catalogue_configured():
            raise Conflict(f"{channel.name!r} cannot fetch its catalogue: upload the catalogue file instead.",
                           code="upload_only", details={"channel_id": channel_id})
        if channel_type == ChannelType.AMAZON and not confirm:
            raise InvalidInput(AMAZON_CONFIRM, code="confirmation_required", details={"field": "confirm"})
        if state.status in ACTIVE:
            at = state.requested_at.strftime("%Y-%m-%d %H:%M UTC") if state.requested_at else "an earlier time"
            return self._view(channel, state, AMAZON_NOT_READY.format(at=at) if channel_type == ChannelType.AMAZON
                              else f"A catalogue retrieval started at {at} is still running.")
        if channel_type in ASYNC_TYPES:
            return self._request_for_screen(channel, state, AMAZON_SCHEDULED if channel_type == ChannelType.AMAZON
                                            else f"{adapter.label} has accepted the request; the catalogue "
                                                 "arrives when its report is ready.")
        state.pending_request = True
        self._save(state)
        return self._view(channel, state, "Refresh scheduled: the catalogue will be retrieved within 5 minutes.")

    # --- steps ---------------------------------------------------------------------------

    def _request(self, channel: ChannelRecord, adapter: ChannelAdapter, state: ReportRequestRecord) -> str:
        now = self.clock()
        previous = _plain(state.report_details)  # what the last request left (Mirakl: its last full export)
        state.status, state.requested_at, state.lease_until = "requesting", now, now + LEASE
        state.report_id, state.pending_request, state.message = None, False, ""
        self._save(state)
        try:
            progress = adapter.request_catalogue_after(previous)
        except ChannelError as exc:
            self._fail(channel, state, f"Requesting the catalogue failed: {exc.message}", retry=exc.retryable)
            raise
        state.report_id, state.status, state.lease_until = progress.report_id, "requested", None
        state.report_details = dict(progress.details)
        self._save(state)
        if progress.status == CatalogueStatus.DONE:  # channels answering page by page: nothing to wait for
            return self._write(channel, adapter, state, progress)
        self._event(channel, "CATALOGUE_REPORT_REQUESTED", f"{adapter.label} listings report requested",
                    {"report_id": progress.report_id})
        return "requested"

    def _poll(self, channel: ChannelRecord, adapter: ChannelAdapter, state: ReportRequestRecord) -> str:
        progress = adapter.poll_catalogue(state.report_id or "", _plain(state.report_details))
        if progress.status == CatalogueStatus.DONE:
            return self._write(channel, adapter, state, progress)
        if progress.status == CatalogueStatus.FAILED:
            self._fail(channel, state, progress.message or "The channel could not produce the report", retry=False)
            return "failed"
        if state.status != "in_progress" or state.message != progress.message:
            state.status, state.message = "in_progress", progress.message
            self._save(state)
        return "in_progress"

    def _write(self, channel: ChannelRecord, adapter: ChannelAdapter, state: ReportRequestRecord,
               progress: CatalogueProgress) -> str:
        now = self.clock()
        state.status, state.lease_until, state.report_details = "writing", now + LEASE, dict(progress.details)
        self._save(state)  # claims the write: a concurrent run now loses the race (Busy)
        prefix = document_prefix(channel.channel_id, adapter.catalogue_source(progress), state.requested_at or now,
                                 progress.report_id)
        key, size = self.bucket.existing(prefix), None
        if key is None:
            try:
                with adapter.open_catalogue(progress) as document:
                    key, size = self.bucket.write(prefix, document)
            except Exception as exc:
                # Nothing was written (an upload completes or leaves nothing): the next run downloads again.
                state.status, state.lease_until = "in_progress", None
                state.message = f"Downloading the report failed, will retry: {exc}"[:500]
                state.failures = int(state.failures or 0) + 1
                self._save(state)
                raise
        state.status, state.lease_until, state.document_key = "done", None, key
        state.completed_at, state.failures, state.message = self.clock(), 0, "Catalogue retrieved"
        self._save(state)
        self._event(channel, "CATALOGUE_REPORT_DOWNLOADED", f"{adapter.label} listings retrieved",
                    {"report_id": progress.report_id, "key": key, "bytes": size})
        return "done"

    def _request_for_screen(self, channel: ChannelRecord, state: ReportRequestRecord, message: str) -> ReportView:
        """The mapping screen asks now; if the channel cannot be reached, the poller retries it."""
        adapter = self._adapter(channel)
        try:
            self._request(channel, adapter, state)
        except Busy:
            state = self._state(channel)
            return self._view(channel, state, "A report has just been requested; it is not ready yet.")
        except ChannelError as exc:
            if not exc.retryable:
                raise
            return self._view(channel, self._state(channel),
                              f"{adapter.label} could not be reached ({exc.message}); the request will be retried "
                              "within 5 minutes.")
        return self._view(channel, state, message)

    def _force_rakuten(self, channel: ChannelRecord, state: ReportRequestRecord) -> ReportView:
        now = self.clock()
        if state.last_forced_at and now < state.last_forced_at + FORCE_REFRESH_WINDOW:
            allowed = state.last_forced_at + FORCE_REFRESH_WINDOW
            self._event(channel, RAKUTEN_EVENT, "Force Mapping Refresh refused: run less than 4 hours ago",
                        {"allowed_at": allowed.isoformat()})
            raise TooManyRequests(
                "Force Mapping Refresh can run once in 4 hours. It last ran at "
                f"{state.last_forced_at.strftime('%Y-%m-%d %H:%M UTC')}; please wait until "
                f"{allowed.strftime('%Y-%m-%d %H:%M UTC')} before using it again.",
                retry_after=int((allowed - now).total_seconds()) + 1, code="refresh_too_soon",
                details={"allowed_at": allowed.isoformat(), "last_forced_at": state.last_forced_at.isoformat()},
            )
        state.last_forced_at, state.pending_request = now, True
        self._save(state)
        self._event(channel, RAKUTEN_EVENT, "Force Mapping Refresh requested", {})
        return self._view(channel, state, "Force Mapping Refresh scheduled: the Rakuten listings report will be "
                                          "retrieved within 5 minutes.")

    # --- state ---------------------------------------------------------------------------

    def _state(self, channel: ChannelRecord) -> ReportRequestRecord:
        keys = ReportRequestRecord.keys(channel.channel_id)
        return db.get_or_none(ReportRequestRecord, keys) or ReportRequestRecord(
            **keys, channel_id=channel.channel_id, channel_type=channel.type)

    def _save(self, state: ReportRequestRecord) -> None:
        state.updated_at = self.clock()
        if not db.save_if(state):  # the version attribute makes this conditional on what we read
            raise Busy(state.channel_id)

    def _fail(self, channel: ChannelRecord, state: ReportRequestRecord, message: str, *, retry: bool) -> None:
        state.status, state.lease_until, state.message = "failed", None, message[:500]
        state.failures = int(state.failures or 0) + 1
        state.pending_request = retry  # a passing failure (5xx, throttled) is retried at the next tick
        self._save(state)
        self._event(channel, "CATALOGUE_REPORT_FAILED", message, {"report_id": state.report_id})

    def _due(self, channel: ChannelRecord, state: ReportRequestRecord, now: datetime) -> bool:
        due_at = self._due_at(channel, state)
        return due_at is None or now >= due_at

    @staticmethod
    def _due_at(channel: ChannelRecord, state: ReportRequestRecord) -> datetime | None:
        """From when a schedule tick retrieves this channel's catalogue again (None: at the next one)."""
        if state.requested_at is None:
            return None
        return state.requested_at + REFRESH_EVERY[ChannelType(channel.type)] * DUE_SLACK

    def _adapter(self, channel: ChannelRecord) -> ChannelAdapter:
        secret = self.credentials.get(channel.credentials_secret) if channel.credentials_secret else {}
        return self.adapter_factory(ChannelAccount(channel.channel_id, channel.type, channel.settings.as_dict(),
                                                   secret or {}))

    def _event(self, channel: ChannelRecord, kind: str, message: str, details: dict[str, Any]) -> None:
        if channel.type == ChannelType.RAKUTEN:
            kind = RAKUTEN_EVENT
        self.log.record(channel.channel_id, kind, message, details)

    def _view(self, channel: ChannelRecord, state: ReportRequestRecord, message: str | None = None) -> ReportView:
        exists = state.version is not None
        next_at, warning, allowed_at = None, None, None
        if channel.type == ChannelType.RAKUTEN:
            next_at = self._next_rakuten_retrieval(channel, state)
            now = self.clock()
            if next_at and channel.enabled and timedelta(0) <= next_at - now <= WARN_WITHIN:
                warning = (f"The next scheduled Rakuten listings retrieval is due at {next_at.strftime('%H:%M UTC')}, "
                           "within 5 minutes: the mapping screen may change shortly.")
            if state.last_forced_at and now < state.last_forced_at + FORCE_REFRESH_WINDOW:
                allowed_at = state.last_forced_at + FORCE_REFRESH_WINDOW
            if message is None and channel.enabled and not state.document_key:
                message = ("This shop is on the list of Rakuten reports to retrieve; its first report arrives at the "
                           "next 30-minute interval.")
        if message is None:
            message = state.message or ("No catalogue retrieved yet" if not exists else "")
        return ReportView(
            channel_id=channel.channel_id, channel_type=channel.type, enabled=bool(channel.enabled),
            status=state.status if exists else "none", message=message, report_id=state.report_id,
            requested_at=state.requested_at, completed_at=state.completed_at, document_key=state.document_key,
            pending_request=bool(state.pending_request), next_retrieval_at=next_at, warning=warning,
            force_refresh_allowed_at=allowed_at,
        )

    def _next_rakuten_retrieval(self, channel: ChannelRecord, state: ReportRequestRecord) -> datetime | None:
        """When the report will really be fetched: a forced refresh at the next frequent tick; otherwise
        the first Rakuten tick at which it is due (a tick just after a forced refresh skips), at the
        interval the schedule really keeps."""
        schedule = FREQUENT if state.pending_request else RAKUTEN
        tick = db.get_or_none(ScheduleTickRecord, ScheduleTickRecord.keys(schedule))
        if tick is None:
            return None
        next_at, interval = tick.next_tick(), tick.interval()
        due_at = None if state.pending_request else self._due_at(channel, state)
        if due_at is not None and next_at < due_at:
            next_at += interval * math.ceil((due_at - next_at) / interval)
        return next_at


def _plain(details: Any) -> dict[str, Any]:
    """A stored map attribute (or a fresh dict) as a plain dict."""
    return details.as_dict() if hasattr(details, "as_dict") else dict(details or {})


def _no_report(state: ReportRequestRecord) -> bool:
    return state.status in ("idle", "failed") and not state.document_key and not state.pending_request

