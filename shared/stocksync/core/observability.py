"""Logger, Tracer and Metrics, created once and configured by POWERTOOLS_* variables.

Lambda's active tracing (template.yaml `Tracing: Active`) records every invocation as an X-Ray
segment (initialization, invocation, overhead) and links it to API Gateway and SQS, with no code of
ours. Powertools' Tracer adds a subsegment per AWS and HTTP call, but it imports the X-Ray SDK, which
builds botocore clients for sampling: about 100-170 ms of every cold start (`make bench`). So the
Tracer is built only where detailed tracing is asked for (the `DetailedTracing` parameter of the
stack, which sets POWERTOOLS_TRACE_DISABLED=false); elsewhere the handlers' decorator is a no-op.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

F = TypeVar("F", bound=Callable[..., Any])


class UntracedCalls:
    """Stands in for Powertools' Tracer when detailed tracing is off: the invocation is still traced
    by Lambda itself, the calls inside it are not."""

    @staticmethod
    def capture_lambda_handler(handler: F) -> F:
        return handler


def _tracer() -> Any:
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").strip().lower() in {"true", "1"}:
        return UntracedCalls()
    from aws_lambda_powertools import Tracer

    return Tracer()


logger = Logger()
tracer = _tracer()
metrics = Metrics()
