"""`make bench`: measures stocksync on this machine and writes bench/results.json."""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# What the in-process benchmarks run the handlers with: no X-Ray, quiet logs, metrics of their own.
HANDLER_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
}

ROOT = Path(__file__).parents[1]
RESULT_MARKER = "BENCH_RESULT "
PACE_VARIABLE = "BENCH_PACE"
# The bench's waits and time limits are set for an idle 2-core machine, on which PACE_WORK takes
# about PACE_REFERENCE_S (median of PACE_TRIES). A busier or slower machine gets them as many times longer.
PACE_REFERENCE_S, PACE_TRIES = 0.26, 5


def _pace_work() -> None:
    """Interpreter work of the kind the bench's processes do: hashing, JSON, sorting, dicts."""
    rows = [{"sku": f"SKU-{n:07d}", "quantity": n % 50, "title": f"Widget {n}"} for n in range(100_000)]
    text = json.dumps(sorted(rows, key=lambda row: hashlib.blake2b(row["sku"].encode(), digest_size=8).digest()))
    json.loads(text)


def machine_pace() -> float:
    """How many times slower than an idle 2-core machine this one runs now (at least 1): measured once
    per bench (the first module's process asks, the others read it from the environment)."""
    if PACE_VARIABLE not in os.environ:
        tries = []
        for _ in range(PACE_TRIES):
            started = time.perf_counter()
            _pace_work()
            tries.append(time.perf_counter() - started)
        os.environ[PACE_VARIABLE] = f"{max(1.0, statistics.median(tries) / PACE_REFERENCE_S):.2f}"
    return float(os.environ[PACE_VARIABLE])


def paced(seconds: float) -> float:
    """A wait or a time limit of the bench, as long as this machine needs (`machine_pace`)."""
    return seconds * machine_pace()


def measure_apart(module: str, timeout_s: float) -> dict[str, float]:
    """Run `python -m module` in a fresh process and read the figures it prints (`print_figures`):
    its seeded records and process-wide caches never reach the other benchmarks. `timeout_s` is paced."""
    machine_pace()  # the module's process waits at the pace measured here
    env = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    done = subprocess.run([sys.executable, "-m", module], cwd=ROOT, env=env, stdout=subprocess.PIPE,  # noqa: S603
                          text=True, timeout=paced(timeout_s), check=True)
    line = next(line for line in reversed(done.stdout.splitlines()) if line.startswith(RESULT_MARKER))
    return json.loads(line.removeprefix(RESULT_MARKER))


def print_figures(figures: dict[str, float]) -> None:
    """The last line of a module run by `measure_apart`."""
    print(RESULT_MARKER + json.dumps(figures), flush=True)
