"""Parsed rows staged as sorted runs, merged back in SKU-key order. No AWS here (stores are injected).

A run is a sequence of pickled frames (lists of up to FRAME_ROWS row tuples), sorted by SKU key,
with an index of (first key, byte offset) per frame so a reader can start at any key. Frames are
read back with an unpickler that refuses every class: only tuples, lists, strings, numbers,
booleans and None come out, so a staged object can never run code.
"""

from __future__ import annotations

import bisect
import io
import itertools
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from stocksync.catalogue.reader import KEY, Row
from stocksync.core.chunks import batched

RUN_ROWS = 50_000  # rows sorted in memory before a run is written (about 30 MB of tuples)
FRAME_ROWS = 2_000  # rows per pickled frame: a merge holds about one frame per run


class RunStore(Protocol):
    def write(self, name: str, data: bytes) -> None: ...

    def open(self, name: str, offset: int = 0) -> BinaryIO: ...

    def delete(self, names: Iterable[str]) -> None: ...


@dataclass(frozen=True)
class Run:
    name: str
    rows: int
    index: list[tuple[str, int]]  # (first key of frame, byte offset of frame)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "index": [[key, offset] for key, offset in self.index]}

    @classmethod
    def of(cls, data: dict[str, Any]) -> Run:
        return cls(name=data["name"], rows=int(data["rows"]), index=[(str(k), int(o)) for k, o in data["index"]])


class _DataOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"staged runs hold plain data only, not {module}.{name}")


def write_runs(rows: Iterable[Row], store: RunStore, prefix: str, run_rows: int = RUN_ROWS) -> list[Run]:
    """Sort `rows` in runs of at most `run_rows` and write each; memory holds one run at a time."""
    runs: list[Run] = []
    buffer: list[Row] = []
    for row in rows:
        buffer.append(row)
        if len(buffer) >= run_rows:
            runs.append(_write_run(buffer, store, f"{prefix}{len(runs):05d}"))
            buffer = []
    if buffer:
        runs.append(_write_run(buffer, store, f"{prefix}{len(runs):05d}"))
    return runs


def _write_run(rows: list[Row], store: RunStore, name: str) -> Run:
    rows.sort()
    out = io.BytesIO()
    index = []
    for frame in batched(rows, FRAME_ROWS):
        index.append((frame[0][KEY], out.tell()))
        pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.fast = True  # no memo: rows are plain, never self-referencing data; twice as fast
        pickler.dump(frame)
    store.write(name, out.getvalue())
    return Run(name=name, rows=len(rows), index=index)


def read_run(run: Run, store: RunStore, low: str | None = None, high: str | None = None) -> Iterator[Row]:
    """The run's rows with low <= key < high (None = unbounded), reading from the right frame on."""
    return itertools.chain.from_iterable(_frames(run, store, low, high))


def _frames(run: Run, store: RunStore, low: str | None, high: str | None) -> Iterator[list[Row]]:
    """The run's frames, cut to low <= key < high, empty ones skipped."""
    offset = 0
    if low is not None:
        for first_key, frame_offset in run.index:
            if first_key >= low:
                break
            offset = frame_offset
    stream = store.open(run.name, offset)
    try:
        remaining = run.rows
        while remaining > 0:
            try:
                # One unpickler per frame: an unpickler's memo keeps every object it ever loaded.
                frame = _DataOnly(stream).load()
            except EOFError:
                return
            remaining -= len(frame)
            # (key,) sorts before every row of that key, so bisect finds the first row of a key.
            if low is not None and frame[0][KEY] < low:
                frame = frame[bisect.bisect_left(frame, (low,)) :]
            if high is not None and frame and frame[-1][KEY] >= high:
                frame = frame[: bisect.bisect_left(frame, (high,))]
                if frame:
                    yield frame
                return
            if frame:
                yield frame
    finally:
        stream.close()


def merged(runs: list[Run], store: RunStore, low: str | None = None, high: str | None = None) -> Iterator[Row]:
    """Every run's rows in one sorted stream (key, then range and row: duplicates come out adjacent)."""
    sources = [_frames(run, store, low, high) for run in runs]
    if len(sources) == 1:
        return itertools.chain.from_iterable(sources[0])
    return itertools.chain.from_iterable(_merged_batches(sources))


def _merged_batches(sources: list[Iterator[list[Row]]]) -> Iterator[list[Row]]:
    """A k-way merge done by list.sort in C rather than row by row in Python.

    Each step takes, from every run's current frame, the rows up to the smallest of those frames'
    last rows: no row still unread can sort before it, since each run is sorted. Sorting that
    batch (a few sorted pieces: timsort merges them) gives the next stretch of the merged stream.
    """
    heads = [_Head(frame, source) for source in sources if (frame := next(source, None))]
    while heads:
        limit = min(head.frame[-1] for head in heads)
        batch: list[Row] = []
        for head in heads:
            frame = head.frame
            cut = bisect.bisect_right(frame, limit)
            if cut == len(frame):
                batch += frame
                head.frame = next(head.source, [])
            elif cut:
                batch += frame[:cut]
                head.frame = frame[cut:]
        batch.sort()
        yield batch
        heads = [head for head in heads if head.frame]


@dataclass
class _Head:
    """A run's current frame in the merge (empty once its run is spent) and where the next comes from."""

    frame: list[Row]
    source: Iterator[list[Row]]


@dataclass
class Validation:
    rows: int
    duplicates: list[tuple[Row, Row]]  # (first occurrence, repeat), first MAX kept
    duplicate_count: int
    bounds: list[str]  # partition boundaries: keys where each partition after the first starts


def validate_sorted(rows: Iterator[Row], rows_per_partition: int, max_duplicates: int = 1000) -> Validation:
    """One pass over the merged load: count, find duplicate SKU keys, pick partition boundaries."""
    count = 0
    duplicates: list[tuple[Row, Row]] = []
    duplicate_count = 0
    bounds: list[str] = []
    next_bound = rows_per_partition  # a partition starts on the first new key past this many rows
    first_of_key: Row = ()
    previous_key = None
    for count, row in enumerate(rows, 1):  # count is read after the loop
        key = row[KEY]
        if key != previous_key:
            previous_key, first_of_key = key, row
            if count > next_bound:
                bounds.append(key)  # a partition starts on a new key, so one key never spans two
                next_bound += rows_per_partition
            continue
        duplicate_count += 1
        if len(duplicates) < max_duplicates:
            duplicates.append((first_of_key, row))
    return Validation(rows=count, duplicates=duplicates, duplicate_count=duplicate_count, bounds=bounds)


class MemoryRunStore:
    """Runs kept in a dict: for tests."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def write(self, name: str, data: bytes) -> None:
        self.objects[name] = data

    def open(self, name: str, offset: int = 0) -> BinaryIO:
        return io.BytesIO(self.objects[name][offset:])

    def delete(self, names: Iterable[str]) -> None:
        for name in names:
            self.objects.pop(name, None)


class DirectoryRunStore:
    """Runs as files in a directory: for the benchmark and local runs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.root / name.replace("/", "_")

    def write(self, name: str, data: bytes) -> None:
        self._path(name).write_bytes(data)

    def open(self, name: str, offset: int = 0) -> BinaryIO:
        stream = self._path(name).open("rb")
        stream.seek(offset)
        return io.BufferedReader(stream, buffer_size=1 << 20)

    def delete(self, names: Iterable[str]) -> None:
        for name in names:
            self._path(name).unlink(missing_ok=True)

