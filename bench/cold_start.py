"""Cold import time of each handler: `python -X importtime` in a fresh interpreter, median of runs.

Figures: cold_import_<function>_ms, the total self+children time of the handler module's imports,
measured as Lambda would pay it on a cold start (without the runtime's own bootstrap).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from infrastructure.template import load_template

RUNS = 7
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "TABLE_NAME": "bench",
    "STOCK_QUEUE_URL": "http://127.0.0.1:1/queue/bench",
    "POWERTOOLS_SERVICE_NAME": "stocksync",
    "POWERTOOLS_METRICS_NAMESPACE": "StockSync",
}


def import_ms(source: str) -> float:
    """Milliseconds spent importing the handler file `source` and everything it pulls in."""
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('handler', {source!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
    )
    baseline = _importtime(["-c", "pass"])
    return max(_importtime(["-c", script]) - baseline, 0.0)


def _importtime(arguments: list[str]) -> float:
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-X", "importtime", *arguments],
        capture_output=True, text=True, check=True, env=ENVIRONMENT,
    )
    total_us = 0
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if not name.removeprefix(" ").startswith(" "):  # top level: its cumulative covers its children
            total_us += int(cumulative)
    return total_us / 1000


def measure() -> dict[str, float]:
    figures = {}
    for function in load_template().functions():
        source = str(function.code_uri / (function.handler.rpartition(".")[0] + ".py"))
        runs = [import_ms(source) for _ in range(RUNS)]
        figures[f"cold_import_{function.logical_id}_ms"] = round(statistics.median(runs), 1)
    return figures
