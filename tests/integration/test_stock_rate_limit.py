"""The token bucket in the table (TableRateLimiter) on the embedded AWS: burst, refill rate, cost,
and one budget shared by every limiter (every concurrent function) using the same bucket.

The embedded AWS serialises moto's DynamoDB writes (infrastructure/local/embedded_aws.py), so a
conditional write under contention behaves as on DynamoDB: exactly one racer wins."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from stocksync.api.context import services
from stocksync.channels.base import ChannelThrottled
from stocksync.core import db
from stocksync.core.db import RateBucketRecord
from stocksync.stock_sync.rate_limit import TableRateLimiter

ACCOUNT, OPERATION = "channel-1", "createFeed"


@pytest.fixture(autouse=True)
def table(stack):
    """Point the models at the provisioned table, as a handler does first."""
    services()


class FakeClock:
    """Time that moves only when someone sleeps (or the test says so)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.at = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += seconds


def limiter(clock: FakeClock, **kwargs) -> TableRateLimiter:
    return TableRateLimiter(clock=clock.now, sleep=clock.sleep, **kwargs)


def bucket() -> RateBucketRecord:
    found = db.get_or_none(RateBucketRecord, RateBucketRecord.keys(ACCOUNT, OPERATION))
    assert found is not None
    return found


def test_given_a_new_bucket_when_taking_the_burst_then_no_wait_and_the_next_call_waits_one_token(stack):
    clock = FakeClock()
    limits = limiter(clock)

    for _ in range(5):
        limits.acquire(ACCOUNT, OPERATION, rate=2.0, burst=5)
    assert clock.slept == []

    limits.acquire(ACCOUNT, OPERATION, rate=2.0, burst=5)

    assert clock.slept == [pytest.approx(0.5)]  # one token at 2 a second


def test_given_a_spent_bucket_when_time_passes_then_it_refills_at_the_rate_never_above_the_burst(stack):
    clock = FakeClock()
    limits = limiter(clock)
    for _ in range(4):
        limits.acquire(ACCOUNT, OPERATION, rate=1.0, burst=4)

    clock.at += 2.5
    for _ in range(2):
        limits.acquire(ACCOUNT, OPERATION, rate=1.0, burst=4)
    assert clock.slept == []
    assert float(bucket().tokens) == pytest.approx(0.5)

    clock.at += 3600  # an hour idle: back to the burst, not 3,600 tokens
    for _ in range(4):
        limits.acquire(ACCOUNT, OPERATION, rate=1.0, burst=4)
    limits.acquire(ACCOUNT, OPERATION, rate=1.0, burst=4)
    assert clock.slept == [pytest.approx(1.0)]


def test_given_a_call_costing_several_tokens_when_taken_then_the_bucket_loses_that_many(stack):
    clock = FakeClock()
    limits = limiter(clock)

    limits.acquire(ACCOUNT, OPERATION, rate=1.0, burst=5, cost=3)
    assert float(bucket().tokens) == pytest.approx(2.0)

    limits.acquire(ACCOUNT, OPERATION, rate=1.0, burst=5, cost=3)

    assert clock.slept == [pytest.approx(1.0)]  # the missing token
    assert float(bucket().tokens) == pytest.approx(0.0)


def test_given_a_call_dearer_than_the_burst_when_taken_then_it_takes_the_whole_bucket(stack):
    clock = FakeClock()

    limiter(clock).acquire(ACCOUNT, OPERATION, rate=1.0, burst=5, cost=50)

    assert clock.slept == [] and float(bucket().tokens) == pytest.approx(0.0)


def test_given_a_wait_longer_than_allowed_when_acquiring_then_throttled_with_the_wait_and_nothing_taken(stack):
    clock = FakeClock()
    limits = limiter(clock, max_wait_s=10)
    for _ in range(15):
        limits.acquire(ACCOUNT, "createFeed", rate=0.0083, burst=15)  # Amazon's createFeed plan

    with pytest.raises(ChannelThrottled) as throttled:
        limits.acquire(ACCOUNT, "createFeed", rate=0.0083, burst=15)

    assert throttled.value.retry_after == pytest.approx(1 / 0.0083)
    assert clock.slept == [] and float(bucket().tokens) == pytest.approx(0.0)


