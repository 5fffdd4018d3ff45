"""The stock submitter: from "these items changed" to the right quantity on every linked listing.

Messages name what to reconcile, never quantities. A run coalesces what its messages name, reads
the current availability and each listing's last submission, and sends only listings whose target
differs (or that are forced, or whose last try failed), per channel in that channel's bulk calls.
A crash between the channel call and the record makes the next delivery compute and send the same
target again (or a newer one): never a stale value taken from a message.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from stocksync.channels.auth_failures import AuthFailures
from stocksync.channels.base import (
    ChannelAccount,
    ChannelAdapter,
    ChannelAuthFailed,
    ChannelError,
    QuantityResult,
    QuantityStatus,
    QuantityUpdate,
    RateLimiter,
)
from stocksync.channels.registry import adapter_class, build_adapter
from stocksync.core import db, raw_table
from stocksync.core.automation_log import AutomationLog
from stocksync.core.chunks import batched
from stocksync.core.db import ChannelRecord, ListingRecord, Record, StockSyncStateRecord, SyncLogRecord
from stocksync.core.messages import StockChange
from stocksync.core.observability import (
    METRIC_LISTINGS_SUBMITTED,
    METRIC_SUBMISSION_ERRORS,
    METRIC_SUBMISSION_SECONDS,
    MetricUnit,
    logger,
    publish,
)
from stocksync.core.secrets import CredentialStore
from stocksync.inventory.rules import available, normalize_sku
from stocksync.inventory.stock_tree import stock_nodes
from stocksync.stock_sync.rules import Limits, is_synced, needs_submission, target_quantity
from stocksync.stock_sync.sync_stats import add_to_hour

ListingKey = tuple[str, str]  # (channel id, sku key)
RECORD_CHUNK = 25  # listings recorded by one writer in turn
LOG_BATCH = 25  # DynamoDB's BatchWriteItem limit
WRITERS = 8  # requests in flight at once while recording a bulk submission (botocore keeps 10 connections)
T = TypeVar("T")
# What the submitter reads of a listing: bulk paths project their queries to these.
LISTING_ATTRIBUTES = ["PK", "SK", "entity", "channel_id", "sku", "sku_key", "linked_item_id", "fba", "ignore_sync",
                      "removed", "state", "channel_listing_id", "listing_kind", "price", "max_listed", "end_when",
                      "percentage", "submitted_quantity", "update_status", "last_update", "submitted_as_of",
                      "submitted_split", "exported_offer", "variation_parent"]
CONCURRENT_SUBMISSION = "a newer submission was recorded while this one ran; sending the target again"


@dataclass
class Scope:
    """What a batch of messages names, coalesced; `named_by` says which messages named each listing."""

    items_everywhere: set[str] = field(default_factory=set)
    items_on: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    whole_channels: set[str] = field(default_factory=set)
    every_channel: bool = False
    messages: dict[str, StockChange] = field(default_factory=dict)

    @classmethod
    def of(cls, messages: Mapping[str, StockChange]) -> Scope:
        scope = cls(messages=dict(messages))
        for change in messages.values():
            if change.all_items:
                if change.channel_ids:
                    scope.whole_channels.update(change.channel_ids)
                else:
                    scope.every_channel = True
            elif change.channel_ids:
                for channel_id in change.channel_ids:
                    scope.items_on[channel_id].update(change.item_ids)
            else:
                scope.items_everywhere.update(change.item_ids)
        return scope

    def items(self) -> set[str]:
        return set(self.items_everywhere).union(*self.items_on.values())

    def names(self, message: StockChange, channel_id: str, item_id: str) -> bool:
        if message.channel_ids and channel_id not in message.channel_ids:
            return False
        return message.all_items or item_id in message.item_ids

    def wants(self, channel_id: str, item_id: str) -> bool:
        return (self.every_channel or channel_id in self.whole_channels or item_id in self.items_everywhere
                or item_id in self.items_on.get(channel_id, ()))


@dataclass
class SyncOutcome:
    sent: int = 0
    unchanged: int = 0
    errors: int = 0
    pending: int = 0
    retrying: int = 0
    calls: dict[str, int] = field(default_factory=dict)  # channel id -> listings sent
    retry: dict[str, float] = field(default_factory=dict)  # message id -> seconds to wait before again

    @property
    def failed_messages(self) -> set[str]:
        return set(self.retry)

    def add(self, other: SyncOutcome) -> None:
        self.sent += other.sent
        self.unchanged += other.unchanged
        self.errors += other.errors
        self.pending += other.pending
        self.retrying += other.retrying
        for channel_id, count in other.calls.items():
            self.calls[channel_id] = self.calls.get(channel_id, 0) + count
        for message_id, wait in other.retry.items():
            self.retry[message_id] = max(self.retry.get(message_id, 0.0), wait)


AdapterFactory = Callable[[ChannelRecord, RateLimiter | None], ChannelAdapter]


class StockSubmitter:
    def __init__(self, credentials: CredentialStore, *, rate_limiter: RateLimiter | None = None,
                 adapter_factory: AdapterFactory | None = None, clock: Callable[[], datetime] = db.now,
                 auth_failures: AuthFailures | None = None) -> None:
        self.credentials = credentials
        self.auth_failures = auth_failures or AuthFailures(AutomationLog(), clock=clock)
        self.rate_limiter = rate_limiter
        self.adapter_factory = adapter_factory or self._build_adapter
        self.clock = clock

    # --- entry points ----------------------------------------------------------------------

    def reconcile(self, messages: Mapping[str, StockChange], *, force: bool = False,
                  reason: str = "") -> SyncOutcome:
        """Bring every listing the messages name to its target; `messages` is keyed by message id."""
        scope = Scope.of(messages)
        listings = self._listings(scope)
        return self.submit(listings, scope=scope, force=force, reason=reason or _reasons(messages.values()))

    def submit(self, listings: Iterable[ListingRecord], *, scope: Scope | None = None, force: bool = False,
               reason: str = "", force_keys: set[ListingKey] | None = None,
               forced_since: datetime | None = None, reassert_keys: set[ListingKey] | None = None) -> SyncOutcome:
        """Send these listings' targets (only those that differ, unless forced), per channel.

        The stock of every item they name is read in BatchGetItems (stock_reads), the results recorded
        one conditional update per listing and logged in BatchWriteItems of 25. The channels are sent
        to at once: a sale reaches every channel in the time of the slowest, not of all in turn. With
        `forced_since`, a listing recorded at or after it is not forced again: a page of a Force Update
        redone after a crash resends only what the first try did not record.

        `reassert_keys` are sent whatever their target, like forced ones, but a listing that was in sync
        and is accepted again at the same quantity is neither recorded nor logged: re-asserting a level
        every few hours then costs the channel call, not a write per listing. A forced listing in sync is
        recorded sent at once, even by a channel still processing it (`Work.resent`)."""
        outcome = SyncOutcome()
        by_channel: dict[str, list[ListingRecord]] = defaultdict(list)
        for listing in listings:
            by_channel[listing.channel_id].append(listing)
        channels: dict[str, ChannelRecord] = {}
        for channel_id in sorted(by_channel):
            channel = db.get_or_none(ChannelRecord, ChannelRecord.keys(channel_id, ""))
            if channel is not None and channel.enabled:
                channels[channel_id] = channel
                by_channel[channel_id] = [listing for listing in by_channel[channel_id] if _synced(listing)]
        as_of = self.clock()  # before the stock is read: what the recorded submissions are as of
        nodes = stock_nodes({listing.linked_item_id for channel_id in channels for listing in by_channel[channel_id]
                             if listing.linked_item_id},
                            {location for channel in channels.values() for location in channel.location_ids or []})
        sends: list[tuple[ChannelRecord, list[Work]]] = []
        for channel_id, channel in channels.items():
            defaults = _channel_defaults(channel)
            locations = list(channel.location_ids or [])
            places = _places(channel)
            work: list[Work] = []
            for listing in by_channel[channel_id]:
                item_id = str(listing.linked_item_id)
                if nodes.get(item_id) is None:
                    continue  # the item was deleted: nothing of it to send (the link stays until the seller relinks)
                limits = _listing_limits(listing).over(defaults)
                target = target_quantity(available(item_id, nodes, locations), limits)
                done = forced_since is not None and listing.last_update is not None \
                    and listing.last_update >= forced_since
                key = (channel_id, listing.sku_key)
                reasserted = key in (reassert_keys or ())
                forced = (force and not done) or key in (force_keys or ()) or reasserted
                update = QuantityUpdate(
                    sku=listing.sku, quantity=target, state=listing.state or "active",
                    listing_id=listing.channel_listing_id, listing_kind=listing.listing_kind,
                    parent=listing.variation_parent,
                    price=float(listing.price) if listing.price is not None else None,
                    locations={loc: available(item_id, nodes, [loc]) for loc in locations},
                    offer=listing.offer_as_exported(),
                )
                split = _split_key(places.place_split(update)) if places is not None else None
                moved = split is not None and listing.submitted_split is not None and split != listing.submitted_split
                if not moved and not needs_submission(target, _int(listing.submitted_quantity),
                                                      status=listing.update_status, forced=forced):
                    outcome.unchanged += 1
                    continue
                in_sync = _in_sync(listing, target, split)
                work.append(Work(listing, update, split, quiet=reasserted and in_sync, resent=forced and in_sync))
            if work:
                sends.append((channel, work))
        for sent in _at_once([functools.partial(self._send, channel, work, scope, reason=reason, as_of=as_of)
                              for channel, work in sends]):
            outcome.add(sent)
        return outcome

    def settle_pending(self, channel_id: str) -> int:
        """Read the outcome of the channel's submissions still processing (Amazon feeds) and put it
        on their listings: errors with the channel's text, the rest ok. Returns the feeds settled."""
        state = db.get_or_none(StockSyncStateRecord, StockSyncStateRecord.keys(channel_id))
        channel = db.get_or_none(ChannelRecord, ChannelRecord.keys(channel_id, ""))
        if state is None or channel is None or not state.pending_feeds:
            return 0
        adapter = self.adapter_factory(channel, self.rate_limiter)
        settled = 0
        for reference in sorted(state.pending_feeds):
            try:
                issues = adapter.pending_outcome(reference)
            except ChannelError as exc:  # throttled or down: the feed stays pending for the next run
                if isinstance(exc, ChannelAuthFailed):
                    self.auth_failures.record(channel, "stock", exc.message)
                logger.warning("Submission outcome not read", extra={
                    "channel_id": channel_id, "reference": reference, "error": exc.message})
                continue
            if issues is None:
                continue
            now = self.clock()
            recorded: list[Recorded] = []
            processing = ListingRecord.update_status == QuantityStatus.PENDING.value
            waiting = ListingRecord.gsi3.query(  # processing listings are due (GSI3): never the whole channel
                db.sync_due_pk(channel_id), filter_condition=processing, attributes_to_get=LISTING_ATTRIBUTES)
            for listing in waiting:
                if isinstance(listing, ListingRecord):
                    recorded.append(_settled(listing, issues.get(listing.sku) or issues.get("*")))
            if reference in (state.unrecorded_feeds or set()):
                recorded += self._refused_unrecorded(channel_id, issues, {r.listing.sku for r in recorded})
            self._record(recorded, now)
            _write_log([_log_entry(r.listing, r.update, r.result, now, f"feed {reference}") for r in recorded])
            # A feed's listings count in the charts' tallies once their outcome is known, here (not
            # when sent as pending): sent or refused, in the hour it settled.
            refused = sum(1 for r in recorded if r.result.status == QuantityStatus.ERROR)
            add_to_hour(channel_id, now, sent=len(recorded) - refused, errors=refused)
            StockSyncStateRecord(**StockSyncStateRecord.keys(channel_id)).update(actions=[
                StockSyncStateRecord.pending_feeds.delete({reference}),
                StockSyncStateRecord.unrecorded_feeds.delete({reference})])
            settled += 1
        return settled

    @staticmethod
    def _refused_unrecorded(channel_id: str, issues: Mapping[str, str], settled: set[str]) -> list[Recorded]:
        """The listings a feed refused that were re-asserted without a record: found by the SKUs the
        channel names. A feed refused whole names none: the channel's re-assertion starts over."""
        if "*" in issues:
            logger.warning("A re-assertion feed was refused whole; re-asserting the channel again",
                           extra={"channel_id": channel_id, "error": issues["*"]})
            StockSyncStateRecord(**StockSyncStateRecord.keys(channel_id)).update(actions=[
                StockSyncStateRecord.reassert_cursor.remove(), StockSyncStateRecord.cycle_started_at.remove()])
            return []
        named = [ListingRecord.keys(channel_id, normalize_sku(sku)) for sku in sorted(issues) if sku not in settled]
        found = [listing for listing in Record.batch_get([(k["PK"], k["SK"]) for k in named])
                 if isinstance(listing, ListingRecord) and _synced(listing)]
        return [_settled(listing, issues.get(listing.sku, "")) for listing in found]

    # --- internals -------------------------------------------------------------------------

    def _listings(self, scope: Scope) -> list[ListingRecord]:
        found: dict[ListingKey, ListingRecord] = {}
        # The items' listings: their keys from GSI4 (keys only), then the listings themselves.
        keys = [(key["PK"]["S"], key["SK"]["S"]) for item_id in sorted(scope.items())
                for key in raw_table.index_partition("GSI4", db.item_pk(item_id), db.LISTING_PREFIX, ["PK", "SK"])]
        for record in Record.batch_get(keys, attributes_to_get=LISTING_ATTRIBUTES):
            if isinstance(record, ListingRecord) and record.linked_item_id \
                    and scope.wants(record.channel_id, record.linked_item_id):
                found[(record.channel_id, record.sku_key)] = record
        channels = set(scope.whole_channels)
        if scope.every_channel:
            channels |= {c.channel_id for c in ChannelRecord.gsi1.query(db.CHANNELS_PARTITION)
                         if isinstance(c, ChannelRecord)}
        for channel_id in sorted(channels):
            for record in ListingRecord.query(db.channel_pk(channel_id), ListingRecord.SK.startswith(
                    db.LISTING_PREFIX), filter_condition=ListingRecord.linked_item_id.exists(),
                    attributes_to_get=LISTING_ATTRIBUTES):
                found[(record.channel_id, record.sku_key)] = record
        return list(found.values())

    def _send(self, channel: ChannelRecord, work: list[Work], scope: Scope | None, *, reason: str,
              as_of: datetime) -> SyncOutcome:
        outcome = SyncOutcome()
        try:
            adapter = self.adapter_factory(channel, self.rate_limiter)
            results = adapter.submit_quantities([w.update for w in work])
        except ChannelError as exc:  # not configured, bad credentials: every listing shows why
            if isinstance(exc, ChannelAuthFailed):
                self.auth_failures.record(channel, "stock", exc.message)
            results = [QuantityResult(w.update.sku, QuantityStatus.ERROR, exc.message) for w in work]
        by_sku = {result.sku: result for result in results}
        now = self.clock()
        outcome.calls[channel.channel_id] = outcome.calls.get(channel.channel_id, 0) + len(work)
        recorded = [Recorded(w.listing, w.update, by_sku.get(w.update.sku) or QuantityResult(
            w.update.sku, QuantityStatus.ERROR, "the channel gave no result for this listing"), as_of, w.split)
            for w in work]
        changed, unrecorded, resent_references = _to_record(work, recorded)
        self._record(changed, now)
        for entry in recorded:
            if entry.result.status == QuantityStatus.RETRY:
                outcome.retrying += 1
                self._retry_messages(outcome, scope, entry.listing, entry.result)
            elif entry.result.status == QuantityStatus.ERROR:
                outcome.errors += 1
            elif entry.result.status == QuantityStatus.PENDING:
                outcome.pending += 1
            else:
                outcome.sent += 1
        _write_log([_log_entry(r.listing, r.update, r.result, now, reason) for r in changed])
        # One UpdateItem per channel per call, never per listing; pending ones count when settle_pending
        # reads their outcome. A redelivered submission counts again: see sync_stats on why that is fine.
        add_to_hour(channel.channel_id, now, sent=outcome.sent, errors=outcome.errors, retrying=outcome.retrying)
        publish(METRIC_LISTINGS_SUBMITTED, outcome.sent + outcome.pending, channel_type=channel.type)
        publish(METRIC_SUBMISSION_ERRORS, outcome.errors, channel_type=channel.type)
        publish(METRIC_SUBMISSION_SECONDS, (now - as_of).total_seconds(), MetricUnit.Seconds,
                channel_type=channel.type)
        references = _references(r.result for r in changed)
        unrecorded_references = _references(r.result for r in unrecorded) | resent_references
        if references or unrecorded_references:
            # A feed carrying unrecorded listings: its refusals are put on them by name when it settles.
            actions: list[Any] = [StockSyncStateRecord.channel_id.set(channel.channel_id),
                       StockSyncStateRecord.pending_feeds.add(references | unrecorded_references)]
            if unrecorded_references:
                actions.append(StockSyncStateRecord.unrecorded_feeds.add(unrecorded_references))
            StockSyncStateRecord(**StockSyncStateRecord.keys(channel.channel_id)).update(actions=actions)
        if outcome.errors or outcome.retry:
            logger.info("Stock sync problems", extra={"channel_id": channel.channel_id, "errors": outcome.errors,
                                                      "retry_messages": len(outcome.retry)})
        return outcome

    @staticmethod
    def _retry_messages(outcome: SyncOutcome, scope: Scope | None, listing: ListingRecord,
                        result: QuantityResult) -> None:
        if scope is None:
            return
        wait = result.retry_after or 30.0
        for message_id, message in scope.messages.items():
            if scope.names(message, listing.channel_id, listing.linked_item_id or ""):
                outcome.retry[message_id] = max(outcome.retry.get(message_id, 0.0), wait)

    @staticmethod
    def _record(recorded: Sequence[Recorded], now: datetime) -> None:
        """Put each result on its listing: a conditional UpdateItem each (named attributes only:
        catalogue loads own the other fields of the listing), WRITERS at a time. Not in transactions:
        each listing's update stands alone, and a transaction bills every write twice.

        Each update holds only if the listing still exists and no submission whose stock was read
        later (`submitted_as_of`) has been recorded on it meanwhile: two submitters finishing out of
        order never let the late one record its older target over the newer one."""

        def record(chunk: Sequence[Recorded]) -> None:
            for entry in chunk:
                if not db.update_if(*_record_update(entry, now)):
                    _after_newer_submission(entry, now)

        _in_parallel(record, recorded, RECORD_CHUNK)

    def _build_adapter(self, channel: ChannelRecord, limiter: RateLimiter | None) -> ChannelAdapter:
        secret = self.credentials.get(channel.credentials_secret) if channel.credentials_secret else {}
        account = ChannelAccount(channel.channel_id, channel.type, channel.settings.as_dict(), secret or {})
        return build_adapter(account, rate_limiter=limiter)


