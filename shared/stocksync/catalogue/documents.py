"""Finished catalogue documents into the bucket, streamed (multipart above 8 MB), never whole in memory.

Keys follow the contract with the ingestion (docs/catalogue-formats.md):
  catalogues/{channel_id}/{source}/{timestamp}-{report id}.{ext}
The timestamp is when the report was requested, so a retry of the same report writes the same key.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from stocksync.channels.base import CatalogueDocument
from stocksync.core.aws import client

PART_BYTES = 8 * 1024 * 1024


def document_prefix(channel_id: str, source: str, requested_at: datetime, report_id: str) -> str:
    """The key without its extension: one report, one document, whatever the retry."""
    safe_id = re.sub(r"[^A-Za-z0-9._-]", "_", report_id)[:200]
    return f"catalogues/{channel_id}/{source}/{requested_at.strftime('%Y%m%dT%H%M%SZ')}-{safe_id}."


class ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (what upload_fileobj wants)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.bytes_read += size
        return size


class CatalogueBucket:
    def __init__(self, bucket: str, s3: Any = None) -> None:
        self.bucket = bucket
        self._s3 = s3

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3")
        return self._s3

    def existing(self, prefix: str) -> str | None:
        """The key of a document already written under `prefix`, if any."""
        answer = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        contents = answer.get("Contents") or []
        return contents[0]["Key"] if contents else None

    def write(self, prefix: str, document: CatalogueDocument) -> tuple[str, int]:
        """Streams the document to `prefix + extension`; returns the key and the bytes written.

        The object appears only when the upload completes: a failure half-way leaves nothing."""
        from boto3.s3.transfer import TransferConfig

        key = prefix + document.extension
        reader = ChunkReader(document.chunks)
        config = TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES, max_concurrency=2)
        self.s3.upload_fileobj(io.BufferedReader(reader, PART_BYTES), self.bucket, key,
                               ExtraArgs={"ContentType": document.content_type}, Config=config)
        return key, reader.bytes_read
