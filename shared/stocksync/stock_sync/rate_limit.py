"""A token bucket per channel account and operation, kept in the table so that every concurrent
submitter shares one budget. Optimistic: read, refill by elapsed time, take under a condition on
the refill time read; a lost race reads again."""

from __future__ import annotations

import time
from collections.abc import Callable

from stocksync import db
from stocksync.channels.base import ChannelThrottled
from stocksync.db import RateBucketRecord

MAX_RACES = 20


class TableRateLimiter:
    def __init__(self, *, max_wait_s: float = 10.0, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.sleep = sleep

    def acquire(self, account: str, operation: str, rate: float, burst: int, cost: int = 1) -> None:
        cost = min(cost, burst)
        waited = 0.0
        for _ in range(MAX_RACES):
            keys = RateBucketRecord.keys(account, operation)
            current = db.get_or_none(RateBucketRecord, keys)
            now = self.clock()
            tokens = float(burst) if current is None else min(
                float(burst), float(current.tokens) + (now - float(current.refilled_at)) * rate)
            if tokens < cost:
                wait = (cost - tokens) / rate
                if waited + wait > self.max_wait_s:
                    raise ChannelThrottled(f"the account's {operation} budget is spent", retry_after=wait)
                self.sleep(wait)
                waited += wait
                continue
            record = RateBucketRecord(**keys, tokens=tokens - cost, refilled_at=now)
            condition = (RateBucketRecord.PK.does_not_exist() if current is None
                         else RateBucketRecord.refilled_at == current.refilled_at)
            if db.save_if(record, condition):
                return
        raise ChannelThrottled(f"the account's {operation} budget is contended", retry_after=1.0)
