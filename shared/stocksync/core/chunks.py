"""Cutting work into the pieces an API takes at once (SQS batches of 10, transactions of 100, ...), and
running a few of them at once."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def batched(values: Iterable[T], size: int) -> Iterator[list[T]]:
    """`values` in lists of `size` (the last one shorter), read lazily: itertools.batched, which
    Python 3.12 has and the 3.11 the tests run on does not."""
    if size < 1:
        raise ValueError("a batch holds at least one value")
    iterator = iter(values)
    while batch := list(islice(iterator, size)):
        yield batch


R = TypeVar("R")


def mapped_in_order(work: Callable[[T], R], values: Iterable[T], *, at_once: int) -> Iterator[R]:
    """`work` of each value, `at_once` of them running at a time on threads, the results in the values'
    order. No more than `at_once` results wait to be read: a slow reader holds few pages, not all."""
    with ThreadPoolExecutor(max_workers=at_once) as pool:
        running: deque[Future[R]] = deque()
        for value in values:
            running.append(pool.submit(work, value))
            if len(running) >= at_once:
                yield running.popleft().result()
        while running:
            yield running.popleft().result()