@dataclass(frozen=True)
class Work:
    """A listing to send: its update, and what it splits into per place (`_split_key`), if that matters;
    `quiet`: a re-assertion of what the listing was last sent, recorded only if the channel refuses it.
    `resent`: forced, at the quantity the channel last accepted: a channel still processing it (an
    Amazon feed) leaves the listing in sync, recorded sent now, not processing; only a refusal, read
    by name when the feed settles, changes it. A Force Update of a channel in sync then writes each
    listing once, not again when its feed settles."""

    listing: ListingRecord
    update: QuantityUpdate
    split: str | None = None
    quiet: bool = False
    resent: bool = False


_ACCEPTED = frozenset({QuantityStatus.OK, QuantityStatus.PENDING})


def _to_record(work: list[Work], recorded: list[Recorded]) -> tuple[list[Recorded], list[Recorded], set[str]]:
    """What to record (a resent listing still processing as sent: see Work), what not (quiet ones the
    channel accepted), and the feeds whose refusals go on listings by name (the resent ones')."""
    changed: list[Recorded] = []
    unrecorded: list[Recorded] = []
    resent_references: set[str] = set()
    for w, entry in zip(work, recorded, strict=True):
        if w.quiet and entry.result.status in _ACCEPTED:
            unrecorded.append(entry)
        elif w.resent and entry.result.status == QuantityStatus.PENDING:
            resent_references |= _references([entry.result])
            changed.append(replace(entry, result=replace(entry.result, status=QuantityStatus.OK)))
        else:
            changed.append(entry)
    return changed, unrecorded, resent_references


