"""A PIM run: read the profile's products from Akeneo, map them, and change items in batches.

A run is a job (kind `pim_run`, subject the profile id) on the jobs queue. Each invocation reads
pages of 100 products (`search_after`), maps each product, loads the page's items in one batch,
writes what changed in transactions and reports progress and a per-product error list. A product
that fails is reported and skipped; the run goes on. An item already equal to what the PIM says is
not written at all, so running a profile twice changes nothing the second time.

When the invocation has used its time budget it sends its own job message again with the cursor
(`search_after`) to continue; when Akeneo throttles or cannot be reached it sends it again with a
delay. The run's start becomes the profile's `last_success_at` once the run has read every page;
scheduled runs then read only the products `updated` since then (less a small overlap).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from pynamodb.exceptions import TransactWriteError

from stocksync.core import db
from stocksync.core.automation_log import AutomationLog
from stocksync.core.aws import client as aws_client
from stocksync.core.chunks import batched
from stocksync.core.db import ItemRecord, JobRecord, UniqueClaim
from stocksync.core.errors import NotFound, PimError
from stocksync.core.http_client import RemoteError, RemoteThrottled
from stocksync.core.jobs import FINAL_STATUSES, Jobs
from stocksync.core.messages import JobMessage, JobQueue
from stocksync.core.observability import logger
from stocksync.inventory.items import SKU_CLAIM
from stocksync.inventory.rules import normalize_sku, search_text
from stocksync.pim.akeneo import AkeneoClient, problem_of, product_search
from stocksync.pim.model import AttributeInfo, ProfileSettings
from stocksync.pim.product_fields import DIMENSIONS, BrokenValue, ProductChanges, map_product, sku_of
from stocksync.pim.profiles import PimConnections, PimProfiles, settings_of

RUN_KIND = "pim_run"
MEDIA_PREFIX = "pim-media/"  # not catalogues/: that prefix starts catalogue ingestion
DEFAULT_TIME_BUDGET_S = 600.0  # of the jobs worker's 900 s
MAX_RETRIES = 5
UPDATED_OVERLAP = timedelta(minutes=5)  # clocks of the PIM and ours may differ a little
STALE_RUN = timedelta(minutes=30)
ITEMS_PER_TRANSACTION = 25  # a creation is 2 writes (SKU claim + item): at most 50 of the 100 allowed
QUEUED_MESSAGE = "Queued: the run will start soon (it may not be in real time)"


class RunPayload(BaseModel):
    """Where a run stands: carried by its job message from one invocation to the next."""

    profile_id: str
    reason: str = "run_now"
    since: datetime | None = Field(default=None, description="Only products updated after this")
    started_at: datetime | None = None
    search_after: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    retries: int = 0


# --- queueing runs -------------------------------------------------------------------------


class PimRuns:
    def __init__(self, connections: PimConnections, profiles: PimProfiles, jobs: Jobs, queue: JobQueue) -> None:
        self.connections = connections
        self.profiles = profiles
        self.jobs = jobs
        self.queue = queue

    def run_now(self, profile_id: str) -> JobRecord:
        """Queue a run of every product the profile selects (or answer the run already waiting)."""
        self.profiles.get(profile_id)
        self.connections.get()
        return self._active(profile_id) or self._queue(profile_id, reason="run_now", since=None)

    def schedule(self, event_id: str) -> list[JobRecord]:
        """The periodic run: every enabled profile, products updated since its last successful run."""
        connection = self.connections.find()
        if connection is None or not connection.enabled:
            return []
        queued = []
        for profile in self.profiles.list():
            if not profile.enabled or self._active(profile.profile_id):
                continue
            since = profile.last_success_at - UPDATED_OVERLAP if profile.last_success_at else None
            job_id = hashlib.sha256(f"{event_id}|{profile.profile_id}".encode()).hexdigest()[:32]
            queued.append(self._queue(profile.profile_id, reason="schedule", since=since, job_id=job_id))
        return queued

    def list(self, profile_id: str, limit: int = 20) -> list[JobRecord]:
        self.profiles.get(profile_id)
        return [job for job in self.jobs.list_for(profile_id, limit=limit) if job.kind == RUN_KIND]

    def _active(self, profile_id: str) -> JobRecord | None:
        for job in self.jobs.list_for(profile_id, limit=5):
            if job.kind == RUN_KIND and job.status not in FINAL_STATUSES and job.updated_at > db.now() - STALE_RUN:
                return job
        return None

    def _queue(self, profile_id: str, *, reason: str, since: datetime | None, job_id: str | None = None) -> JobRecord:
        job = self.jobs.create(RUN_KIND, subject=profile_id, message=QUEUED_MESSAGE, job_id=job_id)
        payload = RunPayload(profile_id=profile_id, reason=reason, since=since)
        self.queue.send(JobMessage(job_id=job.job_id, kind=RUN_KIND, payload=payload.model_dump(mode="json")))
        return job


# --- running -------------------------------------------------------------------------------


@dataclass
class PageOutcome:
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def count(self, name: str, by: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + by

    def fail(self, sku: str, attribute: str | None, reason: str) -> None:
        self.count("failed")
        self.errors.append({"sku": sku, "attribute": attribute, "reason": reason})


@dataclass
class _Planned:
    changes: ProductChanges
    item: ItemRecord
    created: bool


class PimRunner:
    def __init__(self, connections: PimConnections, profiles: PimProfiles, jobs: Jobs, queue: JobQueue,
                 bucket: str, *, log: AutomationLog, time_budget_s: float = DEFAULT_TIME_BUDGET_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.connections = connections
        self.profiles = profiles
        self.jobs = jobs
        self.queue = queue
        self.bucket = bucket
        self.log = log
        self.time_budget_s = time_budget_s
        self.clock = clock

    def run(self, message: JobMessage) -> None:
        job = self.jobs.get(message.job_id)
        if job.status in FINAL_STATUSES:
            return  # a redelivered message of a finished run
        payload = RunPayload.model_validate(message.payload)
        began = self.clock()
        try:
            settings = settings_of(self.profiles.get(payload.profile_id))
            client = self.connections.client()
            attributes = {info.code: info for info in map(AttributeInfo.of, client.attributes())}
            search = product_search(settings.categories, payload.since)
            if payload.started_at is None:
                payload.started_at = db.now()
                self.jobs.start(job.job_id, total=client.count_products(search))
            while True:
                products, cursor = client.products_page(search, scope=settings.scope, locale=settings.locale,
                                                        search_after=payload.search_after)
                outcome = self.apply_page(products, settings, attributes, client)
                self.jobs.progress(job.job_id, done=len(products), errors=outcome.errors)
                for name, value in outcome.counts.items():
                    payload.counts[name] = payload.counts.get(name, 0) + value
                if not cursor:
                    break
                payload.search_after, payload.retries = cursor, 0
                if self.clock() - began >= self.time_budget_s:
                    self._continue(job, payload)
                    return
        except NotFound as exc:
            self._fail(job, payload, exc.message)
            return
        except (RemoteError, PimError) as exc:
            if getattr(exc, "retryable", False) and payload.retries < MAX_RETRIES:
                payload.retries += 1
                delay = exc.retry_after if isinstance(exc, RemoteThrottled) else 30 * payload.retries
                self._continue(job, payload, delay=int(delay))
                return
            self._fail(job, payload, problem_of(exc)[1])
            return
        self._succeed(job, payload, client)

    def _continue(self, job: JobRecord, payload: RunPayload, delay: int = 0) -> None:
        logger.info("PIM run continues", extra={"job_id": job.job_id, "delay_s": delay})
        self.queue.send(JobMessage(job_id=job.job_id, kind=RUN_KIND, payload=payload.model_dump(mode="json")),
                        delay_seconds=delay)

    def _fail(self, job: JobRecord, payload: RunPayload, message: str) -> None:
        self.jobs.finish(job.job_id, succeeded=False, result=payload.counts, message=message)
        self.log.record(payload.profile_id, "PIM_RUN_FAILED", message, {"job_id": job.job_id})

    def _succeed(self, job: JobRecord, payload: RunPayload, client: AkeneoClient) -> None:
        counts = {name: payload.counts.get(name, 0) for name in
                  ("created", "updated", "unchanged", "not_created", "failed", "images")}
        message = (f"{counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged, "
                   f"{counts['not_created']} not created (product creation off), {counts['failed']} failed")
        self.jobs.finish(job.job_id, succeeded=True, result={**counts, "token_renewals": client.token_renewals},
                         message=message)
        if payload.started_at is not None:
            self.profiles.mark_succeeded(payload.profile_id, payload.started_at)
        self.log.record(payload.profile_id, "PIM_RUN", message, {"job_id": job.job_id, "reason": payload.reason})

    # --- one page ---------------------------------------------------------------------------

    def apply_page(self, products: list[dict[str, Any]], settings: ProfileSettings,
                   attributes: Mapping[str, AttributeInfo], client: AkeneoClient) -> PageOutcome:
        outcome = PageOutcome()
        wanted: dict[str, ProductChanges] = {}
        for product in products:
            try:
                changes = map_product(product, settings, attributes)
            except BrokenValue as exc:
                outcome.fail(_sku_or_unknown(product, attributes), exc.attribute, exc.reason)
                continue
            wanted[normalize_sku(changes.sku)] = changes
        existing = _items_by_sku_key(list(wanted))
        planned: list[_Planned] = []
        for sku_key, changes in wanted.items():
            item = existing.get(sku_key)
            if item is None and not settings.product_settings.product_creation:
                outcome.count("not_created")
                continue
            created = item is None
            item = item or _new_item(changes.sku, sku_key)
            planned.append(_Planned(changes, item, created))
        self._upload_images(planned, client, outcome)
        to_write = []
        for plan in planned:
            if plan.changes.sku in {error["sku"] for error in outcome.errors}:
                continue
            if apply_changes(plan.item, plan.changes, self.bucket_key) or plan.created:
                to_write.append(plan)
            else:
                outcome.count("unchanged")
        self._write(to_write, outcome)
        return outcome

    @staticmethod
    def bucket_key(media_code: str) -> str:
        return f"{MEDIA_PREFIX}{media_code.lstrip('/')}"

    def _upload_images(self, planned: list[_Planned], client: AkeneoClient, outcome: PageOutcome) -> None:
        """Download every image not already attached (Akeneo's media codes change with the file) into the bucket."""
        needed = {code: plan.changes.sku for plan in planned for code in plan.changes.images
                  if self.bucket_key(code) not in list(plan.item.images or [])}
        if not needed:
            return

        def copy(code: str) -> str | None:
            try:
                with client.download_media(code) as response:
                    response.raw.decode_content = True
                    aws_client("s3").upload_fileobj(
                        response.raw, self.bucket, self.bucket_key(code),
                        ExtraArgs={"ContentType": response.headers.get("Content-Type", "application/octet-stream")})
            except (RemoteError, OSError) as exc:
                return str(getattr(exc, "message", exc))
            return None

        with ThreadPoolExecutor(max_workers=4) as pool:
            failures = dict(zip(needed, pool.map(copy, needed), strict=True))
        for code, reason in failures.items():
            if reason:
                outcome.fail(needed[code], "image", f"media file {code!r} could not be copied: {reason}")
            else:
                outcome.count("images")

    def _write(self, plans: list[_Planned], outcome: PageOutcome) -> None:
        for chunk in batched(plans, ITEMS_PER_TRANSACTION):
            try:
                with db.transaction() as tx:
                    for plan in chunk:
                        _save(tx, plan)
            except TransactWriteError:
                for plan in chunk:  # find the one that failed; the others are written alone
                    try:
                        with db.transaction() as tx:
                            _save(tx, plan)
                    except TransactWriteError:
                        outcome.fail(plan.changes.sku, None,
                                     "the item changed (or its SKU was taken) while the run saved it; "
                                     "the next run will try again")
                        continue
                    outcome.count("created" if plan.created else "updated")
                continue
            for plan in chunk:
                outcome.count("created" if plan.created else "updated")


def _save(tx: Any, plan: _Planned) -> None:
    if plan.created:
        tx.save(UniqueClaim(**UniqueClaim.keys(SKU_CLAIM, plan.item.sku_key), owner_id=plan.item.item_id),
                condition=UniqueClaim.PK.does_not_exist())
        tx.save(plan.item, condition=ItemRecord.PK.does_not_exist())
    else:
        tx.save(plan.item)


def _sku_or_unknown(product: Mapping[str, Any], attributes: Mapping[str, AttributeInfo]) -> str:
    try:
        return sku_of(product, attributes)
    except BrokenValue:
        return str(product.get("uuid") or "?")


def _items_by_sku_key(sku_keys: list[str]) -> dict[str, ItemRecord]:
    """The existing items of these SKUs, in two batch reads (claims, then items)."""
    if not sku_keys:
        return {}
    claim_keys = [(UniqueClaim.keys(SKU_CLAIM, key)["PK"], "UNIQUE") for key in sku_keys]
    owners = {claim.PK.removeprefix(f"UNIQUE#{SKU_CLAIM}#"): claim.owner_id
              for claim in UniqueClaim.batch_get(claim_keys, consistent_read=True)}
    if not owners:
        return {}
    items = {item.item_id: item for item in
             ItemRecord.batch_get([(db.item_pk(owner), "ITEM") for owner in set(owners.values())],
                                  consistent_read=True)}
    return {key: items[owner] for key, owner in owners.items() if owner in items}


def _new_item(sku: str, sku_key: str) -> ItemRecord:
    item_id = db.new_id()
    item = ItemRecord(**ItemRecord.keys(item_id, sku_key), item_id=item_id, sku=sku, sku_key=sku_key)
    item.search_text = search_text(sku, "")
    return item


# --- comparing and changing an item ----------------------------------------------------------


def apply_changes(item: ItemRecord, changes: ProductChanges, media_key: Callable[[str], str]) -> bool:
    """Put what the PIM says into the item. True when something is different from before."""
    changed = False
    for name, value in changes.fields.items():
        if not _same(getattr(item, name), value):
            setattr(item, name, value)
            changed = True
    for name in DIMENSIONS:
        if name in changes.dimensions and not _same(getattr(item.dimensions, name), changes.dimensions[name]):
            setattr(item.dimensions, name, changes.dimensions[name])
            changed = True
    if changes.channel_fields:
        current = _plain(item.channel_fields.as_dict())
        merged: dict[str, Any] = {channel: {**current.get(channel, {}), **values}
                                  for channel, values in changes.channel_fields.items()}
        merged = {**current, **merged}
        if merged != current:
            item.channel_fields = merged
            changed = True
    if changes.extended_properties:
        current = _plain(item.extended_properties.as_dict())
        merged = {**current, **changes.extended_properties}
        if merged != current:
            item.extended_properties = merged
            changed = True
    if changes.images:
        images = [media_key(code) for code in changes.images]
        if images != list(item.images or []):
            item.images = images
            changed = True
    if changed:
        item.search_text = search_text(item.sku, item.title or "")
        item.updated_at = db.now()
    return changed


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, float) and isinstance(current, int | float | Decimal):
        return abs(float(current) - wanted) < 1e-9
    return current == wanted


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Decimal):
        return float(value)
    return value
