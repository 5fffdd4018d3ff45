"""Jobs: long work (catalogue loads, auto-link runs, PIM runs) that the API hands back as /jobs/{id}.

Progress is added atomically (ADD), so several invocations working on one job (a file split into
byte ranges) can report into it at once. Errors keep their first MAX_JOB_ERRORS in the job and
count the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pynamodb.expressions.update import Action

from stocksync.core import db, raw_table
from stocksync.core.db import JobRecord
from stocksync.core.errors import NotFound
from stocksync.core.messages import Delivery, JobMessage, deliver

MAX_JOB_ERRORS = 1000
FINAL_STATUSES = frozenset({"succeeded", "failed"})

TimeLeft = Callable[[], float]  # seconds left in the running invocation
# A job kind's handler: runs (a step of) the job the message names. `time_left` lets a long job hand
# over (send its message again, with where to resume) before the Lambda timeout.
JobHandler = Callable[[JobMessage, TimeLeft], None]


def run_job(message: JobMessage, handlers: Mapping[str, JobHandler], time_left: TimeLeft) -> None:
    """Run a job message with its kind's handler (the registry is built in stocksync.wiring)."""
    handler = handlers.get(message.kind)
    if handler is None:
        raise LookupError(f"no handler for jobs of kind {message.kind!r}")
    handler(message, time_left)


def run_job_delivery(message: JobMessage, handlers: Mapping[str, JobHandler], time_left: TimeLeft, *,
                     delivery: Delivery, retry_later: Callable[[int], None], jobs: Jobs) -> None:
    """`run_job` for one jobs-queue delivery: a job that fails for good (a bug, bad input, a refused
    request, an unknown kind) is failed with the reason at once and its message not retried; a transient
    failure backs off, and fails the job on the queue's last receive (`messages.deliver`)."""
    deliver(lambda: run_job(message, handlers, time_left), delivery,
            give_up=lambda reason: jobs.fail(message.job_id, reason), retry_later=retry_later)


class Jobs:
    def create(self, kind: str, *, subject: str, total: int | None = None, bytes_total: int | None = None,
               message: str = "", job_id: str | None = None) -> JobRecord:
        """A queued job. Pass a deterministic `job_id` to make creating it idempotent on retries."""
        job_id = job_id or db.new_id()
        created = db.now()
        job = JobRecord(**JobRecord.keys(job_id, subject, created), job_id=job_id, kind=kind, subject=subject,
                        total=total, bytes_total=bytes_total, message=message, created_at=created,
                        updated_at=created, expires_at=created + db.RETENTION)
        return job if db.save_if(job, JobRecord.PK.does_not_exist()) else self.get(job_id)

    def get(self, job_id: str) -> JobRecord:
        job = db.get_or_none(JobRecord, JobRecord.keys(job_id))
        if job is None:
            raise NotFound(f"No job with id {job_id}", details={"job_id": job_id})
        return job

    def list_for(self, subject: str, *, limit: int = 20) -> list[JobRecord]:
        """The subject's most recent jobs, newest first."""
        return self.page_for(subject, limit=limit, cursor=None)[0]

    def page_for(self, subject: str, *, limit: int, cursor: str | None) -> tuple[list[JobRecord], str | None]:
        """One page of the subject's jobs (a channel's, a PIM profile's), newest first. Jobs are indexed by
        their subject only: a seller asks what ran on one channel or profile, and a table-wide index of
        every job would be one hot partition for every worker's writes."""
        results = JobRecord.gsi1.query(db.jobs_of_pk(subject), scan_index_forward=False, limit=limit,
                                       last_evaluated_key=db.decode_cursor(cursor))
        rows, next_cursor = db.page_of(results, limit)
        return [job for job in rows if isinstance(job, JobRecord)], next_cursor

    def start(self, job_id: str, *, total: int | None = None, bytes_total: int | None = None) -> None:
        actions: list[Action] = [JobRecord.status.set("running"), JobRecord.updated_at.set(db.now())]
        if total is not None:
            actions.append(JobRecord.total.set(total))
        if bytes_total is not None:
            actions.append(JobRecord.bytes_total.set(bytes_total))
        self._update(job_id, actions)

    def progress(self, job_id: str, *, done: int = 0, bytes_done: int = 0,
                 errors: list[dict[str, Any]] | None = None) -> None:
        """Add to the job's progress; `errors` are plain maps, e.g. {"row": 12, "field": "price", "reason": ...}."""
        actions: list[Action] = [JobRecord.updated_at.set(db.now())]
        if done:
            actions.append(JobRecord.done.add(done))
        if bytes_done:
            actions.append(JobRecord.bytes_done.add(bytes_done))
        if errors:
            job = self.get(job_id)
            room = max(MAX_JOB_ERRORS - len(job.errors), 0)
            if room:
                actions.append(JobRecord.errors.set(JobRecord.errors.append(errors[:room])))
            actions.append(JobRecord.error_count.add(len(errors)))
        self._update(job_id, actions)

    @staticmethod
    def progress_update(job_id: str, done: int, tallies: Mapping[str, int] | None = None) -> dict[str, Any]:
        """`progress(job_id, done=done)` as a raw Update for a transaction (`raw_table`): work that commits
        in transactions reports its progress in them, exactly and without a request of its own.
        `tallies` are added to the job's result (e.g. listings sent), committed with the same work."""
        actions: list[Action] = [JobRecord.updated_at.set(db.now()), JobRecord.done.add(done)]
        actions += [JobRecord.result[name].add(count) for name, count in (tallies or {}).items()]
        return raw_table.update_request(JobRecord(**JobRecord.keys(job_id)), actions, JobRecord.PK.exists())

    def finish(self, job_id: str, *, succeeded: bool, result: dict[str, Any] | None = None,
               message: str = "") -> None:
        actions = [JobRecord.status.set("succeeded" if succeeded else "failed"), JobRecord.updated_at.set(db.now())]
        if result is not None:
            actions.append(JobRecord.result.set(result))
        if message:
            actions.append(JobRecord.message.set(message))
        self._update(job_id, actions)

    def fail(self, job_id: str, reason: str) -> None:
        """End a job that cannot go on as failed, saying why, unless it has already ended (or never existed)."""
        job = db.get_or_none(JobRecord, JobRecord.keys(job_id))
        if job is None or job.status in FINAL_STATUSES:
            return
        actions = [JobRecord.status.set("failed"), JobRecord.updated_at.set(db.now()), JobRecord.message.set(reason)]
        db.update_if(job, actions, JobRecord.PK.exists() & ~JobRecord.status.is_in(*FINAL_STATUSES))

    @staticmethod
    def _update(job_id: str, actions: list[Any]) -> None:
        if not db.update_if(JobRecord(**JobRecord.keys(job_id)), actions, JobRecord.PK.exists()):
            raise NotFound(f"No job with id {job_id}", details={"job_id": job_id})