def _in_sync(listing: ListingRecord, target: int, split: str | None) -> bool:
    return (listing.update_status == QuantityStatus.OK.value and _int(listing.submitted_quantity) == target
            and (split is None or split == listing.submitted_split))


def _references(results: Iterable[QuantityResult]) -> set[str]:
    return {r.reference for r in results if r.status == QuantityStatus.PENDING and r.reference}


@dataclass(frozen=True)
class Recorded:
    """One listing's submission to record: what was sent, the channel's answer, and when the stock it
    was computed from was read (None: an outcome settled later, recorded over the same submission)."""

    listing: ListingRecord
    update: QuantityUpdate
    result: QuantityResult
    as_of: datetime | None
    split: str | None = None


def _record_update(entry: Recorded, now: datetime) -> tuple[ListingRecord, list[Any], Any]:
    listing, update, result = entry.listing, entry.update, entry.result
    actions: list[Any] = [ListingRecord.last_update.set(now), ListingRecord.update_status.set(result.status.value)]
    if result.status in (QuantityStatus.OK, QuantityStatus.PENDING):
        actions.append(ListingRecord.submitted_quantity.set(update.quantity))
        actions.append(ListingRecord.update_error.remove())
        if entry.as_of is not None:
            actions.append(ListingRecord.submitted_as_of.set(entry.as_of))
        if entry.split is not None:
            actions.append(ListingRecord.submitted_split.set(entry.split))
        if _int(listing.submitted_quantity) != update.quantity:
            actions.append(ListingRecord.update_date.set(now))
    else:
        actions.append(ListingRecord.update_error.set(result.message[:1000] or result.status.value))
    actions += _due_actions(listing, result.status)
    if result.state:
        actions.append(ListingRecord.state.set(result.state))
    if result.listing_id and result.listing_id != listing.channel_listing_id:
        actions.append(ListingRecord.channel_listing_id.set(result.listing_id))
    condition = ListingRecord.PK.exists()  # a listing gone meanwhile: nothing to record
    if entry.as_of is not None:
        condition &= ListingRecord.submitted_as_of.does_not_exist() | (ListingRecord.submitted_as_of <= entry.as_of)
    return ListingRecord(**ListingRecord.keys(listing.channel_id, listing.sku_key)), actions, condition


