"""Work on many listings at once: auto-link, create all, CSV import and export. Uses AWS.

Reads are Query pages and BatchGetItem (100 keys); writes are transactions of up to 100 operations
(`store.ListingWriter`), never one call per listing. Each run is idempotent: it only acts on what is
still to do (an unlinked listing, a differing value), so a repeated message or a retried job changes
nothing twice.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from stocksync.core import db
from stocksync.core.chunks import batched
from stocksync.core.db import ChannelRecord, ListingRecord
from stocksync.core.errors import StockSyncError
from stocksync.core.messages import Delivery, JobMessage, MappingMessage, StockChange, deliver
from stocksync.core.observability import logger
from stocksync.inventory.rules import normalize_sku
from stocksync.mapping import store
from stocksync.mapping.csv_io import (
    LAYOUTS,
    ColumnMapping,
    ExportField,
    ImportField,
    ParsedImport,
    RowError,
    check_references,
    export_lines,
    parse_import,
)
from stocksync.mapping.rules import ItemIndex, ListingFacts, plan_auto_links
from stocksync.mapping.service import AUTO_LINK_JOB, ListingMapping, item_creation, refuse_creation
from stocksync.mapping.store import ListingChange

CLAIMS_UP_TO = 2000  # fewer unlinked listings than this: look their SKUs up; more: read every item once
WRITE_CHUNK = 990  # listing changes per writer call (ten transactions of up to 99 listings)
PROGRESS_STEPS = 10  # auto-link reports its progress about this many times (in its transactions)
AUTO_LINK_EVENT, CREATE_ALL_EVENT, IMPORT_EVENT = "AUTO_LINK", "CREATE_ALL", "MAPPING_IMPORT"
LIMITS_IMPORT_EVENT = "LISTING_LIMITS_IMPORT"
MAX_REPORTED = 1000


# --- auto-link ---------------------------------------------------------------------------------


def auto_link_job_id(message: MappingMessage) -> str:
    """The job of a message: the one the API created, or one per load (so a repeated message is one run)."""
    if message.job_id:
        return message.job_id
    if message.load_id:
        return f"autolink-{message.load_id}"
    return db.new_id()


def handle_mapping_message(mapping: ListingMapping, message: MappingMessage) -> dict[str, Any] | None:
    """The auto-mapper's work for one queue message. None when the run was done before."""
    job = mapping.jobs.create(AUTO_LINK_JOB, subject=message.channel_id, job_id=auto_link_job_id(message),
                              message=f"Auto-link ({message.reason})")
    if job.status in ("succeeded", "failed"):
        logger.info("auto-link run already done", extra={"job_id": job.job_id})
        return None
    channel = db.get_or_none(ChannelRecord, ChannelRecord.keys(message.channel_id, ""))
    if channel is None:
        mapping.jobs.finish(job.job_id, succeeded=False, message="The channel no longer exists")
        return None
    return auto_link(mapping, channel, job.job_id, reason=message.reason, unlinked=message.unlinked)


def handle_mapping_delivery(mapping: ListingMapping, message: MappingMessage, delivery: Delivery) -> None:
    """`handle_mapping_message` for one mapping-queue delivery: a run that fails for good (a bug, a refused
    request) fails its job at once and the message is not retried; a transient failure goes back to the
    queue (at the queue's own visibility: the auto-mapper may not change it) and fails the job on the
    last receive. A message naming neither a job nor a load has a new job each time: nothing to fail."""

    def give_up(reason: str) -> None:
        if message.job_id or message.load_id:
            mapping.jobs.fail(auto_link_job_id(message), reason)

    deliver(lambda: _log_run(handle_mapping_message(mapping, message)), delivery, give_up=give_up,
            retry_later=lambda seconds: None)


def _log_run(result: dict[str, Any] | None) -> None:
    if result is not None:
        logger.info("auto-link run", extra={k: v for k, v in result.items() if k != "ambiguous_listings"})


