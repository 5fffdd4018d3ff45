"""`make bench`: measures stocksync on this machine and writes bench/results.json."""

# What the in-process benchmarks run the handlers with: no X-Ray, quiet logs, metrics of their own.
HANDLER_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
}
