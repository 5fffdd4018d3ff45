"""Cold start of each handler: the wall time of importing its module in a fresh interpreter, given
exactly the environment its template.yaml entry gives it (so the wiring's settings are read and the
table bound, as on a cold start), median of RUNS. The interpreter's own start-up is not counted, as
Lambda's runtime bootstrap is not ours.

Figures: cold_import_<function>_ms for each function; cold_import_max_ms, the slowest handler other
than the API's (goal <= 300); cold_import_api_ms (goal <= 400).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from infrastructure.local.template import load_template
from stocksync.core.settings import BY_FUNCTION

RUNS = 7
API = "ApiFunction"
# What the handler's environment holds besides its own variables, as Lambda and the template set it.
BASE_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_SERVICE_NAME": "stocksync",
    "POWERTOOLS_METRICS_NAMESPACE": "StockSync",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACE_DISABLED": "true",  # the template's default (DetailedTracing=false)
}
_TIMED_IMPORT = """
import importlib.util, json, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({"ms": (time.perf_counter() - started) * 1000}))
"""


def import_ms(source: str, function: str) -> float:
    """Milliseconds from the start of importing the handler file `source` to its module being ready."""
    variables = {name: f"bench-{name.lower()}" for name in BY_FUNCTION[function].variables()}
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _TIMED_IMPORT, source], capture_output=True, text=True, check=True,
        env=BASE_ENVIRONMENT | variables,
    )
    return float(json.loads(completed.stdout.splitlines()[-1])["ms"])


def measure() -> dict[str, float]:
    figures = {}
    for function in load_template().functions():
        source = str(function.code_uri / (function.handler.rpartition(".")[0] + ".py"))
        runs = [import_ms(source, function.logical_id) for _ in range(RUNS)]
        figures[f"cold_import_{function.logical_id}_ms"] = round(statistics.median(runs), 1)
    others = [value for name, value in figures.items() if name != f"cold_import_{API}_ms"]
    figures["cold_import_max_ms"] = max(others)
    figures["cold_import_api_ms"] = figures[f"cold_import_{API}_ms"]
    return figures
