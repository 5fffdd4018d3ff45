"""The local stack, started as `make run` starts it, in a subprocess; tests talk to it over HTTP.

Schedules run SCHEDULE_SPEEDUP times faster than on AWS (STOCKSYNC_SCHEDULE_SPEEDUP), so the
demo channels' catalogues load, link and sync within seconds: the 5-minute report poller every
1.25 s, Rakuten's 30-minute retrieval every 7.5 s, the 15-minute scheduled stock sync every 3.75 s.
The stand-ins' URLs, by name, come from the stack's READY line (`StackProcess.standins`), which the
stack prints once the demo seller can sell (`infrastructure.demo_seller.DemoReadiness`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.local.harness import StackProcess, StackStartError

START_TIMEOUT_S = 240  # the READY line comes once the demo seller can sell (Mirakl: an offers update a minute)
# A stop waits for the invocations in flight (a scheduled sync run retrying a failing stand-in can
# take a while); only a stack that never stops fails the run.
STOP_TIMEOUT_S = 60
SCHEDULE_SPEEDUP = 240


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`, as `make test` runs) every e2e test runs on one worker,
    so the session's stack starts once while the other worker runs the rest of the suite."""
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.xdist_group("local_stack"))


@pytest.fixture(scope="session")
def local_stack() -> Iterator[StackProcess]:
    try:
        stack = StackProcess({"STOCKSYNC_API_KEY": "e2e-key", "STOCKSYNC_SCHEDULE_SPEEDUP": str(SCHEDULE_SPEEDUP)},
                             start_timeout_s=START_TIMEOUT_S)
    except StackStartError as exc:
        pytest.fail(str(exc))
    yield stack
    if not stack.stop(STOP_TIMEOUT_S):
        pytest.fail(f"the local stack did not stop within {STOP_TIMEOUT_S} s")