# What the scheduled run must come back to: a refused or throttled submission, and one still processing
# (its outcome is read by settle_pending). An accepted one is in sync until its target moves.
DUE_STATUSES = frozenset({QuantityStatus.ERROR, QuantityStatus.RETRY, QuantityStatus.PENDING})


def _due_actions(listing: ListingRecord, status: QuantityStatus) -> list[Any]:
    """The listing on the sparse GSI3 while its status is due, off it otherwise."""
    if status in DUE_STATUSES:
        due = db.sync_due_keys(listing.channel_id, listing.sku_key)
        return [ListingRecord.GSI3PK.set(due["GSI3PK"]), ListingRecord.GSI3SK.set(due["GSI3SK"])]
    return [ListingRecord.GSI3PK.remove(), ListingRecord.GSI3SK.remove()]


def _settled(listing: ListingRecord, error: str | None) -> Recorded:
    """A processed submission's outcome on its listing, over the same submission (no new as-of)."""
    result = QuantityResult(listing.sku, QuantityStatus.ERROR if error else QuantityStatus.OK, error or "")
    return Recorded(listing, QuantityUpdate(listing.sku, int(listing.submitted_quantity or 0)), result,
                    listing.submitted_as_of)


def _after_newer_submission(entry: Recorded, now: datetime) -> None:
    """Our record was refused: the listing is gone, or a submission of newer stock was recorded while
    ours ran. If ours sent another quantity, the channel may show either (whichever call it got last):
    mark the listing to be sent again, so the next run sends the current target whatever it shows."""
    if entry.result.status not in (QuantityStatus.OK, QuantityStatus.PENDING):
        return
    current = db.get_or_none(ListingRecord, ListingRecord.keys(entry.listing.channel_id, entry.listing.sku_key))
    if current is None or _int(current.submitted_quantity) == entry.update.quantity:
        return
    db.update_if(current, [ListingRecord.update_status.set(QuantityStatus.RETRY.value),
                           ListingRecord.update_error.set(CONCURRENT_SUBMISSION), ListingRecord.last_update.set(now),
                           *_due_actions(current, QuantityStatus.RETRY)],
                 ListingRecord.PK.exists())


