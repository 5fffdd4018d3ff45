"""boto3 clients, built on first use and reused across warm invocations."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    import boto3  # imported here so handlers that never call AWS directly skip its import cost

    return boto3.session.Session().client(service)
