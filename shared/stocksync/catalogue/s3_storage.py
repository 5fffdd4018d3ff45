"""The loader's S3: uploaded catalogue files read whole or by byte range, and the staged runs."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any, BinaryIO

from stocksync.catalogue.reader import _Prefixed
from stocksync.core.aws import client
from stocksync.core.chunks import batched

_DELETE_KEYS = 1000  # DeleteObjects' limit


class S3Objects:
    def head(self, bucket: str, key: str) -> dict[str, Any]:
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
        arguments: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if start or end is not None:
            arguments["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        body = client("s3").get_object(**arguments)["Body"]
        return io.BufferedReader(_Prefixed(b"", body), buffer_size=1 << 20)


class S3RunStore:
    """Staged runs (`staging.RunStore`) as objects of one bucket."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def write(self, name: str, data: bytes) -> None:
        client("s3").put_object(Bucket=self.bucket, Key=name, Body=data)

    def open(self, name: str, offset: int = 0) -> BinaryIO:
        return S3Objects().open(self.bucket, name, offset)

    def delete(self, names: Iterable[str]) -> None:
        for batch in batched(({"Key": name} for name in names), _DELETE_KEYS):
            client("s3").delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
