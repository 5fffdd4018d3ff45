"""Run the benchmarks, print a table, write bench/results.json (one flat object of named figures).

`python -m bench` runs every benchmark (about 20 minutes here, most of it moto serving 100,000-record
loads); `python -m bench mapping` (or several names) runs those and keeps the other figures.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import warnings
from pathlib import Path

RESULTS = Path(__file__).parent / "results.json"
DEFAULT = ("cold_start", "ingest", "mapping", "stock_sync", "orders")


def main(names: list[str]) -> None:
    # The table is the output: moto's request lines, handler logs and empty-metrics warnings are noise.
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    figures: dict[str, float] = {}
    for name in names or DEFAULT:
        figures.update(importlib.import_module(f"bench.{name}").measure())
    width = max(map(len, figures))
    print(f"{'figure'.ljust(width)}  value")
    for name, value in figures.items():
        print(f"{name.ljust(width)}  {value}")
    # A partial run (`python -m bench mapping`) refreshes its own figures and keeps the others.
    previous = json.loads(RESULTS.read_text()) if names and RESULTS.exists() else {}
    RESULTS.write_text(json.dumps(previous | figures, indent=2, sort_keys=True) + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main(sys.argv[1:])
