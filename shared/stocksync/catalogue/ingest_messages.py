"""What the ingest queue carries, and how one of its messages is read.

Two kinds of message share the queue: the S3 notifications of uploaded catalogue files (each starts
a load) and the tasks a load fans out to itself (read one byte range, apply one partition).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import unquote_plus

from pydantic import BaseModel

from stocksync.catalogue.formats import Source
from stocksync.core import db
from stocksync.core.messages import Delivery, deliver
from stocksync.core.observability import logger

CATALOGUE_PREFIX = "catalogues/"


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


class Loader(Protocol):
    """What a message asks of the loader (`load.CatalogueLoader`)."""

    def start(self, ref: ObjectRef, channel_type: str | None) -> str | None: ...

    def run_task(self, task: Task) -> None: ...

    def abandon(self, load_id: str, reason: str, *, channel_id: str | None = None, key: str = "") -> None: ...


def handle_ingest_message(loader: Loader, body: dict[str, Any]) -> list[str]:
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


def handle_ingest_record(loader: Loader, text: str, delivery: Delivery,
                         retry_later: Callable[[int], None]) -> list[str]:
    """One ingest-queue record as Lambda hands it over. A failure that will not pass (a file we cannot
    read, a bug) fails its loads at once and the record is done with; a transient one (throttling, a
    timeout) comes back after a back-off, and fails them on the queue's last receive (`deliver`)."""
    try:
        body = json.loads(text)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
    except ValueError:  # nothing names a load: dropped, with the reason logged
        logger.exception("Unreadable ingest message dropped", extra={"body": text[:500]})
        return []
    loads: list[str] = []
    deliver(lambda: loads.extend(handle_ingest_message(loader, body)), delivery,
            give_up=lambda reason: _abandon_all(loader, body, reason), retry_later=retry_later)
    return loads


def _abandon_all(loader: Loader, body: dict[str, Any], reason: str) -> None:
    """Fail every load the message names (a task's one, or each object of a notification)."""
    if "catalogue_task" in body:
        load_id = body.get("load_id")
        if isinstance(load_id, str) and load_id:
            loader.abandon(load_id, reason)
        return
    try:
        refs = objects_in(body)
    except (KeyError, TypeError, ValueError, AttributeError):
        return  # not a notification we can read: there is no load to fail
    for ref in refs:
        target = target_of(ref.key)
        if target is not None:
            loader.abandon(ref.load_id, reason, channel_id=target[0], key=ref.key)
