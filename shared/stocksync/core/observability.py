"""Logger, Tracer and Metrics, created once and configured by POWERTOOLS_* variables.

Lambda's active tracing (template.yaml `Tracing: Active`) records every invocation as an X-Ray
segment (initialization, invocation, overhead) and links it to API Gateway and SQS, with no code of
ours. Powertools' Tracer adds a subsegment per AWS and HTTP call, but it imports the X-Ray SDK, which
builds botocore clients for sampling: about 100-170 ms of every cold start (`make bench`). So the
Tracer is built only where detailed tracing is asked for (the `DetailedTracing` parameter of the
stack, which sets POWERTOOLS_TRACE_DISABLED=false); elsewhere the handlers' decorator is a no-op.

Business metrics (`publish`) are CloudWatch embedded-metric-format log lines, in the namespace
POWERTOOLS_METRICS_NAMESPACE: no API call, no latency. Their names are the `METRIC_*` constants below;
the template's dashboard and alarms read them. A dimension is only ever the channel type (a handful of
values), never a channel, listing or SKU: each dimension value is a metric CloudWatch bills.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

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


# Metric names (template.yaml's dashboard and alarms use the same).
METRIC_LISTINGS_SUBMITTED = "ListingsSubmitted"
METRIC_SUBMISSION_ERRORS = "SubmissionErrors"
METRIC_SUBMISSION_SECONDS = "SubmissionSeconds"
METRIC_CHANGE_TO_SUBMISSION_SECONDS = "ChangeToSubmissionSeconds"  # queued stock change -> channel answer
METRIC_CHANNEL_THROTTLED = "ChannelThrottled"
METRIC_CHANNEL_AUTH_FAILURES = "ChannelAuthFailures"
METRIC_CATALOGUE_ROWS_LOADED = "CatalogueRowsLoaded"


def publish(name: str, value: float, unit: MetricUnit = MetricUnit.Count, *, channel_type: str | None = None) -> None:
    """One business metric. Without a channel type it joins the invocation's metric set (flushed by
    the handler's `metrics.log_metrics`); with one it is written at once with that dimension alone,
    so metrics of different channel types never share (or overwrite) a dimension set."""
    if channel_type is None:
        metrics.add_metric(name=name, unit=unit, value=value)
        return
    with single_metric(name=name, unit=unit, value=value, namespace=metrics.namespace,
                       default_dimensions={"channel_type": channel_type}):
        pass


logger = Logger()
tracer = _tracer()
metrics = Metrics()