def auto_link(mapping: ListingMapping, channel: ChannelRecord, job_id: str, *,
              reason: str = "requested", unlinked: int | None = None) -> dict[str, Any]:
    """Link every unlinked, non-removed listing of the channel that matches exactly one item.

    Requests: the listings' Query pages, the items' (GSI1 pages, or BatchGetItem of the SKU claims for
    few candidates), one transaction per 99 links (with the totals, and the job's progress in the last
    of each step), and the job's start and finish and the automation event. When the catalogue load
    that sent the run counted no unlinked listing (`unlinked` 0), there is nothing to read: a channel
    whose listings are all linked is not read whole a second time after each of its loads."""
    channel_id = channel.channel_id
    settings = mapping.settings(channel)
    by = settings.auto_link_by
    started = time.monotonic()
    listings = [] if unlinked == 0 else list(store.listing_facts(channel_id, barcode=by == "barcode",
                                                                 asin=by == "asin"))
    candidates = [facts for facts in listings if not facts.linked_item_id and not facts.removed]
    mapping.jobs.start(job_id, total=len(candidates))
    index = _item_index(candidates, by)
    plan = plan_auto_links(listings, index, one_listing_per_item=settings.one_listing_per_item)
    committed: dict[str, str] = {}  # sku key -> item id of every link this run committed
    changed_meanwhile = 0
    step = _step_size(len(plan.links))
    for links in batched(plan.links, step):
        written = mapping.writer.link(channel_id, links,
                                      progress=partial(mapping.jobs.progress_update, job_id))
        committed.update((link.sku_key, link.item_id) for link in written.applied)
        changed_meanwhile += len(written.refused)
    # Every committed link is known here, and only here: what follows a link happens once per run.
    if committed:
        mapping.stock_queue.publish([StockChange(reason="auto_linked", item_ids=list(committed.values()),
                                                 channel_ids=[channel_id])])
        mapping.links_committed(channel_id, committed)
    counts = plan.counts() | {"linked": len(committed), "changed_meanwhile": changed_meanwhile}
    result = counts | {"ambiguous_listings": plan.ambiguous[:MAX_REPORTED],
                       "seconds": round(time.monotonic() - started, 3), "matched_by": by}
    message = (f"Auto-link: {counts['linked']} linked, {counts['ambiguous']} ambiguous, "
               f"{counts['unmatched']} unmatched of {counts['candidates']} unlinked listings")
    mapping.log.record(channel_id, AUTO_LINK_EVENT, message, counts | {"job_id": job_id, "reason": reason})
    mapping.jobs.finish(job_id, succeeded=True, result=result, message=message)
    return result


