"""`make bench`: measures stocksync on this machine and writes bench/results.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# What the in-process benchmarks run the handlers with: no X-Ray, quiet logs, metrics of their own.
HANDLER_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
}

ROOT = Path(__file__).parents[1]
RESULT_MARKER = "BENCH_RESULT "


def measure_apart(module: str, timeout_s: float) -> dict[str, float]:
    """Run `python -m module` in a fresh process and read the figures it prints (`print_figures`):
    its seeded records and process-wide caches never reach the other benchmarks."""
    env = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    done = subprocess.run([sys.executable, "-m", module], cwd=ROOT, env=env, stdout=subprocess.PIPE,  # noqa: S603
                          text=True, timeout=timeout_s, check=True)
    line = next(line for line in reversed(done.stdout.splitlines()) if line.startswith(RESULT_MARKER))
    return json.loads(line.removeprefix(RESULT_MARKER))


def print_figures(figures: dict[str, float]) -> None:
    """The last line of a module run by `measure_apart`."""
    print(RESULT_MARKER + json.dumps(figures), flush=True)
