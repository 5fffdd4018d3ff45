"""Shared fixtures: one embedded AWS (moto server) per test session, reset before each test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from embedded_aws_support import EmbeddedAws

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
def embedded_aws() -> Iterator[EmbeddedAws]:
    server, endpoint = start_embedded_aws()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    yield EmbeddedAws(endpoint)
    server.stop()


@pytest.fixture(scope="session")
def aws_endpoint(embedded_aws: EmbeddedAws) -> str:
    return embedded_aws.endpoint


@pytest.fixture
def aws(embedded_aws: EmbeddedAws) -> str:
    """An empty embedded AWS."""
    embedded_aws.reset()
    return embedded_aws.endpoint


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Under `-n`: the e2e modules sharing the local stack on one worker, one after the other, so that stack
    is started once (two workers' stacks at once, each running sped-up schedules, starve two cores); the
    module that starts a stack of its own (`make run` as a newcomer runs it) and every other test file are
    units of their own, handed to whichever worker is free. Units go out in collection order, where the
    e2e conftest puts that module first: its stack's start overlaps the shared one's, not the suite's end."""
    from xdist.scheduler import LoadScopeScheduling

    class SharedStackTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return E2E_DIRECTORY if path.startswith(E2E_DIRECTORY) and path != OWN_STACK_MODULE else path

    config.option.loadscopereorder = False
    return SharedStackTogether(config, log)


E2E_DIRECTORY = "tests/e2e/"
OWN_STACK_MODULE = "tests/e2e/test_first_ten_minutes.py"
