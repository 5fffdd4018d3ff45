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
   absent from the (complete, valid) load marked removed, but those we ended or disabled at 0 when
   the channel lists active listings only; a differential file (its layout not `complete`) removes
   only the rows it marks removed, reads only the listings its rows name, and adds what it changed
   to the totals. Reloading the same file writes nothing.
   The last partition records the status, the job result, the automation event and the message
   for the mapping queue.

Every step is idempotent on the load id (bucket + key + version/ETag + S3 sequencer): a duplicated
or re-delivered message, or a retry after a crash, re-runs only what is not marked done, and a
re-run of a partition writes only what still differs.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol

from stocksync.catalogue import staging
from stocksync.catalogue.formats import LAYOUTS, Source
from stocksync.catalogue.ingest_messages import ObjectRef, Task, target_of
from stocksync.catalogue.listing_writes import apply_changes, listing_changes
from stocksync.catalogue.reader import SKU, CatalogueFileError, ParsePlan, RangeReport, decompressed, parse_rows, sniff
from stocksync.channels.registry import adapter_class
from stocksync.core import db
from stocksync.core.automation_log import AutomationLog
from stocksync.core.db import CatalogueLoadRecord, CatalogueStatusRecord, ChannelRecord, JobRecord, LoadErrorRecord
from stocksync.core.jobs import FINAL_STATUSES, Jobs
from stocksync.core.messages import MappingMessage, MappingQueue, StockChangePublisher
from stocksync.core.observability import METRIC_CATALOGUE_ROWS_LOADED, publish

JOB_KIND = "catalogue_load"
STAGING_PREFIX = "staging/"
LOADED_EVENT, FAILED_EVENT = "CATALOGUE_LOADED", "CATALOGUE_LOAD_FAILED"
MAX_STORED_ERRORS = 1000
_TOTALS_ATTEMPTS = 5  # conditional tries; then the last count is set as it is


@dataclass(frozen=True)
class LoadConfig:
    range_bytes: int = 96 * 1024 * 1024  # uncompressed bodies above this are read by several workers
    rows_per_partition: int = 250_000  # listings applied by one worker
    run_rows: int = staging.RUN_ROWS


