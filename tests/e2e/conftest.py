"""The local stack, started as `make run` starts it, in a subprocess; tests talk to it over HTTP.

Schedules run SCHEDULE_SPEEDUP times faster than on AWS (STOCKSYNC_SCHEDULE_SPEEDUP), so the
demo channels' catalogues load, link and sync within seconds: the 5-minute report poller every
1.25 s, Rakuten's 30-minute retrieval every 7.5 s, the 15-minute scheduled stock sync every 3.75 s.
The stand-ins' URLs, by name, are read from the banner (`LocalStack.standins`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).parents[2]
READY = "STOCKSYNC_READY "
START_TIMEOUT_S = 90
# A stop waits for the invocations in flight (a scheduled sync run retrying a failing stand-in can
# take a while); only a stack that never stops fails the run.
STOP_TIMEOUT_S = 60
SCHEDULE_SPEEDUP = 240
_STANDIN_LINE = re.compile(r"^\s+(\w+)\s+(http://\S+)\s+\(stand-in\)$")


@dataclass(frozen=True)
class LocalStack:
    api_url: str
    aws_endpoint: str
    api_key: str
    output: list[str]
    standins: dict[str, str] = field(default_factory=dict)  # name -> base URL, from the banner

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["x-api-key"] = self.api_key
        return session


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    env = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    env.update(STOCKSYNC_API_PORT="0", STOCKSYNC_AWS_PORT="0", STOCKSYNC_API_KEY="e2e-key", PYTHONUNBUFFERED="1",
               STOCKSYNC_SCHEDULE_SPEEDUP=str(SCHEDULE_SPEEDUP))
    process = subprocess.Popen(
        [sys.executable, "-m", "infrastructure.local_stack"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    ready: dict[str, str] = {}
    started = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip())
            if line.startswith(READY):
                ready.update(json.loads(line.removeprefix(READY)))
                started.set()
        started.set()

    threading.Thread(target=read, daemon=True).start()
    started.wait(START_TIMEOUT_S)
    if not ready:
        process.kill()
        pytest.fail("the local stack did not start:\n" + "\n".join(output[-40:]))
    standins = {m[1]: m[2] for line in list(output) if (m := _STANDIN_LINE.match(line))}
    yield LocalStack(ready["api_url"], ready["aws_endpoint"], ready["api_key"], output, standins)
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