def _write_log(entries: list[SyncLogRecord]) -> None:
    """BatchWriteItems of 25 (unprocessed ones sent again by pynamodb), WRITERS at a time."""

    def write(chunk: Sequence[SyncLogRecord]) -> None:
        with SyncLogRecord.batch_write() as batch:
            for entry in chunk:
                batch.save(entry)

    _in_parallel(write, entries, LOG_BATCH)


def _at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Each call in a thread of its own (one call: no thread); the first failure raises."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [done.result() for done in [pool.submit(call) for call in calls]]


def _in_parallel(work: Callable[[Sequence[T]], None], items: Sequence[T], size: int) -> None:
    """`work` on chunks of `size`, WRITERS at a time (one chunk: no thread); the first failure raises."""
    chunks = list(batched(items, size))
    if len(chunks) <= 1:
        for chunk in chunks:
            work(chunk)
        return
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for done in [pool.submit(work, chunk) for chunk in chunks]:
            done.result()


def _synced(listing: ListingRecord) -> bool:
    return bool(listing.linked_item_id) and is_synced(fba=bool(listing.fba), ignore_sync=bool(listing.ignore_sync),
                                                      linked=True, removed=bool(listing.removed))


def _settings(channel: ChannelRecord) -> dict[str, Any]:
    return channel.settings.as_dict() if channel.settings else {}


