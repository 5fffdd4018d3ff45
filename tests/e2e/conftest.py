"""The local stack, started as `make run` starts it, in a subprocess; tests talk to it over HTTP.

Schedules run SCHEDULE_SPEEDUP times faster than on AWS (STOCKSYNC_SCHEDULE_SPEEDUP), so the
demo channels' catalogues load, link and sync within seconds: the 5-minute report poller and the
one-minute order poller every 2 s (the runner's floor), Rakuten's 30-minute retrieval every 7.5 s, the
15-minute scheduled stock sync every 3.75 s.
The stand-ins' URLs, by name, come from the stack's READY line (`StackProcess.standins`), which the
stack prints once the demo seller can sell (`infrastructure.demo_seller.DemoReadiness`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infrastructure.local.harness import StackProcess, StackStartError

# A stop waits for the invocations in flight (a scheduled sync run retrying a failing stand-in can
# take a while); only a stack that never stops fails the run.
STOP_TIMEOUT_S = 60
SCHEDULE_SPEEDUP = 240


# The module that starts a fresh stack of its own (as a newcomer's `make run`) comes first: alone, before
# the shared stack starts; under `make test`'s two workers, on the other worker while the shared one starts
# (tests/conftest.py's scheduler), so its real-speed wait does not lengthen the shared stack's run.
OWN_STACK_FIRST = "test_first_ten_minutes.py"
_running: list[StackProcess] = []  # this process's shared stack while it runs


def _is_e2e(item: pytest.Item | None) -> bool:
    return item is not None and item.path.is_relative_to(Path(__file__).parent)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not (_is_e2e(item) and item.path.name == OWN_STACK_FIRST))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """`make test` hands the modules sharing the stack to one worker, together (tests/conftest.py): when
    this worker's next test is not an e2e one, they are done, and the shared stack stops rather than keep
    a core busy with its sped-up schedules while the rest of the suite runs. A later e2e module (run on
    its own) starts it again."""
    yield  # the module's own fixtures are torn down first: their clean-up may still call the stack
    if _is_e2e(item) and not _is_e2e(nextitem) and _running:
        _stop(_running.pop())


def pytest_sessionfinish() -> None:
    while _running:
        _stop(_running.pop())


@pytest.fixture(scope="module")
def local_stack() -> StackProcess:
    """The shared stack, started by the first module that needs it (and again after a pause)."""
    if not _running:
        try:
            _running.append(StackProcess({"STOCKSYNC_API_KEY": "e2e-key",
                                          "STOCKSYNC_SCHEDULE_SPEEDUP": str(SCHEDULE_SPEEDUP)}))
        except StackStartError as exc:
            pytest.fail(str(exc))
    return _running[0]


def _stop(stack: StackProcess) -> None:
    if not stack.stop(STOP_TIMEOUT_S):
        pytest.fail(f"the local stack did not stop within {STOP_TIMEOUT_S} s")


# The browser tests drive Debian's chromium: Playwright's own browser download is not reachable here.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments, with the chromium found on PATH (a test fails without one)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("no chromium on PATH: the browser tests need Debian's (make test installs it: "
                    "apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": chromium, "headless": True, "args": CHROMIUM_ARGS}
