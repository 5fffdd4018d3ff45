"""boto3 clients, built on first use and reused across warm invocations."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    import boto3  # imported here so handlers that never call AWS directly skip its import cost
    from botocore.config import Config

    # S3 presigned URLs default to SigV2 in some regions (eu-west-1 among them), which buckets
    # created since 2020 refuse: sign every S3 request, presigned ones included, with SigV4.
    config = Config(signature_version="s3v4") if service == "s3" else None
    return boto3.session.Session().client(service, config=config)
