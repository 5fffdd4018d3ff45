"""Orders for the last units, from several channels at once, delivered twice and crashing between
steps: allocations exact, no lost update, available never below 0 (oversold flagged), duplicates ignored.

moto does not lock concurrent writes; the embedded AWS serialises them as DynamoDB would
(infrastructure/local/embedded_aws.py), so these races are DynamoDB's races.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from order_support import add_channel, add_item, available, link, order, stock

from stocksync.api.context import services
from stocksync.channels.order_side import OrderStatus
from stocksync.core import db
from stocksync.core.db import OrderRecord
from stocksync.core.messages import RecordingQueue
from stocksync.inventory.stock import StockAdjustment
from stocksync.orders.importer import OrderBook

CHANNELS = 3
ORDERS_PER_CHANNEL = 4
DELIVERIES = 3  # every order arrives three times (poll overlap, notification, SQS redelivery)


class Crash(ConnectionError):
    """A Lambda dying between two steps."""


class FlakyQueue(RecordingQueue):
    """The stock queue, failing now and then (after the order was committed)."""

    def __init__(self, chance: float, rng: random.Random, lock: threading.Lock) -> None:
        super().__init__()
        self.chance, self.rng, self.lock = chance, rng, lock

    def publish(self, changes) -> None:
        with self.lock:
            fail = self.rng.random() < self.chance
            if not fail:
                super().publish(changes)
        if fail:
            raise Crash("stock queue unreachable")


class CrashingBook(OrderBook):
    """Crashes before the commit (nothing written) or right after it (written, not announced)."""

    def __init__(self, book: OrderBook, chance: float, rng: random.Random, lock: threading.Lock) -> None:
        super().__init__(book.queue, book.inventory, book.locations)
        self.chance, self.rng, self.lock = chance, rng, lock

    def _roll(self) -> bool:
        with self.lock:
            return self.rng.random() < self.chance

    def _commit(self, record, plan, *, was_unmapped):
        if self._roll():
            raise Crash("died before the commit")
        oversold = super()._commit(record, plan, was_unmapped=was_unmapped)
        if self._roll():
            raise Crash("died after the commit")
        return oversold


def deliver(book: OrderBook, channel, one) -> list[str]:
    """What SQS / the next tick does with a crashed delivery: try again until it goes through."""
    outcomes = []
    for _attempt in range(50):
        try:
            outcomes.append(book.import_order(channel, one).outcome)
            return outcomes
        except Crash:
            outcomes.append("crashed")
    raise AssertionError("never went through")


@pytest.fixture
def world(stack):
    lock = threading.Lock()
    rng = random.Random(6)
    queue = FlakyQueue(0.2, rng, lock)
    base = services().order_book
    base.queue = queue
    book = CrashingBook(base, 0.15, rng, lock)
    channels = [add_channel(f"Channel {n}") for n in range(CHANNELS)]
    item_id = add_item("LAST", 3)
    for channel in channels:
        link(channel, "LAST", item_id)
    return book, queue, channels, item_id


def test_given_racing_duplicated_crashing_imports_when_done_then_allocations_are_exact(world):
    book, queue, channels, item_id = world
    deliveries = [(channel, order(f"{n}-{k}", ("LAST", 1), minute=k))
                  for n, channel in enumerate(channels) for k in range(ORDERS_PER_CHANNEL)] * DELIVERIES
    random.Random(1).shuffle(deliveries)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: deliver(book, *job), deliveries))

    total = CHANNELS * ORDERS_PER_CHANNEL
    finals = Counter(outcomes[-1] for outcomes in results)
    assert set(finals) <= {"created", "duplicate"}  # a duplicate is never taken for a new revision
    assert finals["created"] <= total
    records = list(OrderRecord.gsi1.query(db.ORDERS_PARTITION))
    assert len(records) == total
    assert stock(item_id) == (3, total)  # every order allocated exactly once: nothing lost, nothing twice
    assert all(sum(line["allocated"] for line in record.lines) == 1 for record in records)
    assert sum(bool(record.oversold) for record in records) == total - 3  # the first three had stock
    assert set(available(item_id).values()) == {0}  # never below 0: the overlap is the oversell
    assert all(not record.pending_announce for record in records)  # every crash after a commit re-announced
    assert {i for change in queue.changes for i in change.item_ids} == {item_id}
    assert any("crashed" in outcomes for outcomes in results)  # the crashes did happen


def test_given_racing_ships_cancels_and_stock_counts_when_done_then_levels_are_exact(world):
    book, _queue, channels, item_id = world
    opened = [(channel, order(f"{n}-{k}", ("LAST", 1))) for n, channel in enumerate(channels) for k in range(2)]
    for job in opened:
        deliver(book, *job)
    assert stock(item_id) == (3, 6)
    ship = [(channel, order(one.order_id, ("LAST", 1), status=OrderStatus.SHIPPED, minute=5))
            for channel, one in opened[:3]]
    cancel = [(channel, order(one.order_id, ("LAST", 1), status=OrderStatus.CANCELLED, minute=5))
              for channel, one in opened[3:]]
    deliveries = (ship + cancel) * DELIVERIES
    random.Random(2).shuffle(deliveries)
    adjust = services().stock

    def run(job) -> None:
        if job == "count":
            adjust.adjust(item_id, "default", StockAdjustment(delta=1, reason="found one"))
        else:
            deliver(book, *job)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(run, [*deliveries, *["count"] * 4]))

    assert stock(item_id) == (3 - 3 + 4, 0)  # three shipped once, three released once, four found
    history, _ = services().stock.history(item_id, limit=100, cursor=None)
    assert sorted(int(h.level_after) - int(h.level_before) for h in history if h.kind == "order") == [-1, -1, -1]
