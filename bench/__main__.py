"""Run every benchmark, print a table, write bench/results.json (one flat object of named figures)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import cold_start, ingest, mapping

RESULTS = Path(__file__).parent / "results.json"


def main() -> None:
    figures: dict[str, float] = {}
    figures.update(cold_start.measure())
    figures.update(mapping.measure())
    figures.update(ingest.measure())
    width = max(map(len, figures))
    print(f"{'figure'.ljust(width)}  value")
    for name, value in figures.items():
        print(f"{name.ljust(width)}  {value}")
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