def test_given_accounts_and_operations_when_limited_then_each_has_its_own_bucket(stack):
    clock = FakeClock()
    limits = limiter(clock)

    for account, operation in (("a", "x"), ("a", "y"), ("b", "x")):
        limits.acquire(account, operation, rate=1.0, burst=1)

    assert clock.slept == []


def test_given_a_rival_taking_at_the_same_clock_reading_when_racing_then_neither_take_is_lost(stack):
    """A frozen clock (two functions reading the same time): the refill time alone would not show
    that the bucket changed between the loser's read and its write."""
    clock = FakeClock()
    first, rival = limiter(clock), limiter(clock)
    first.acquire(ACCOUNT, OPERATION, rate=1.0, burst=5)  # the bucket exists, refilled at this instant
    raced = []

    def reading_then_racing() -> float:
        if not raced:
            raced.append(True)
            rival.acquire(ACCOUNT, OPERATION, rate=1.0, burst=5)  # between our read and our write
        return clock.at

    TableRateLimiter(clock=reading_then_racing, sleep=lambda _s: None).acquire(ACCOUNT, OPERATION, 1.0, 5)

    assert float(bucket().tokens) == pytest.approx(2.0)  # 5 - three takes


def test_given_two_limiters_on_one_bucket_under_threads_when_calling_then_never_more_than_rate_plus_burst(stack):
    rate, burst = 20.0, 5
    granted: list[float] = []
    seen = threading.local()
    lock = threading.Lock()

    def clock() -> float:
        seen.now = time.time()
        return seen.now

    shared = [TableRateLimiter(clock=clock), TableRateLimiter(clock=clock)]  # two functions, one account

    def call(n: int) -> None:
        shared[n % 2].acquire(ACCOUNT, OPERATION, rate, burst)
        with lock:
            granted.append(seen.now)  # the instant the grant was computed at

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(call, range(30)))

    granted.sort()
    assert len(granted) == 30
    for i, start in enumerate(granted):  # any window [start, end] of grants: at most burst + rate * span
        for j in range(i, len(granted)):
            assert j - i + 1 <= burst + rate * (granted[j] - start) + 1e-6, (i, j, granted[i:j + 1])
    assert granted[-1] - granted[0] >= (30 - burst) / rate - 1e-6


def test_given_many_threads_on_a_full_bucket_when_contending_then_every_token_is_taken_once(stack):
    limits = [TableRateLimiter() for _ in range(4)]
    rate, burst = 0.001, 40  # no meaningful refill during the test

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: limits[n % 4].acquire(ACCOUNT, OPERATION, rate, burst), range(40)))

    assert float(bucket().tokens) < 0.5  # 40 grants took 40 tokens: none lost to a race
    with pytest.raises(ChannelThrottled):
        TableRateLimiter(max_wait_s=1).acquire(ACCOUNT, OPERATION, rate, burst)


def test_given_a_rival_taking_each_refill_for_a_while_when_waiting_then_the_call_gets_its_token_in_its_wait(stack):
    clock = FakeClock()
    rival = limiter(clock)
    rival_takes = 25  # more rounds of waiting than a call may lose races: waiting is bounded by time only

    def sleep_while_the_rival_takes(seconds: float) -> None:
        nonlocal rival_takes
        clock.sleep(seconds)
        if rival_takes:
            rival_takes -= 1
            rival.acquire(ACCOUNT, OPERATION, 10.0, 1)  # the token that just refilled

    patient = TableRateLimiter(clock=clock.now, sleep=sleep_while_the_rival_takes)
    patient.acquire(ACCOUNT, OPERATION, 10.0, 1)  # the burst
    patient.acquire(ACCOUNT, OPERATION, 10.0, 1)

    assert rival_takes == 0
    assert clock.at - 1_700_000_000.0 == pytest.approx(2.6)  # 26 waits of one token at 10 a second


def test_given_every_take_losing_its_race_when_acquiring_then_the_call_is_throttled_as_contended(
        stack, monkeypatch):
    clock = FakeClock()
    saves: list[object] = []
    monkeypatch.setattr(db, "save_if", lambda record, condition: saves.append(record) or False)

    with pytest.raises(ChannelThrottled, match="contended"):
        limiter(clock).acquire(ACCOUNT, OPERATION, 10.0, 5)

    assert len(saves) == 20  # MAX_RACES