def _step_size(links: int) -> int:
    """Links per progress step: about a tenth of them, in whole transactions of 99 links but the last,
    98 links and the job's progress, so that reporting progress costs no transaction of its own."""
    tenth = -(-links // PROGRESS_STEPS)  # rounded up
    transactions = -(-(tenth + 1) // store.LINKS_PER_TRANSACTION)  # rounded up, the progress update included
    return transactions * store.LINKS_PER_TRANSACTION - 1


def _item_index(candidates: list[ListingFacts], by: str) -> ItemIndex:
    """The items to match: by SKU, from the SKU claims (BatchGetItem of the candidates' keys when they
    are few, else every claim's small index record); by barcode or ASIN, every item's record."""
    if not candidates:
        return ItemIndex()
    if by == "sku":
        if len(candidates) <= CLAIMS_UP_TO:
            return ItemIndex.of_sku_keys(store.item_ids_by_sku_key(facts.sku_key for facts in candidates).items())
        return ItemIndex.of_sku_keys(store.sku_owners())
    return ItemIndex(store.item_facts(barcode=by == "barcode", asin=by == "asin"), by=by)  # type: ignore[arg-type]


# --- create all --------------------------------------------------------------------------------


def run_create_all(mapping: ListingMapping, message: JobMessage) -> None:
    job = mapping.jobs.get(message.job_id)
    if job.status in ("succeeded", "failed"):
        return
    channel_id = str(message.payload["channel_id"])
    channel = db.get_or_none(ChannelRecord, ChannelRecord.keys(channel_id, ""))
    if channel is None:
        mapping.jobs.finish(job.job_id, succeeded=False, message="The channel no longer exists")
        return
    try:
        refuse_creation(channel)
    except StockSyncError as refused:
        mapping.jobs.finish(job.job_id, succeeded=False, message=refused.message)
        return
    location_id = mapping.create_location(channel)
    todo = [record for record in store.channel_listings(channel_id)
            if not record.linked_item_id and not record.removed]
    mapping.jobs.start(job.job_id, total=len(todo))
    taken = store.item_ids_by_sku_key(record.sku_key for record in todo)
    errors = [{"sku": record.sku, "reason": "an item with this SKU exists; link the listing to it instead",
               "item_id": taken[record.sku_key]} for record in todo if record.sku_key in taken]
    if errors:
        mapping.jobs.progress(job.job_id, done=len(errors), errors=errors[:MAX_REPORTED])
    created: list[str] = []
    changes = [item_creation(record, location_id) for record in todo if record.sku_key not in taken]
    for chunk in batched(changes, 160):
        result = mapping.writer.apply(channel_id, chunk)
        created.extend(change.link_to for change in result.applied)
        chunk_errors = [{"sku": refused.change.listing.sku,
                         "reason": "an item with this SKU exists" if refused.reason == "sku_taken"
                         else "the listing changed meanwhile"} for refused in result.refused]
        errors.extend(chunk_errors)
        mapping.jobs.progress(job.job_id, done=len(chunk), errors=chunk_errors or None)
    if created:
        mapping.stock_queue.publish([StockChange(reason="items_created_from_listings", item_ids=created,
                                                 channel_ids=[channel_id])])
        mapping.links_committed(channel_id, {change.listing.sku_key: change.link_to for change in changes})
    counts = {"created": len(created), "skipped": len(errors), "listings": len(todo)}
    text = f"Create all: {len(created)} items created and linked, {len(errors)} listings skipped"
    mapping.log.record(channel_id, CREATE_ALL_EVENT, text, counts | {"job_id": job.job_id})
    mapping.jobs.finish(job.job_id, succeeded=True, result=counts, message=text)


# --- import ------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    valid: bool
    applied: bool
    rows: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    changes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "applied": self.applied, "rows": self.rows, "errors": self.errors,
                "error_count": self.error_count, "changes": self.changes}


def import_mapping(mapping: ListingMapping, channel_id: str, text: str, columns: ColumnMapping, *, dry_run: bool,
                   kind: str = "mapping") -> ImportReport:
    """Validate the whole file; apply it only when every row is valid (and not a dry run). `kind`:
    "mapping" or "limits" (the Min/Max file), which names its columns its own way (`LAYOUTS`)."""
    mapped = columns.mapped()
    parsed = parse_import(text, mapped, LAYOUTS[kind])
    listings = store.listings_by_key(channel_id, (row.sku_key for row in parsed.rows))
    item_skus = {normalize_sku(v) for row in parsed.rows if (v := row.values.get(ImportField.ITEM_SKU))}
    item_ids = store.item_ids_by_sku_key(item_skus)
    errors = parsed.errors + check_references(parsed, listings, item_ids, mapped[ImportField.CHANNEL_SKU],
                                              mapped.get(ImportField.ITEM_SKU))
    errors.sort(key=lambda error: (error.row, error.column))
    changes = _import_changes(parsed, listings, item_ids) if not errors else []
    summary = _summarise(changes, len(parsed.rows))
    report = ImportReport(valid=not errors, applied=False, rows=parsed.row_count,
                          errors=[error.as_dict() for error in errors[:MAX_REPORTED]], error_count=len(errors),
                          changes=summary)
    if errors or dry_run:
        return report
    applied: list[ListingChange] = []
    refused = []
    for chunk in batched(changes, WRITE_CHUNK):
        result = mapping.writer.apply(channel_id, chunk)
        applied.extend(result.applied)
        refused.extend(result.refused)
    items = sorted({item_id for change in applied for item_id in change.touched_items()})
    if items:
        mapping.stock_queue.publish([StockChange(reason=f"{kind}_imported", item_ids=items,
                                                 channel_ids=[channel_id])])
        mapping.links_committed(channel_id, {c.listing.sku_key: c.link_to for c in applied if c.link_to})
    report.applied = True
    if refused:
        report.errors = [RowError(r.change.tag, "", "the listing changed while the file was applied; import it "
                                  "again").as_dict() for r in refused[:MAX_REPORTED]]
        report.error_count = len(refused)
    event = IMPORT_EVENT if kind == "mapping" else LIMITS_IMPORT_EVENT
    mapping.log.record(channel_id, event, f"{kind.capitalize()} import: {len(applied)} listings changed",
                       summary | {"rows": parsed.row_count, "conflicts": len(refused)})
    return report


def _import_changes(parsed: ParsedImport, listings: dict[str, ListingRecord],
                    item_ids: dict[str, str]) -> list[ListingChange]:
    changes: list[ListingChange] = []
    for row in parsed.rows:
        listing = listings[row.sku_key]
        change = ListingChange(listing, tag=row.row)
        for target, value in row.values.items():
            if target == ImportField.ITEM_SKU:
                link_to = item_ids[normalize_sku(value)] if value else None
                if link_to != listing.linked_item_id:
                    change.link_to = link_to
            elif target == ImportField.IGNORE_SYNC:
                if bool(listing.ignore_sync) != value:
                    change.actions.append(ListingRecord.ignore_sync.set(value))
            else:
                attribute = getattr(ListingRecord, target.value)
                current = getattr(listing, target.value)
                if (current is None) != (value is None) or (current is not None and float(current) != float(value)):
                    change.actions.append(attribute.remove() if value is None else attribute.set(value))
        if change.relinks or change.actions:
            changes.append(change)
    return changes


def _summarise(changes: list[ListingChange], rows: int) -> dict[str, int]:
    links = sum(1 for c in changes if c.relinks and c.link_to)
    unlinks = sum(1 for c in changes if c.relinks and not c.link_to)
    settings = sum(1 for c in changes if c.actions)
    return {"link": links, "unlink": unlinks, "flags_or_limits": settings, "unchanged": rows - len(changes)}


def run_import_job(mapping: ListingMapping, message: JobMessage) -> None:
    """A large import, its file staged in S3 by the API."""
    from stocksync.core.aws import client

    job = mapping.jobs.get(message.job_id)
    if job.status in ("succeeded", "failed"):
        return
    payload = message.payload
    mapping.jobs.start(job.job_id)
    body = client("s3").get_object(Bucket=mapping.bucket, Key=payload["key"])["Body"].read().decode("utf-8-sig")
    report = import_mapping(mapping, payload["channel_id"], body, ColumnMapping.model_validate(payload["columns"]),
                            dry_run=bool(payload.get("dry_run")), kind=payload.get("kind", "mapping"))
    if report.errors:
        mapping.jobs.progress(job.job_id, errors=report.errors)
    outcome = "applied" if report.applied else ("valid (dry run)" if report.valid else "refused: nothing applied")
    mapping.jobs.finish(job.job_id, succeeded=report.valid,
                        result={k: v for k, v in report.as_dict().items() if k != "errors"},
                        message=f"Import of {report.rows} rows {outcome}; {report.error_count} errors")




# --- export ------------------------------------------------------------------------------------


def export_rows(channel_id: str, fields: list[ExportField]) -> Iterator[dict[ExportField, Any]]:
    """Rows of the mapping export (non-removed listings, SKU order), linked items fetched 100 at a time."""
    need_items = ExportField.LINKED_SKU in fields or ExportField.LINKED_TITLE in fields
    for page in batched((r for r in store.channel_listings(channel_id) if not r.removed), 100):
        items = store.items_by_id(r.linked_item_id for r in page if r.linked_item_id) if need_items else {}
        for listing in page:
            item = items.get(listing.linked_item_id or "")
            yield {
                ExportField.CHANNEL_SKU: listing.sku, ExportField.TITLE: listing.title,
                ExportField.LINKED_SKU: item.sku if item else None,
                ExportField.LINKED_TITLE: item.title if item else None,
                ExportField.FBA: bool(listing.fba), ExportField.IGNORE_SYNC: bool(listing.ignore_sync),
                ExportField.MAX_LISTED: listing.max_listed, ExportField.END_WHEN: listing.end_when,
                ExportField.PERCENTAGE: listing.percentage, ExportField.SUBMITTED_QUANTITY: listing.submitted_quantity,
                ExportField.LAST_UPDATE: listing.last_update.isoformat() if listing.last_update else None,
                ExportField.STATUS: listing.update_error or listing.update_status,
                ExportField.PRICE: listing.price, ExportField.QUANTITY: listing.quantity,
            }


def export_csv(channel_id: str, fields: list[ExportField], inline_rows: int) -> tuple[str | None, io.BytesIO | None]:
    """The CSV as text when it has at most `inline_rows` rows, else spooled as bytes for S3."""
    lines = export_lines(fields, export_rows(channel_id, fields))
    text = io.StringIO()
    count = -1
    for line in lines:
        text.write(line)
        count += 1
        if count > inline_rows:
            spooled = io.BytesIO(text.getvalue().encode("utf-8-sig"))
            for rest in lines:
                spooled.write(rest.encode("utf-8"))
            spooled.seek(0)
            return None, spooled
    return text.getvalue(), None
