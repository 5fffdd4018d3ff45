"""Shared fixtures: one embedded AWS (moto server) per test session, reset before each test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
import requests

from infrastructure.local.embedded_aws import start_embedded_aws

# Tests never reach a real AWS account: fake credentials, one region, set before any client exists.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="eu-west-1",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="StockSyncTests",
    POWERTOOLS_SERVICE_NAME="stocksync",
    ALLOW_LOOPBACK_URLS="1",  # the stand-ins listen on http://127.0.0.1, as on the local stack
)

logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    server, endpoint = start_embedded_aws()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    yield endpoint
    server.stop()


@pytest.fixture
def aws(aws_endpoint: str) -> str:
    """An empty embedded AWS."""
    requests.post(f"{aws_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    return aws_endpoint
