"""Parsed rows staged as sorted runs, merged back in SKU-key order. No AWS here (stores are injected).

A run is a sequence of pickled frames (lists of up to FRAME_ROWS row tuples), sorted by SKU key,
with an index of (first key, byte offset) per frame so a reader can start at any key. Frames are
read back with an unpickler that refuses every class: only tuples, lists, strings, numbers,
booleans and None come out, so a staged object can never run code.
"""

from __future__ import annotations

import heapq
import io
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from stocksync.catalogue.reader import KEY, Row

RUN_ROWS = 100_000  # rows sorted in memory before a run is written (about 50 MB of tuples)
FRAME_ROWS = 2_000


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
    for start in range(0, len(rows), FRAME_ROWS):
        frame = rows[start : start + FRAME_ROWS]
        index.append((frame[0][KEY], out.tell()))
        pickle.dump(frame, out, protocol=pickle.HIGHEST_PROTOCOL)
    store.write(name, out.getvalue())
    return Run(name=name, rows=len(rows), index=index)


def read_run(run: Run, store: RunStore, low: str | None = None, high: str | None = None) -> Iterator[Row]:
    """The run's rows with low <= key < high (None = unbounded), reading from the right frame on."""
    offset = 0
    if low is not None:
        for first_key, frame_offset in run.index:
            if first_key >= low:
                break
            offset = frame_offset
    stream = store.open(run.name, offset)
    try:
        unpickler = _DataOnly(stream)
        remaining = run.rows
        while remaining > 0:
            try:
                frame = unpickler.load()
            except EOFError:
                return
            remaining -= len(frame)
            for row in frame:
                key = row[KEY]
                if low is not None and key < low:
                    continue
                if high is not None and key >= high:
                    return
                yield row
    finally:
        stream.close()


def merged(runs: list[Run], store: RunStore, low: str | None = None, high: str | None = None) -> Iterator[Row]:
    """Every run's rows in one sorted stream (key, then range and row: duplicates come out adjacent)."""
    streams = [read_run(run, store, low, high) for run in runs]
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams)


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
    previous: Row | None = None
    first_of_key: Row | None = None
    for row in rows:
        count += 1
        key = row[KEY]
        if previous is not None and key == previous[KEY]:
            duplicate_count += 1
            if len(duplicates) < max_duplicates:
                duplicates.append((first_of_key or previous, row))
        else:
            first_of_key = row
            if count > (len(bounds) + 1) * rows_per_partition:
                bounds.append(key)  # a partition starts on a new key, so one key never spans two
        previous = row
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
        return io.BufferedReader(stream, buffer_size=1 << 20)  # type: ignore[arg-type]

    def delete(self, names: Iterable[str]) -> None:
        for name in names:
            self._path(name).unlink(missing_ok=True)

