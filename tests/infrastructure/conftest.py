"""Fixtures for the local-stack tests: the runner's small template, provisioned on the reset moto."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from infrastructure.local.provision import ProvisionedStack, provision
from infrastructure.local.runner import Runner
from infrastructure.local.template import Template, load_template

RUNNER_TEMPLATE = Path(__file__).resolve().parent.parent / "fixtures" / "runner" / "template.yaml"
API_KEY = "test-api-key"
SPEEDUP = 240  # rate(1 minute) fires every 0.25 s


@pytest.fixture(scope="session")
def runner_template() -> Template:
    return load_template(RUNNER_TEMPLATE)


@pytest.fixture(scope="session")
def api_key() -> str:
    return API_KEY


@pytest.fixture
def runner_stack(aws: str, runner_template: Template, monkeypatch: pytest.MonkeyPatch) -> ProvisionedStack:
    stack = provision(runner_template)
    for name, value in stack.environment.items():
        monkeypatch.setenv(name, value)
    return stack


@pytest.fixture
def runner(runner_stack: ProvisionedStack) -> Iterator[Runner]:
    with Runner(runner_stack.template, runner_stack, api_port=0, api_key=API_KEY, speedup=SPEEDUP) as started:
        yield started


@pytest.fixture(scope="module")
def api_runner(aws_endpoint: str, runner_template: Template) -> Iterator[Runner]:
    """One runner for a whole module of HTTP-only tests: stopping a runner costs a long-poll (1 s).

    Nothing else resets the embedded AWS while the module runs, so its queues stay in place.
    """
    requests.post(f"{aws_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    with pytest.MonkeyPatch.context() as monkeypatch:
        stack = provision(runner_template)
        for name, value in stack.environment.items():
            monkeypatch.setenv(name, value)
        with Runner(runner_template, stack, api_port=0, api_key=API_KEY, speedup=SPEEDUP) as started:
            yield started


@pytest.fixture
def sqs(aws: str) -> Any:
    return boto3.client("sqs")


Observation = dict[str, Any]
WaitForObservations = Callable[[Callable[[list[Observation]], bool]], list[Observation]]


@pytest.fixture
def observations(sqs: Any, runner_stack: ProvisionedStack) -> WaitForObservations:
    """Reads what the fixture handlers reported until the given predicate is satisfied (10 s at most)."""
    url = runner_stack.ref("ObservationsQueue")

    def wait_until(enough: Callable[[list[Observation]], bool]) -> list[Observation]:
        seen: list[Observation] = []
        deadline = time.monotonic() + 10
        while not enough(seen):
            assert time.monotonic() < deadline, f"timed out; observed so far: {seen}"
            response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in response.get("Messages", []):
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return seen

    return wait_until
