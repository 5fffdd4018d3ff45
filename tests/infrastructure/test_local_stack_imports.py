"""The local stack sets the functions' environment (Powertools' metric namespace among it) only once
the embedded AWS is provisioned, so nothing it imports before that may build the layer's observability:
its Metrics would have no namespace and every function would fail ('Must contain a metric namespace')."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_given_no_function_environment_when_the_local_stack_is_imported_then_observability_is_not_built_yet():
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    probe = "import sys, infrastructure.local_stack; print('stocksync.core.observability' in sys.modules)"

    answer = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=environment, capture_output=True,  # noqa: S603 - our own interpreter, a fixed probe
                            text=True, timeout=120, check=True)

    assert answer.stdout.strip() == "False", answer.stderr
