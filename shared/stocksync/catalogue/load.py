"""Catalogue loads: an S3 object in, the channel's listings brought to that snapshot. Uses AWS.

A load runs in two phases, each split into tasks that may run in parallel on several invocations
(task messages on the ingest queue) and finished by whichever completes the last task (an atomic
set of done task numbers in the load record):

1. **parse**: each byte range of the file is read and validated; its rows are staged as sorted runs
   in S3 (`staging/<load_id>/`) and its row errors kept. The last range to finish merges every run
   once to find duplicate SKUs and to cut the SKU-key space into partitions. Any error, a cut-short
   file or a missing column fails the load here: nothing has been written to the listings.
2. **apply**: each partition merges its slice of the runs with the stored listings (a query in SKU
   key order) and writes only what differs: new listings, changed catalogue fields, and listings
   absent from the (complete, valid) load marked removed. Reloading the same file writes nothing.
   The last partition records the status, the job result, the automation event and the message
   for the mapping queue.

Every step is idempotent on the load id (bucket + key + version/ETag + S3 sequencer): a duplicated
or re-delivered message, or a retry after a crash, re-runs only what is not marked done, and a
re-run of a partition writes only what still differs.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol
from urllib.parse import unquote_plus

from pydantic import BaseModel

from stocksync.catalogue import staging
from stocksync.catalogue.diff import CREATE, REMOVE, SAME, UPDATE, Current, diff
from stocksync.catalogue.formats import Source
from stocksync.catalogue.reader import (
    ASIN,
    BARCODE,
    CURRENCY,
    FBA,
    KIND,
    LISTING_ID,
    PRICE,
    QUANTITY,
    SKU,
    STATE,
    TITLE,
    CatalogueFileError,
    ParsePlan,
    RangeReport,
    Row,
    _Prefixed,
    decompressed,
    parse_rows,
    sniff,
)
from stocksync.core import db, raw_table
from stocksync.core.automation_log import AutomationLog
from stocksync.core.db import CatalogueLoadRecord, CatalogueStatusRecord, ListingRecord, LoadErrorRecord
from stocksync.core.jobs import Jobs
from stocksync.core.messages import StockChange, StockChangePublisher

JOB_KIND = "catalogue_load"
STAGING_PREFIX = "staging/"
CATALOGUE_PREFIX = "catalogues/"
LOADED_EVENT, FAILED_EVENT = "CATALOGUE_LOADED", "CATALOGUE_LOAD_FAILED"
MAX_STORED_ERRORS = 1000
_UPDATE_THREADS = 8
_BATCH_WRITE_ITEMS = 25  # BatchWriteItem's limit
_TOTALS_ATTEMPTS = 5  # conditional tries; then the last count is set as it is


@dataclass(frozen=True)
class LoadConfig:
    range_bytes: int = 96 * 1024 * 1024  # uncompressed bodies above this are read by several workers
    rows_per_partition: int = 250_000  # listings applied by one worker
    run_rows: int = staging.RUN_ROWS


class ObjectRef(BaseModel):
    """An S3 object named by an ObjectCreated notification."""

    bucket: str
    key: str
    etag: str = ""
    version_id: str = ""
    sequencer: str = ""
    event_time: str = ""
    size: int = 0

    @property
    def load_id(self) -> str:
        identity = "|".join((self.bucket, self.key, self.version_id or self.etag, self.sequencer))
        return hashlib.sha256(identity.encode()).hexdigest()[:32]


class Task(BaseModel):
    """A fan-out message on the ingest queue: read byte range `index`, or apply partition `index`."""

    catalogue_task: str  # "range" | "apply"
    load_id: str
    index: int


def objects_in(body: dict[str, Any]) -> list[ObjectRef]:
    """The objects an S3 notification (as the ingest queue carries it) names; none for s3:TestEvent."""
    refs = []
    for record in body.get("Records") or []:
        s3 = record.get("s3") or {}
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        obj = s3.get("object") or {}
        refs.append(ObjectRef(bucket=s3["bucket"]["name"], key=unquote_plus(obj["key"]), etag=obj.get("eTag", ""),
                              version_id=obj.get("versionId") or "", sequencer=obj.get("sequencer", ""),
                              event_time=record.get("eventTime", ""), size=int(obj.get("size") or 0)))
    return refs


def target_of(key: str) -> tuple[str, str | None] | None:
    """`catalogues/{channel_id}/{source}/...` -> (channel_id, source); a plain upload -> (channel_id, None)."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != CATALOGUE_PREFIX.rstrip("/") or not parts[1] or not parts[-1]:
        return None
    source = parts[2] if len(parts) > 3 and parts[2] in set(Source) else None
    return parts[1], source


