"""Run the benchmarks, print a table, write bench/results.json: one flat object of named figures,
and `failed_modules` (module -> why) while a module's last run failed.

`python -m bench` runs every benchmark (about 40 minutes here, most of it moto serving 100,000-record
loads); `python -m bench mapping` (or several names) runs those and keeps the other figures. A module
that fails or times out is reported, its previous figures are kept and its failure is recorded, and
the others still run and are written; the command then exits 1. Its waits and time limits are set
for an idle 2-core machine and are as many times longer as the machine is slower now (`bench_pace`,
measured at the start: bench/__init__.py).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import traceback
import warnings
from pathlib import Path

from bench import machine_pace

RESULTS = Path(__file__).parent / "results.json"
FAILED = "failed_modules"
DEFAULT = ("cold_start", "ingest", "mapping", "stock_sync", "day_cost", "orders", "faults", "console")


def main(names: list[str]) -> None:
    # The table is the output: moto's request lines, handler logs and empty-metrics warnings are noise.
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    figures: dict[str, float] = {}
    failed: dict[str, str] = {}
    run = names or list(DEFAULT)
    figures["bench_pace"] = machine_pace()  # how much longer than on an idle 2-core machine the waits were
    for name in run:
        try:
            figures.update(importlib.import_module(f"bench.{name}").measure())
        except Exception as exc:  # one module failing (or timing out) must not lose the others' figures
            traceback.print_exc()
            failed[name] = f"{type(exc).__name__}: {exc}"[:500]
    width = max(map(len, figures), default=6)
    print(f"{'figure'.ljust(width)}  value")
    for name, value in figures.items():
        print(f"{name.ljust(width)}  {value}")
    # What was not measured this time (a partial run, a failed module) keeps its last figures.
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() and (names or failed) else {}
    still_failed = {name: why for name, why in previous.pop(FAILED, {}).items() if name not in run} | failed
    written = previous | figures | ({FAILED: still_failed} if still_failed else {})
    RESULTS.write_text(json.dumps(written, indent=2, sort_keys=True) + "\n")
    print(f"\nwritten to {RESULTS}")
    if failed:
        print(f"failed: {', '.join(failed)} (their previous figures, if any, are kept; why: {FAILED} in "
              f"{RESULTS.name})", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