class ObjectStore(Protocol):
    def head(self, bucket: str, key: str) -> dict[str, Any]: ...

    def open(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> BinaryIO: ...


class TaskQueue(Protocol):
    """Where a load fans its tasks out (`core.messages.SqsSender` on the ingest queue)."""

    def send(self, bodies: Iterable[Task]) -> None: ...


class CatalogueLoader:
    def __init__(self, *, objects: ObjectStore, runs: staging.RunStore, tasks: TaskQueue,
                 stock_queue: StockChangePublisher, mapping: MappingQueue, jobs: Jobs,
                 automation_log: AutomationLog, config: LoadConfig | None = None) -> None:
        self.objects, self.runs, self.tasks = objects, runs, tasks
        self.stock_queue, self.mapping = stock_queue, mapping
        self.jobs = jobs
        self.log = automation_log
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

    def abandon(self, load_id: str, reason: str, *, channel_id: str | None = None, key: str = "") -> None:
        """End a load whose message failed for good (or on its last attempt) as failed, saying why, so it
        never stays "running": its channel's status, job and events say so, and its staging goes.
        A load that already ended is left as it is."""
        load = db.get_or_none(CatalogueLoadRecord, CatalogueLoadRecord.keys(load_id))
        if load is None:  # it failed before its record was written (reading the file's head)
            job = db.get_or_none(JobRecord, JobRecord.keys(load_id))
            if job is None or job.status in FINAL_STATUSES:
                return
            if channel_id:
                self._update_status(channel_id, CatalogueStatusRecord.last_load_id.set(load_id),
                                    CatalogueStatusRecord.last_job_id.set(load_id),
                                    CatalogueStatusRecord.last_status.set("failed"),
                                    CatalogueStatusRecord.last_file.set(key),
                                    CatalogueStatusRecord.last_message.set(reason),
                                    CatalogueStatusRecord.last_load_at.set(db.now()))
            self.jobs.fail(load_id, reason)
            return
        if load.phase == "applying":  # some partitions may have written: say so rather than hide it
            reason = f"{reason} (while applying: some listings may already show this file; upload it again)"
        if load.phase in ("parsing", "applying") and self._transition(load, load.phase, "failed",
                                                                      CatalogueLoadRecord.fatal.set(reason)):
            self._store_errors(load_id, 0, [(0, "", reason, "")])
            self._fail(load, reason, errors=1)

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
            body, length = io.BufferedReader(io.BytesIO(b"")), 0
        else:
            body = self.objects.open(load.bucket, load.key, int(start), None if end < 0 else int(end))
            length = (int(load.size) if end < 0 else int(end)) - int(start)
        with body:
            rows = parse_rows(body, plan, report, range_index=index, start=None if plan.compressed else int(start))
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
        offsets = range_offsets(load)
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
        elif rows == 0 and _complete(load):  # a differential export with nothing changed is fine
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
        complete = _complete(load)
        changes = listing_changes(load.channel_id, staging.merged(runs, self.runs, low, high), low, high,
                                  complete=complete,
                                  kept_when_absent=_kept_when_absent(load.channel_id) if complete else frozenset(),
                                  load_rows=int(load.rows), stored=int(status.total_active) if status else 0)
        counts = apply_changes(load.channel_id, load.load_id, changes, self.stock_queue, complete=complete)
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
        totals = self._set_totals(load)
        publish(METRIC_CATALOGUE_ROWS_LOADED, counts["rows"])
        self._update_status(
            load.channel_id, CatalogueStatusRecord.last_status.set("succeeded"),
            CatalogueStatusRecord.last_counts.set(counts),
            CatalogueStatusRecord.last_message.set(f"{counts['rows']} listings loaded"),
        )
        message = (f"{counts['rows']} listings: {counts['created']} new, {counts['updated']} changed, "
                   f"{counts['removed']} removed, {counts['unchanged']} unchanged")
        self.jobs.finish(load.load_id, succeeded=True, result=counts | {"load_id": load.load_id}, message=message)
        self.log.record(load.channel_id, LOADED_EVENT, message, {"load_id": load.load_id, "file": load.key} | counts)
        self.mapping.send(MappingMessage(channel_id=load.channel_id, load_id=load.load_id,
                                         reason="catalogue_loaded", unlinked=totals["active"] - totals["linked"]))
        self._transition(load, "applying", "succeeded")
        self._drop_staging(load)

    @staticmethod
    def _set_totals(load: CatalogueLoadRecord) -> dict[str, int]:
        """Bring the channel's totals to what the load counted: a complete load sets them, a differential
        one adds its differences to them. Unless something moved them since the load began applying (a
        link, an unlink or an item created from a listing ADDs to them in its own transaction, and a
        finish run again after a crash has already added): then count them from the listings again, and
        set those, on the same condition, until nothing moves them in between. Returns them."""
        from stocksync.mapping.store import recount  # only when a link raced the load

        status = CatalogueStatusRecord(**CatalogueStatusRecord.keys(load.channel_id))
        seen: datetime | None = load.totals_seen
        counts = {"active": int(load.active), "linked": int(load.linked), "fba": int(load.fba)}
        actions = _totals_actions(load.channel_id, counts)
        if not _complete(load):
            if seen is None:  # no totals yet to add to
                counts = recount(load.channel_id)
                actions = _totals_actions(load.channel_id, counts)
            else:
                actions = _totals_added(load.channel_id, counts)
        for _ in range(_TOTALS_ATTEMPTS):
            if db.update_if(status, actions, (CatalogueStatusRecord.totals_at == seen) if seen
                            else CatalogueStatusRecord.totals_at.does_not_exist()):
                return {"active": int(status.total_active), "linked": int(status.total_linked),
                        "fba": int(status.total_fba)}  # as the update left them
            current = db.get_or_none(CatalogueStatusRecord, CatalogueStatusRecord.keys(load.channel_id))
            seen = current.totals_at if current else None
            counts = recount(load.channel_id)
            actions = _totals_actions(load.channel_id, counts)
        status.update(actions=actions)  # still moving: the last count it is
        return counts

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


def _totals_actions(channel_id: str, counts: dict[str, int]) -> list[Any]:
    status = CatalogueStatusRecord
    return [status.channel_id.set(channel_id), status.total_active.set(counts["active"]),
            status.total_linked.set(counts["linked"]), status.total_unlinked.set(counts["active"] - counts["linked"]),
            status.total_fba.set(counts["fba"]), status.totals_at.set(db.now())]


def _totals_added(channel_id: str, differences: dict[str, int]) -> list[Any]:
    status = CatalogueStatusRecord
    return [status.channel_id.set(channel_id), status.total_active.add(differences["active"]),
            status.total_linked.add(differences["linked"]),
            status.total_unlinked.add(differences["active"] - differences["linked"]),
            status.total_fba.add(differences["fba"]), status.totals_at.set(db.now())]


def _complete(load: CatalogueLoadRecord) -> bool:
    """Whether the load's file lists every listing (else only what changed: nothing absent is removed)."""
    return LAYOUTS[Source(_plain(load.plan)["source"])].complete


def _kept_when_absent(channel_id: str) -> frozenset[str]:
    """The states of a listing a complete load of this channel keeps though absent: those we set at
    0, when the channel's catalogue lists active listings only (eBay's ended ones come back on a restock)."""
    channel = db.get_or_none(ChannelRecord, ChannelRecord.keys(channel_id, ""))
    if channel is None or not adapter_class(channel.type).catalogue_lists_active_only:
        return frozenset()
    return frozenset({"ended", "disabled"})


def range_offsets(load: CatalogueLoadRecord) -> list[int]:
    """For each range, the file row of its record 0 (the header is row 1). A load that failed reading
    the file's head has no ranges: its errors are numbered from the file's top (header = 1)."""
    if not load.ranges:
        return [0]
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