class ObjectStore(Protocol):
    def head(self, bucket: str, key: str) -> dict[str, Any]: ...

    def open(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> BinaryIO: ...


class TaskSender(Protocol):
    def send(self, tasks: Iterable[Task]) -> None: ...


class MappingSender(Protocol):
    def loaded(self, channel_id: str, load_id: str) -> None: ...


class CatalogueLoader:
    def __init__(self, *, objects: ObjectStore, runs: staging.RunStore, tasks: TaskSender,
                 stock_queue: StockChangePublisher, mapping: MappingSender, jobs: Jobs | None = None,
                 automation_log: AutomationLog | None = None, config: LoadConfig | None = None) -> None:
        self.objects, self.runs, self.tasks = objects, runs, tasks
        self.stock_queue, self.mapping = stock_queue, mapping
        self.jobs = jobs or Jobs()
        self.log = automation_log or AutomationLog()
        self.config = config or LoadConfig()

    # -- entry points -------------------------------------------------------------------------

    def start(self, ref: ObjectRef, channel_type: str | None) -> str | None:
        """Begin (or resume) the load of one uploaded object; returns its load id (None: not ours)."""
        target = target_of(ref.key)
        if target is None:
            return None
        channel_id, source = target
        load_id = ref.load_id
        load = db.get_or_none(CatalogueLoadRecord, CatalogueLoadRecord.keys(load_id))
        if load is not None:
            self._resume(load)  # a duplicate notification, or a retry after a crash
            return load_id
        head = self.objects.head(ref.bucket, ref.key)
        self.jobs.create(JOB_KIND, subject=channel_id, bytes_total=int(head["size"]), job_id=load_id,
                         message=f"Loading {ref.key}")
        load = CatalogueLoadRecord(**CatalogueLoadRecord.keys(load_id), load_id=load_id, channel_id=channel_id,
                                   bucket=ref.bucket, key=ref.key, version=ref.version_id or ref.etag,
                                   source_time=ref.event_time or head.get("last_modified", ""),
                                   size=int(head["size"]), expires_at=db.now() + db.RETENTION)
        fallback = Source.GENERIC
        try:
            with self.objects.open(ref.bucket, ref.key) as stream:
                plan = sniff(stream, charset=head.get("charset"), source=source, fallback=fallback)
        except CatalogueFileError as exc:
            load.phase = "failed"
            load.fatal = exc.reason
            if not self._create(load):
                return load_id
            self._store_errors(load_id, 0, [(exc.row, exc.field, exc.reason, "")], first_range_row=0)
            self._fail(load, exc.reason, errors=1)
            return load_id
        load.plan = plan.as_dict()
        load.ranges = self._ranges(ref, plan, int(head["size"]))
        if not self._create(load):
            return load_id
        self._update_status(channel_id, CatalogueStatusRecord.last_load_id.set(load_id),
                            CatalogueStatusRecord.last_job_id.set(load_id),
                            CatalogueStatusRecord.last_status.set("running"),
                            CatalogueStatusRecord.last_file.set(ref.key),
                            CatalogueStatusRecord.last_load_at.set(db.now()))
        self.jobs.start(load_id, bytes_total=int(head["size"]))
        self._dispatch("range", load, range(len(load.ranges)))
        return load_id

    def run_task(self, task: Task) -> None:
        load = db.get_or_none(CatalogueLoadRecord, CatalogueLoadRecord.keys(task.load_id))
        if load is None:
            raise LookupError(f"no catalogue load {task.load_id}")
        if task.catalogue_task == "range":
            self._run_range(load, task.index)
        else:
            self._run_partition(load, task.index)

    # -- phase 1: parse ---------------------------------------------------------------------

    def _ranges(self, ref: ObjectRef, plan: ParsePlan, size: int) -> list[list[int]]:
        if plan.compressed or size - plan.body_offset <= self.config.range_bytes:
            return [[plan.body_offset, -1]]
        cuts = [plan.body_offset]
        position = plan.body_offset + self.config.range_bytes
        while position < size:
            with self.objects.open(ref.bucket, ref.key, position, min(position + 65536, size)) as stream:
                window = stream.read()
            newline = window.find(b"\n")
            if newline < 0:
                break
            cuts.append(position + newline + 1)
            position = cuts[-1] + self.config.range_bytes
        cuts = [cut for cut in cuts if cut < size] or [plan.body_offset]
        return [[start, end] for start, end in zip(cuts, [*cuts[1:], -1], strict=True)]

    def _run_range(self, load: CatalogueLoadRecord, index: int) -> None:
        if load.phase != "parsing" or index in (load.done_ranges or set()):
            self._resume(load, finish_only=True)
            return
        plan = ParsePlan.of(_plain(load.plan))
        start, end = load.ranges[index]
        report = RangeReport()
        if plan.compressed:
            stream = self.objects.open(load.bucket, load.key)
            body, _ = decompressed(stream)
            body.read(plan.body_offset)
            length = int(load.size)
        elif int(start) >= int(load.size):
            body, length = io.BufferedReader(io.BytesIO(b"")), 0  # type: ignore[arg-type]
        else:
            body = self.objects.open(load.bucket, load.key, int(start), None if end < 0 else int(end))
            length = (int(load.size) if end < 0 else int(end)) - int(start)
        with body:
            rows = parse_rows(body, plan, report, range_index=index)
            runs = staging.write_runs(rows, self.runs, f"{STAGING_PREFIX}{load.load_id}/r{index:04d}-",
                                      self.config.run_rows)
        self._store_errors(load.load_id, index, [(e.row, e.field, e.reason, e.value) for e in report.errors])
        actions = [
            CatalogueLoadRecord.done_ranges.add({index}),
            CatalogueLoadRecord.range_rows[str(index)].set(report.records),
            CatalogueLoadRecord.runs.set(CatalogueLoadRecord.runs.append([run.as_dict() for run in runs])),
            CatalogueLoadRecord.range_errors.add(report.error_count),
        ]
        if report.fatal:
            actions.append(CatalogueLoadRecord.fatal.set(report.fatal))
        if not db.update_if(load, actions, (CatalogueLoadRecord.phase == "parsing")
                            & ~CatalogueLoadRecord.done_ranges.contains(index)):
            self.runs.delete(run.name for run in runs if run.name not in _run_names(load))
            return self._resume(self._reload(load), finish_only=True)
        self.jobs.progress(load.load_id, done=report.rows, bytes_done=length)
        if len(load.done_ranges) == len(load.ranges):
            self._finish_parsing(load)
        return None

    def _finish_parsing(self, load: CatalogueLoadRecord) -> None:
        if len(load.ranges) > 1 and (load.fatal or int(load.range_errors)):
            # A cut may have fallen inside a quoted cell holding a newline, which makes both ranges look
            # wrong. Read the file again in one pass: it decides, and numbers the rows exactly.
            self._read_in_one_pass(load)
            return
        runs = [staging.Run.of(_plain(run)) for run in load.runs]
        offsets = self._range_offsets(load)
        errors = int(load.range_errors)
        rows = 0
        bounds: list[str] = []
        if not load.fatal:
            checked = staging.validate_sorted(staging.merged(runs, self.runs), self.config.rows_per_partition)
            rows, bounds = checked.rows, checked.bounds
            errors += checked.duplicate_count
            duplicates = []
            for first, repeat in checked.duplicates:
                first_row, repeat_row = offsets[first[1]] + first[2], offsets[repeat[1]] + repeat[2]
                duplicates.append((repeat[1], repeat[2], "sku",
                                   f"duplicate SKU {repeat[SKU]!r}: rows {first_row} and {repeat_row}"))
            for range_index, rel_row, field, reason in duplicates:
                self._store_errors(load.load_id, range_index, [(rel_row, field, reason, "")])
        reason = ""
        if load.fatal:
            reason = f"The file could not be read to its end: {load.fatal}"
        elif errors:
            reason = f"{errors} row error(s): nothing was changed; fix the file and upload it again"
        elif rows == 0:
            reason = "The file holds no listings: an empty catalogue would remove every listing, so it was refused"
            errors = 1
            self._store_errors(load.load_id, 0, [(0, "", reason, "")])
        if reason:
            if self._transition(load, "parsing", "failed"):
                self._fail(load, reason, errors=errors)
            return
        if not self._claim_channel(load):
            if self._transition(load, "parsing", "superseded"):
                self._fail(load, "A newer catalogue file of this channel was loaded meanwhile", status="superseded")
            return
        status = db.get_or_none(CatalogueStatusRecord, CatalogueStatusRecord.keys(load.channel_id))
        seen = [CatalogueLoadRecord.totals_seen.set(status.totals_at)] if status and status.totals_at else []
        if not self._transition(load, "parsing", "applying", CatalogueLoadRecord.bounds.set(bounds),
                                CatalogueLoadRecord.rows.set(rows), *seen):
            return
        self.jobs.start(load.load_id, total=rows)
        self._dispatch("apply", load, range(len(bounds) + 1))

    def _read_in_one_pass(self, load: CatalogueLoadRecord) -> None:
        names = _run_names(load)
        plan = ParsePlan.of(_plain(load.plan))
        reset = [CatalogueLoadRecord.ranges.set([[plan.body_offset, -1]]),
                 CatalogueLoadRecord.done_ranges.remove(), CatalogueLoadRecord.runs.set([]),
                 CatalogueLoadRecord.range_rows.set({}), CatalogueLoadRecord.range_errors.set(0),
                 CatalogueLoadRecord.fatal.remove()]
        if not db.update_if(load, reset, (CatalogueLoadRecord.phase == "parsing")
                            & (CatalogueLoadRecord.ranges == _plain(load.ranges))):
            return
        self.runs.delete(names)
        with LoadErrorRecord.batch_write() as batch:
            for error in LoadErrorRecord.query(db.load_pk(load.load_id),
                                               LoadErrorRecord.SK.startswith(db.LOAD_ERROR_PREFIX)):
                batch.delete(error)
        self._dispatch("range", load, [0])

    # -- phase 2: apply ---------------------------------------------------------------------

    def _run_partition(self, load: CatalogueLoadRecord, index: int) -> None:
        if load.phase != "applying" or index in (load.done_partitions or set()):
            self._resume(load, finish_only=True)
            return
        status = db.get_or_none(CatalogueStatusRecord, CatalogueStatusRecord.keys(load.channel_id))
        if status is not None and status.applied_load_id not in (None, load.load_id):
            if self._transition(load, "applying", "superseded"):
                self._fail(load, "A newer catalogue file of this channel was loaded meanwhile", status="superseded")
            return
        bounds = list(load.bounds)
        low = bounds[index - 1] if index > 0 else None
        high = bounds[index] if index < len(bounds) else None
        runs = [staging.Run.of(_plain(run)) for run in load.runs]
        counts = apply_changes(load.channel_id, load.load_id, staging.merged(runs, self.runs, low, high),
                               stored_listings(load.channel_id, low, high), self.stock_queue)
        actions = [CatalogueLoadRecord.done_partitions.add({index})]
        actions += [getattr(CatalogueLoadRecord, name).add(value) for name, value in counts.items() if value]
        if not db.update_if(load, actions, (CatalogueLoadRecord.phase == "applying")
                            & ~CatalogueLoadRecord.done_partitions.contains(index)):
            return self._resume(self._reload(load), finish_only=True)
        self.jobs.progress(load.load_id, done=0)
        if len(load.done_partitions) == len(load.bounds) + 1:
            self._finish_load(load)
        return None

    def _finish_load(self, load: CatalogueLoadRecord) -> None:
        counts = {name: int(getattr(load, name)) for name in ("rows", "created", "updated", "removed", "unchanged",
                                                              "written", "drift")}
        self._set_totals(load)
        self._update_status(
            load.channel_id, CatalogueStatusRecord.last_status.set("succeeded"),
            CatalogueStatusRecord.last_counts.set(counts),
            CatalogueStatusRecord.last_message.set(f"{counts['rows']} listings loaded"),
        )
        message = (f"{counts['rows']} listings: {counts['created']} new, {counts['updated']} changed, "
                   f"{counts['removed']} removed, {counts['unchanged']} unchanged")
        self.jobs.finish(load.load_id, succeeded=True, result=counts | {"load_id": load.load_id}, message=message)
        self.log.record(load.channel_id, LOADED_EVENT, message, {"load_id": load.load_id, "file": load.key} | counts)
        self.mapping.loaded(load.channel_id, load.load_id)
        self._transition(load, "applying", "succeeded")
        self._drop_staging(load)

    @staticmethod
    def _set_totals(load: CatalogueLoadRecord) -> None:
        """Set the channel's totals to what the load counted, unless something moved them since the load
        began applying (a link, an unlink or an item created from a listing ADDs to them in its own
        transaction, and setting over it would lose that): then count them from the listings again,
        and set those, on the same condition, until nothing moves them in between."""
        from stocksync.mapping.store import recount  # only when a link raced the load

        status = CatalogueStatusRecord(**CatalogueStatusRecord.keys(load.channel_id))
        seen = load.totals_seen
        counts = {"active": int(load.active), "linked": int(load.linked), "fba": int(load.fba)}
        for _ in range(_TOTALS_ATTEMPTS):
            if db.update_if(status, _totals_actions(load.channel_id, counts),
                            (CatalogueStatusRecord.totals_at == seen) if seen
                            else CatalogueStatusRecord.totals_at.does_not_exist()):
                return
            current = db.get_or_none(CatalogueStatusRecord, CatalogueStatusRecord.keys(load.channel_id))
            seen = current.totals_at if current else None
            counts = recount(load.channel_id)
        status.update(actions=_totals_actions(load.channel_id, counts))  # still moving: the last count it is

    # -- shared steps -------------------------------------------------------------------------

    def _dispatch(self, kind: str, load: CatalogueLoadRecord, indexes: Iterable[int]) -> None:
        pending = list(indexes)
        if len(pending) == 1 and (len(load.ranges) if kind == "range" else len(load.bounds) + 1) == 1:
            task = Task(catalogue_task=kind, load_id=load.load_id, index=pending[0])
            self.run_task(task)  # one piece of work: do it here rather than through the queue
            return
        self.tasks.send(Task(catalogue_task=kind, load_id=load.load_id, index=index) for index in pending)

    def _resume(self, load: CatalogueLoadRecord, finish_only: bool = False) -> None:
        """Carry on a load found half-way (a duplicate message, or a retry after a crash)."""
        if load.phase == "parsing":
            pending = [i for i in range(len(load.ranges)) if i not in (load.done_ranges or set())]
            if not pending:
                self._finish_parsing(load)
            elif not finish_only:
                self._dispatch("range", load, pending)
        elif load.phase == "applying":
            pending = [i for i in range(len(load.bounds) + 1) if i not in (load.done_partitions or set())]
            if not pending:
                self._finish_load(load)
            elif not finish_only:
                self._dispatch("apply", load, pending)

    def _create(self, load: CatalogueLoadRecord) -> bool:
        if db.save_if(load, CatalogueLoadRecord.PK.does_not_exist()):
            return True
        self._resume(self._reload(load))
        return False

    @staticmethod
    def _reload(load: CatalogueLoadRecord) -> CatalogueLoadRecord:
        fresh = db.get_or_none(CatalogueLoadRecord, CatalogueLoadRecord.keys(load.load_id))
        if fresh is None:
            raise LookupError(f"no catalogue load {load.load_id}")
        return fresh

    @staticmethod
    def _transition(load: CatalogueLoadRecord, before: str, after: str, *actions: Any) -> bool:
        return db.update_if(load, [CatalogueLoadRecord.phase.set(after), *actions],
                            CatalogueLoadRecord.phase == before)

    @staticmethod
    def _claim_channel(load: CatalogueLoadRecord) -> bool:
        """Mark this load as the channel's newest; False when a newer file was already applied."""
        status = CatalogueStatusRecord(**CatalogueStatusRecord.keys(load.channel_id))
        return db.update_if(
            status,
            [CatalogueStatusRecord.channel_id.set(load.channel_id),
             CatalogueStatusRecord.applied_load_id.set(load.load_id),
             CatalogueStatusRecord.applied_source_time.set(load.source_time)],
            CatalogueStatusRecord.applied_source_time.does_not_exist()
            | (CatalogueStatusRecord.applied_source_time <= load.source_time),
        )

    @staticmethod
    def _update_status(channel_id: str, *actions: Any) -> None:
        CatalogueStatusRecord(**CatalogueStatusRecord.keys(channel_id)).update(
            actions=[CatalogueStatusRecord.channel_id.set(channel_id), *actions])

    def _fail(self, load: CatalogueLoadRecord, reason: str, *, errors: int = 0, status: str = "failed") -> None:
        self._update_status(load.channel_id, CatalogueStatusRecord.last_load_id.set(load.load_id),
                            CatalogueStatusRecord.last_job_id.set(load.load_id),
                            CatalogueStatusRecord.last_status.set(status),
                            CatalogueStatusRecord.last_file.set(load.key),
                            CatalogueStatusRecord.last_message.set(reason),
                            CatalogueStatusRecord.last_load_at.set(db.now()))
        self.jobs.finish(load.load_id, succeeded=False, message=reason,
                         result={"load_id": load.load_id, "errors": errors, "status": status})
        self.log.record(load.channel_id, FAILED_EVENT, f"{load.key}: {reason}",
                        {"load_id": load.load_id, "file": load.key, "errors": errors})
        self._drop_staging(load)

    def _drop_staging(self, load: CatalogueLoadRecord) -> None:
        self.runs.delete(_run_names(load))

    @staticmethod
    def _store_errors(load_id: str, range_index: int, errors: list[tuple[int, str, str, str]],
                      first_range_row: int = 0) -> None:
        with LoadErrorRecord.batch_write() as batch:
            for seq, (row, field, reason, value) in enumerate(errors[:MAX_STORED_ERRORS]):
                batch.save(LoadErrorRecord(**LoadErrorRecord.keys(load_id, range_index, row + first_range_row, seq),
                                           load_id=load_id, range_index=range_index, rel_row=row + first_range_row,
                                           field=field, reason=reason, value=value,
                                           expires_at=db.now() + db.RETENTION))

    @staticmethod
    def _range_offsets(load: CatalogueLoadRecord) -> list[int]:
        """For each range, the file row of its record 0 (the header is row 1)."""
        return range_offsets(load)


def _totals_actions(channel_id: str, counts: dict[str, int]) -> list[Any]:
    status = CatalogueStatusRecord
    return [status.channel_id.set(channel_id), status.total_active.set(counts["active"]),
            status.total_linked.set(counts["linked"]), status.total_unlinked.set(counts["active"] - counts["linked"]),
            status.total_fba.set(counts["fba"]), status.totals_at.set(db.now())]


def range_offsets(load: CatalogueLoadRecord) -> list[int]:
    offsets, total = [], 1
    for index in range(len(load.ranges)):
        offsets.append(total)
        total += int(_plain(load.range_rows or {}).get(str(index), 0))
    return offsets


def _run_names(load: CatalogueLoadRecord) -> list[str]:
    return [str(_plain(run)["name"]) for run in load.runs or []]


def _plain(value: Any) -> Any:
    """A stored map/list as plain dicts and lists (pynamodb hands raw maps back as MapAttribute)."""
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


# -- reading and writing listings ---------------------------------------------------------------


# What the diff reads of a stored listing. The catalogue fields only loads write come in one JSON
# attribute (`load_fields`); the two the stock submitter may change too are read on their own.
_DIFF_ATTRIBUTES = ("SK", "load_fields", "channel_listing_id", "state", "removed", "linked_item_id",
                    "submitted_quantity", "ignore_sync")


def load_fields(row: Row) -> str:
    """`ListingRecord.load_fields` of a row: sku, title, price, quantity, currency, barcode, asin, fba, kind."""
    return json.dumps([*row[SKU:LISTING_ID], row[KIND]], ensure_ascii=False, separators=(",", ":"))


def stored_listings(channel_id: str, low: str | None, high: str | None) -> Iterator[Current]:
    """The channel's listings with low <= SKU key < high, in key order, as the diff sees them.

    Read with the low-level client (`raw_table`), projected to the few attributes the diff needs (a
    page holds more listings, and each attribute costs to send and to parse), turned straight into
    `Current` tuples with no model object per listing. A listing written before `load_fields` existed
    reads as changed, so the next load rewrites it once.
    """
    upper = db.listing_sk(high) if high is not None else db.LISTING_PREFIX[:-1] + "$"
    values = {":pk": {"S": db.channel_pk(channel_id)}, ":low": {"S": db.listing_sk(low or "")}, ":high": {"S": upper}}
    prefix = len(db.LISTING_PREFIX)
    plain = raw_table.plain
    for item in raw_table.query("PK = :pk AND SK BETWEEN :low AND :high", values, _DIFF_ATTRIBUTES):
        key = item["SK"]["S"][prefix:]
        if high is not None and key >= high:
            return
        written = plain(item.get("load_fields"))
        fields = None
        if written is not None:
            *loaded, kind = json.loads(written)
            fields = (*loaded, plain(item.get("channel_listing_id")), kind, plain(item.get("state")))
        yield Current(key=key, fields=fields, removed=bool(plain(item.get("removed"))),
                      linked_item_id=plain(item.get("linked_item_id")),
                      submitted_quantity=_int(plain(item.get("submitted_quantity"))),
                      ignore_sync=bool(plain(item.get("ignore_sync"))))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _catalogue_actions(row: Row, load_id: str, at: Any) -> list[Any]:
    listing = ListingRecord
    return [listing.sku.set(row[SKU]), listing.title.set(row[TITLE]), _set_or_remove(listing.price, row[PRICE]),
            _set_or_remove(listing.quantity, row[QUANTITY]), _set_or_remove(listing.currency, row[CURRENCY]),
            _set_or_remove(listing.barcode, row[BARCODE]), _set_or_remove(listing.asin, row[ASIN]),
            listing.fba.set(row[FBA]), _set_or_remove(listing.channel_listing_id, row[LISTING_ID]),
            _set_or_remove(listing.listing_kind, row[KIND]), listing.state.set(row[STATE]),
            listing.load_fields.set(load_fields(row)), listing.removed.set(False), listing.removed_at.remove(),
            listing.last_load_id.set(load_id), listing.updated_at.set(at)]


def _set_or_remove(attribute: Any, value: Any) -> Any:
    return attribute.remove() if value is None else attribute.set(value)


def apply_changes(channel_id: str, load_id: str, rows: Iterator[Row], current: Iterator[Current],
                  stock_queue: StockChangePublisher) -> dict[str, int]:
    """Write the differences between a slice of the load and the stored listings; count them.

    New listings go out as BatchWriteItem requests of 25 and changed or removed ones as conditional
    updates of 200, each on a pool of threads while the diff walks on.
    """
    counts = dict.fromkeys(("created", "updated", "removed", "unchanged", "written", "drift", "active", "linked",
                            "fba"), 0)
    at = db.now()
    drifted: set[str] = set()
    new_listing = _listing_items(channel_id, load_id, at)
    creates: list[dict[str, Any]] = []
    updates: list[tuple[ListingRecord, list[Any]]] = []
    with ThreadPoolExecutor(_UPDATE_THREADS) as pool:
        pending: list[Any] = []
        for change in diff(rows, current):
            if change.kind != REMOVE:
                row = change.row
                counts["active"] += 1
                counts["fba"] += bool(row[FBA])
                counts["linked"] += bool(change.current and change.current.linked_item_id)
            if change.kind == SAME:
                counts["unchanged"] += 1
            elif change.kind == CREATE:
                counts["created"] += 1
                creates.append(new_listing(change.row))
            else:
                counts["updated" if change.kind == UPDATE else "removed"] += 1
                record = ListingRecord(**ListingRecord.keys(channel_id, change.current.key))
                if change.kind == UPDATE:
                    actions = _catalogue_actions(change.row, load_id, at)
                else:
                    actions = [ListingRecord.removed.set(True), ListingRecord.removed_at.set(at),
                               ListingRecord.state.set("removed"), ListingRecord.updated_at.set(at)]
                updates.append((record, actions))
            if change.drift and change.current is not None and change.current.linked_item_id:
                drifted.add(change.current.linked_item_id)
            if len(creates) == _BATCH_WRITE_ITEMS:
                pending.append(pool.submit(_put_all, creates))
                creates = []
            if len(updates) == 200:
                pending.append(pool.submit(_update_all, updates))
                updates = []
        pending += [pool.submit(_put_all, creates)] if creates else []
        pending += [pool.submit(_update_all, updates)] if updates else []
        for future in pending:
            future.result()
    counts["written"] = counts["created"] + counts["updated"] + counts["removed"]
    counts["drift"] = len(drifted)
    if drifted:
        stock_queue.publish([StockChange(reason="catalogue_drift", item_ids=sorted(drifted),
                                         channel_ids=[channel_id])])
    return counts


def _update_all(updates: list[tuple[ListingRecord, list[Any]]]) -> None:
    for record, actions in updates:
        # Only the catalogue's own attributes: a link or a limit set meanwhile is never overwritten.
        record.update(actions=actions, condition=ListingRecord.PK.exists())


def _listing_items(channel_id: str, load_id: str, at: Any) -> Any:
    """A function from a row to its new listing as a DynamoDB item, exactly as pynamodb would write it.

    What every new listing of the load shares is serialised once by the model; each row adds only
    its own attributes (None ones left out, as pynamodb does), through the model's attributes.
    """
    base = ListingRecord(**ListingRecord.keys(channel_id, ""), channel_id=channel_id, sku="", sku_key="",
                         last_load_id=load_id, first_seen_at=at, updated_at=at).serialize()
    for name in ("SK", "sku", "sku_key", "title", "load_fields"):
        base.pop(name, None)
    listing = ListingRecord
    optional = ((PRICE, "price", listing.price), (QUANTITY, "quantity", listing.quantity),
                (CURRENCY, "currency", listing.currency), (BARCODE, "barcode", listing.barcode),
                (ASIN, "asin", listing.asin), (LISTING_ID, "channel_listing_id", listing.channel_listing_id),
                (KIND, "listing_kind", listing.listing_kind))
    number_attributes = {"price", "quantity"}

    def item(row: Row) -> dict[str, Any]:
        attributes = dict(base)
        attributes.update(SK={"S": db.listing_sk(row[0])}, sku={"S": row[SKU]}, sku_key={"S": row[0]},
                          title={"S": row[TITLE]}, fba={"BOOL": row[FBA]}, state={"S": row[STATE]},
                          load_fields={"S": load_fields(row)})
        for index, name, attribute in optional:
            value = row[index]
            if value is not None:
                attributes[name] = {"N" if name in number_attributes else "S": attribute.serialize(value)}
        return attributes

    return item


def _put_all(items: list[dict[str, Any]]) -> None:
    """One BatchWriteItem of up to 25 new listings, retrying what DynamoDB leaves unprocessed."""
    from stocksync.core.aws import client

    table = ListingRecord.Meta.table_name
    requests = [{"PutRequest": {"Item": item}} for item in items]
    for attempt in range(10):
        answer = client("dynamodb").batch_write_item(RequestItems={table: requests})
        requests = answer.get("UnprocessedItems", {}).get(table, [])
        if not requests:
            return
        time.sleep(min(0.05 * 2**attempt, 2.0))
    raise RuntimeError(f"DynamoDB left {len(requests)} new listings unprocessed after 10 attempts")


# -- AWS implementations ------------------------------------------------------------------------


class S3Objects:
    def head(self, bucket: str, key: str) -> dict[str, Any]:
        from stocksync.core.aws import client

        answer = client("s3").head_object(Bucket=bucket, Key=key)
        content_type = answer.get("ContentType") or answer.get("Metadata", {}).get("content-type", "")
        charset = None
        for part in content_type.split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value
        modified = answer.get("LastModified")
        return {"size": int(answer["ContentLength"]), "charset": charset,
                "last_modified": modified.isoformat() if modified else ""}

    def open(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        from stocksync.core.aws import client

        arguments: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if start or end is not None:
            arguments["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        body = client("s3").get_object(**arguments)["Body"]
        return io.BufferedReader(_Prefixed(b"", body), buffer_size=1 << 20)  # type: ignore[arg-type]


class S3RunStore:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def write(self, name: str, data: bytes) -> None:
        from stocksync.core.aws import client

        client("s3").put_object(Bucket=self.bucket, Key=name, Body=data)

    def open(self, name: str, offset: int = 0) -> BinaryIO:
        return S3Objects().open(self.bucket, name, offset)

    def delete(self, names: Iterable[str]) -> None:
        from stocksync.core.aws import client

        keys = [{"Key": name} for name in names]
        for start in range(0, len(keys), 1000):
            client("s3").delete_objects(Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000]})


class SqsTasks:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, tasks: Iterable[Task]) -> None:
        from stocksync.core.aws import client

        entries = [{"Id": str(i), "MessageBody": task.model_dump_json()} for i, task in enumerate(tasks)]
        for start in range(0, len(entries), 10):
            answer = client("sqs").send_message_batch(QueueUrl=self.queue_url, Entries=entries[start : start + 10])
            if answer.get("Failed"):
                raise RuntimeError(f"the ingest queue refused {len(answer['Failed'])} task messages")


class SqsMapping:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def loaded(self, channel_id: str, load_id: str) -> None:
        from stocksync.core.aws import client

        body = {"channel_id": channel_id, "load_id": load_id, "reason": "catalogue_loaded"}
        client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))


def handle_ingest_message(loader: CatalogueLoader, body: dict[str, Any]) -> list[str]:
    """One ingest-queue message: an S3 notification (start loads) or a fan-out task. Returns load ids."""
    if "catalogue_task" in body:
        task = Task.model_validate(body)
        loader.run_task(task)
        return [task.load_id]
    loads = []
    for ref in objects_in(body):
        target = target_of(ref.key)
        if target is None:
            continue
        channel = db.get_or_none(db.ChannelRecord, db.ChannelRecord.keys(target[0], ""))
        if channel is None:
            continue  # a file for a channel that does not exist (any more): nothing to load it into
        load_id = loader.start(ref, channel.type)
        if load_id:
            loads.append(load_id)
    return loads
