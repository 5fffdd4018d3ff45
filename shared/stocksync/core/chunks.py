"""Cutting work into the pieces an API takes at once (SQS batches of 10, transactions of 100, ...)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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
