"""The order poller's tick and the notification path: download orders from each channel, page by
page, and hand each to the importer. Uses AWS (the table) and the channels' APIs.

Per channel one OrderPollStateRecord (versioned): the high-water mark (newest channel updated_at of
the finished windows), the unfinished window's start and page token, the last error, and the order
notification subscription. A window asks for orders updated after high_water - OVERLAP, so orders
updated in the same instant as the mark (or a little late on the channel's clock) are not missed;
the importer ignores what it has seen. The state moves only after a page's orders are imported, and
only if nobody moved it first: a doubled or concurrent tick imports the same orders twice at worst,
which changes nothing, and then stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stocksync.channels.auth_failures import AuthFailures
from stocksync.channels.base import ChannelAccount, ChannelAdapter, ChannelAuthFailed, ChannelThrottled
from stocksync.channels.order_side import ChannelOrder, OrderStatus
from stocksync.channels.registry import adapter_class, build_adapter
from stocksync.channels.types import ChannelType
from stocksync.core import db
from stocksync.core.automation_log import AutomationLog
from stocksync.core.chunks import mapped_in_order
from stocksync.core.db import ChannelRecord, OrderPollStateRecord
from stocksync.core.errors import ChannelError, StockSyncError
from stocksync.core.observability import logger
from stocksync.core.secrets import CredentialStore
from stocksync.orders.importer import ImportOutcome, OrderBook, OrderTooLarge

OVERLAP = timedelta(minutes=2)
INITIAL_LOOKBACK = timedelta(days=7)
DUE_SLACK = 0.9  # a tick a little early still counts as due
MAX_PAGES_PER_TICK = 20
TICK_BUDGET_S = 240.0  # the function's timeout is 300 s
IMPORTED_EVENT, FAILED_EVENT, THROTTLED_EVENT = "ORDERS_IMPORTED", "ORDERS_FAILED", "ORDERS_THROTTLED"
CANCELLED_AFTER_SHIPPING_EVENT = "ORDER_CANCELLED_AFTER_SHIPPING"
OVERSOLD_EVENT = "ORDER_OVERSOLD"

AdapterFactory = Callable[[ChannelAccount], ChannelAdapter]


class Busy(Exception):
    """Another tick moved this channel's poll state first."""


@dataclass
class ChannelTick:
    outcome: str  # not_due | not_configured | polled | throttled | failed | busy
    imported: int = 0
    pages: int = 0
    errors: list[str] = field(default_factory=list)