def _places(channel: ChannelRecord) -> ChannelAdapter | None:
    """The channel's adapter without credentials (it makes no call): what it splits a quantity into."""
    try:
        return adapter_class(channel.type)(ChannelAccount(channel.channel_id, channel.type, _settings(channel), {}))
    except ChannelError:
        return None  # not configured: its listings get the reason from the real call


def _split_key(split: dict[str, int] | None) -> str | None:
    """What a listing was sent per place, as recorded (`submitted_split`): sorted `place=quantity`
    pairs. A split that differs at the same total (stock moved between sources) is sent again."""
    if split is None:
        return None
    return ",".join(f"{place}={quantity}" for place, quantity in sorted(split.items()))


def _channel_defaults(channel: ChannelRecord) -> Limits:
    settings = _settings(channel)
    limits = (settings.get("mapping") or {}).get("default_limits") or {}
    return Limits(max_listed=_int(limits.get("max_listed")), end_when=_int(limits.get("end_when")),
                  percentage=_float(limits.get("percentage")))


def _listing_limits(listing: ListingRecord) -> Limits:
    return Limits(max_listed=_int(listing.max_listed), end_when=_int(listing.end_when),
                  percentage=_float(listing.percentage))


def _log_entry(listing: ListingRecord, update: QuantityUpdate, result: QuantityResult, now: datetime,
               reason: str) -> SyncLogRecord:
    return SyncLogRecord(
        **SyncLogRecord.keys(listing.channel_id, listing.sku_key, now, db.new_id()), channel_id=listing.channel_id,
        sku=listing.sku, quantity=update.quantity, status=result.status.value, message=result.message[:1000],
        reason=reason[:200], at=now, expires_at=now + db.RETENTION,
    )


def _reasons(messages: Iterable[StockChange]) -> str:
    return ",".join(sorted({m.reason for m in messages}))[:200]


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def sync_log(channel_id: str, sku_key: str, *, limit: int, cursor: str | None,
             since: datetime | None = None) -> tuple[list[SyncLogRecord], str | None]:
    """A listing's sync log, newest first, only the last RETENTION (TTL may not have removed older ones)."""
    oldest = since or db.now() - db.RETENTION
    return db.newest_first(SyncLogRecord, db.sync_log_pk(channel_id, sku_key), limit=limit, cursor=cursor,
                           filter_condition=SyncLogRecord.at >= oldest)

