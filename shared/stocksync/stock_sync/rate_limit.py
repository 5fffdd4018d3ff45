"""A token bucket per channel account and operation, kept in the table so that every concurrent
submitter shares one budget. Optimistic: read, refill by elapsed time, take under a condition on
the bucket as read (its tokens and refill time); a lost race waits a moment and reads again. The
threads of one process (a submission's calls sent at once) take their turns at a bucket: a race
among them would be a conditional write lost, billed all the same."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from stocksync.channels.base import ChannelThrottled
from stocksync.core import db
from stocksync.core.db import RateBucketRecord

MAX_RACES = 20
RACE_BACKOFF_S = 0.005
# Epoch seconds as floats hold about 0.2 µs: a refill that comes out a hair under the tokens wanted
# is them (else the call waits a sliver the clock cannot even show, again and again).
ROUNDING = 1e-6


class TableRateLimiter:
    def __init__(self, *, max_wait_s: float = 10.0, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.sleep = sleep

    def acquire(self, account: str, operation: str, rate: float, burst: int, cost: int = 1) -> None:
        cost = min(cost, burst)  # a call dearer than the burst takes the whole bucket, never waits forever
        if cost <= 0:
            return
        with _turns(account, operation):
            self._take(account, operation, rate, burst, cost)

    def _take(self, account: str, operation: str, rate: float, burst: int, cost: int) -> None:
        keys = RateBucketRecord.keys(account, operation)
        waited, lost = 0.0, 0
        while True:  # waiting for tokens is bounded by max_wait_s, losing races by MAX_RACES
            current = db.get_or_none(RateBucketRecord, keys)
            now = self.clock()
            tokens = float(burst) if current is None else min(
                float(burst), float(current.tokens) + max(0.0, now - float(current.refilled_at)) * rate)
            if tokens < cost - ROUNDING:
                wait = (cost - tokens) / rate
                if waited + wait > self.max_wait_s:
                    raise ChannelThrottled(f"the account's {operation} budget is spent", retry_after=wait)
                self.sleep(wait)
                waited += wait
                continue
            record = RateBucketRecord(**keys, tokens=max(0.0, tokens - cost), refilled_at=max(now, _refilled(current)))
            # Both attributes as read: a rival's take at the same clock reading changes the tokens,
            # one at a later reading the refill time, so a stale read never passes.
            condition = (RateBucketRecord.PK.does_not_exist() if current is None
                         else (RateBucketRecord.refilled_at == current.refilled_at)
                         & (RateBucketRecord.tokens == current.tokens))
            if db.save_if(record, condition):
                return
            lost += 1
            if lost >= MAX_RACES:
                raise ChannelThrottled(f"the account's {operation} budget is contended", retry_after=1.0)
            self.sleep(random.uniform(0, RACE_BACKOFF_S * lost))  # noqa: S311 - jitter, not crypto


_TURNS: dict[tuple[str, str], threading.RLock] = {}
_TURNS_LOCK = threading.Lock()


def _turns(account: str, operation: str) -> threading.RLock:
    with _TURNS_LOCK:
        return _TURNS.setdefault((account, operation), threading.RLock())


def _refilled(current: RateBucketRecord | None) -> float:
    return 0.0 if current is None else float(current.refilled_at)