class OrderPoller:
    def __init__(self, orders: OrderBook, credentials: CredentialStore, log: AutomationLog, *,
                 channels: Callable[[], list[ChannelRecord]] | None = None,
                 adapter_factory: AdapterFactory | None = None, clock: Callable[[], datetime] = db.now,
                 notification_queue_arn: str = "", monotonic: Callable[[], float] = time.monotonic,
                 cadence_speedup: float = 1.0) -> None:
        self.orders = orders
        self.credentials = credentials
        self.log = log
        self.auth_failures = AuthFailures(log, clock=clock)
        self.channels = channels or _all_channels
        self.adapter_factory = adapter_factory or (lambda account: build_adapter(account, clock=clock))
        self.clock = clock
        self.notification_queue_arn = notification_queue_arn
        self.monotonic = monotonic
        self.cadence_speedup = cadence_speedup  # > 1 only on the local stack, whose schedules run faster

    # --- the schedule ----------------------------------------------------------------------

    def tick(self) -> dict[str, str]:
        """Every enabled channel whose cadence is due downloads what changed, the channels at once (a
        tick lasts as long as its slowest channel, not all of them in turn). Outcome per channel."""
        deadline = self.monotonic() + TICK_BUDGET_S
        channels = [channel for channel in self.channels() if channel.enabled]

        def outcome(channel: ChannelRecord) -> str:
            try:
                return self.poll(channel, deadline=deadline).outcome
            except Busy:
                return "busy"
            except Exception:  # one channel's failure never stops the others
                logger.exception("Order poll failed", extra={"channel_id": channel.channel_id})
                return "failed"

        outcomes = mapped_in_order(outcome, channels, at_once=max(1, len(channels)))
        return {channel.channel_id: result for channel, result in zip(channels, outcomes, strict=True)}

    def poll(self, channel: ChannelRecord, *, deadline: float | None = None, force: bool = False) -> ChannelTick:
        adapter = self._adapter(channel)
        if not adapter.orders_configured():
            return ChannelTick("not_configured")
        state = self._state(channel)
        now = self.clock()
        if not force and not self._due(adapter, state, now):
            return ChannelTick("not_due")
        tick = ChannelTick("polled")
        state.last_polled_at = now
        self._save(state)  # claims this tick: a doubled one loses here (Busy) and does nothing
        self._subscribe(channel, adapter, state)
        self.orders.relink_from_listings(channel.channel_id)  # lines whose listing got linked meanwhile
        deadline = deadline if deadline is not None else self.monotonic() + TICK_BUDGET_S
        while tick.pages < MAX_PAGES_PER_TICK and self.monotonic() < deadline:
            updated_after = state.window_start or (_utc(state.high_water) - OVERLAP)
            try:
                page = adapter.fetch_orders(updated_after, state.page_token)
            except ChannelThrottled as exc:
                tick.outcome = "throttled"
                self._failed(channel, state, tick, f"throttled; continues at the next tick ({exc.message})",
                             THROTTLED_EVENT, log=False)
                break
            except ChannelError as exc:
                tick.outcome = "failed"
                self._failed(channel, state, tick, exc.message, FAILED_EVENT)
                if isinstance(exc, ChannelAuthFailed):
                    self.auth_failures.record(channel, "orders", exc.message)
                break
            tick.pages += 1
            newest, stopped = state.window_max, False
            for order in page.orders:
                newest = max(_utc(newest), _utc(order.updated_at)) if newest else _utc(order.updated_at)
                if state.initial and order.status != OrderStatus.OPEN:
                    continue  # the first sweep: what shipped before we came is in the seller's stock count
                if not self._import(channel, order, tick):
                    stopped = True
                    break
            if stopped:  # the page is read again at the next tick; what was imported is not applied twice
                tick.outcome = "failed"
                self._failed(channel, state, tick, tick.errors[-1], FAILED_EVENT)
                break
            self._advance(state, page.next_page, updated_after, newest)
            if page.next_page is None:
                break
        if tick.imported:
            self.log.record(channel.channel_id, IMPORTED_EVENT, f"{tick.imported} orders imported",
                            {"pages": tick.pages, "errors": tick.errors[:20]})
        return tick

    # --- the notification path -------------------------------------------------------------

    def notified(self, message: Mapping[str, Any], channel_type: str = ChannelType.AMAZON) -> list[ImportOutcome]:
        """One pushed notification: find our channel by the account it names, and import the order it
        names as the channel's order API answers it (a notification is a hint, not content to allocate
        from: the poller reads the same documents, so the two paths never disagree on a revision).
        A notification for an account we do not know is dropped (logged): retrying cannot help."""
        outcomes: list[ImportOutcome] = []
        for notified in adapter_class(channel_type).notified_orders(dict(message)):
            channels = [channel for channel in self.channels() if channel.type == channel_type and channel.enabled
                        and str((channel.settings.as_dict() or {}).get("seller_id") or "") == notified.account_id]
            if not channels:
                logger.warning("Order notification for an unknown account", extra={"account_id": notified.account_id})
                continue
            for channel in channels:
                order = self._adapter(channel).fetch_order(notified.order_id)
                if order is None:
                    logger.info("Notified order not found", extra={"order_id": notified.order_id})
                    continue
                outcome = self.orders.import_order(channel, order)
                self._report_oversell(channel, order, outcome)
                outcomes.append(outcome)
        return outcomes

    # --- internals -------------------------------------------------------------------------

    def _import(self, channel: ChannelRecord, order: ChannelOrder, tick: ChannelTick) -> bool:
        """Import one order; False when the page must stop (a failure a later tick may get past)."""
        try:
            outcome = self.orders.import_order(channel, order)
        except OrderTooLarge as exc:  # it would never pass: say so and go on with the others
            tick.errors.append(exc.message)
            self.log.record(channel.channel_id, FAILED_EVENT, exc.message, {"order": order.order_id})
            return True
        except StockSyncError as exc:
            tick.errors.append(f"order {order.order_id}: {exc.message}")
            return False
        except Exception as exc:  # e.g. the stock queue unreachable after a commit: the page comes again
            logger.exception("Order import failed", extra={"channel_id": channel.channel_id, "order": order.order_id})
            tick.errors.append(f"order {order.order_id}: {type(exc).__name__}")
            return False
        if outcome.outcome in ("created", "updated"):
            tick.imported += 1
        self._report_oversell(channel, order, outcome)
        return True

    def _report_oversell(self, channel: ChannelRecord, order: ChannelOrder, outcome: ImportOutcome) -> None:
        if outcome.oversold:
            self.log.record(channel.channel_id, OVERSOLD_EVENT,
                            f"Order {order.order_id} allocated more than the stock available: oversold",
                            {"order_id": outcome.order_id})

    def _advance(self, state: OrderPollStateRecord, next_page: str | None, updated_after: datetime,
                 newest: datetime | None) -> None:
        if next_page:
            state.window_start, state.page_token, state.window_max = updated_after, next_page, newest
        else:
            finished = max(_utc(state.high_water), _utc(newest)) if newest else _utc(state.high_water)
            state.high_water, state.window_start, state.page_token, state.window_max = finished, None, None, None
            state.initial = False
        state.last_success_at, state.last_error = self.clock(), None
        self._save(state)

    def _failed(self, channel: ChannelRecord, state: OrderPollStateRecord, tick: ChannelTick, message: str,
                kind: str, *, log: bool = True) -> None:
        state.last_error, state.last_error_at = message[:500], self.clock()
        self._save(state)
        if log:
            self.log.record(channel.channel_id, kind, f"Order download failed: {message[:300]}",
                            {"pages": tick.pages, "imported": tick.imported})

    def _subscribe(self, channel: ChannelRecord, adapter: ChannelAdapter, state: OrderPollStateRecord) -> None:
        arn = self.notification_queue_arn
        if not (adapter.notifies_orders and arn) or (state.subscription_id and state.subscribed_to == arn):
            return
        try:
            subscription = adapter.ensure_order_notifications(arn)
        except ChannelError as exc:
            logger.warning("Order notifications not set up", extra={"channel_id": channel.channel_id,
                                                                    "error": exc.message})
            return
        if subscription:
            state.subscription_id, state.subscribed_to = subscription, arn
            self._save(state)

    def _due(self, adapter: ChannelAdapter, state: OrderPollStateRecord, now: datetime) -> bool:
        if state.last_polled_at is None:
            return True
        every = max(timedelta(minutes=adapter.order_poll_minutes) / self.cadence_speedup,
                    timedelta(seconds=adapter.order_poll_floor_s))
        return now >= _utc(state.last_polled_at) + every * DUE_SLACK

    def _state(self, channel: ChannelRecord) -> OrderPollStateRecord:
        keys = OrderPollStateRecord.keys(channel.channel_id)
        return db.get_or_none(OrderPollStateRecord, keys) or OrderPollStateRecord(
            **keys, channel_id=channel.channel_id, high_water=self.clock() - INITIAL_LOOKBACK)

    def _save(self, state: OrderPollStateRecord) -> None:
        if not db.save_if(state):  # the version attribute makes this conditional on what we read
            raise Busy(state.channel_id)

    def _adapter(self, channel: ChannelRecord) -> ChannelAdapter:
        secret = self.credentials.get(channel.credentials_secret) if channel.credentials_secret else {}
        return self.adapter_factory(ChannelAccount(channel.channel_id, channel.type, channel.settings.as_dict(),
                                                   secret or {}))


def _all_channels() -> list[ChannelRecord]:
    return [c for c in ChannelRecord.gsi1.query(db.CHANNELS_PARTITION) if isinstance(c, ChannelRecord)]


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
