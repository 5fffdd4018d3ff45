"""Catalogue ingestion figures.

ingest_1m_rows_per_s    parse + validate + diff of a generated 1,000,000-row Cp1252 gzip Amazon report
                        (staged runs on local disk, each partition diffed against the same catalogue
                        already loaded, read from a sorted file standing in for the table), rows per
                        CPU second of the measuring process (so a busy machine does not skew it)
ingest_1m_peak_rss_mb   peak RSS of that run, measured in a fresh subprocess (VmHWM)
ingest_reload_writes    listings written when the same 100,000-row file is loaded again on the local stack
ingest_100k_end_to_end_s  upload of a 100,000-row report -> listings in the table, local stack with the runner
                        (in a fresh process: the embedded AWS, and of the functions only the ingest and the API)
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import measure_apart, paced, print_figures

STACK_TIMEOUT_S = 1200  # two 100,000-row loads on the embedded AWS

HEADER = ("item-name\titem-description\tlisting-id\tseller-sku\tprice\tquantity\topen-date\tproduct-id-type\t"
          "asin1\tproduct-id\tfulfillment-channel\tstatus\n")


def amazon_report(rows: int) -> bytes:
    """A gzip Cp1252 GET_MERCHANT_LISTINGS_ALL_DATA report; every 10th listing is FBA."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as gz, io.TextIOWrapper(gz, encoding="cp1252") as text:
        text.write(HEADER)
        for i in range(rows):
            fba = i % 10 == 0
            text.write(f"Caf\u00e9 widget n\u00b0{i} (black)\t\t{i:010d}AB\tSKU-{i:07d}\t{i % 997}.99\t"
                       f"{'' if fba else i % 50}\t01/02/2024 10:12:40 GMT\t4\tB0{i:08d}\t50{i:011d}\t"
                       f"{'AMAZON_EU' if fba else 'DEFAULT'}\tActive\n")
    return out.getvalue()


def _stored_listings(report_path: str, directory: str) -> dict:
    """The listings table once `report_path` is loaded, as the diff reads it: (key, catalogue fields,
    removed, linked item, submitted quantity, ignore sync) in SKU-key order, staged as one run in
    `directory`. A stand-in for the table's query, written before the clock starts."""
    from stocksync.catalogue import staging
    from stocksync.catalogue.reader import KEY, SKU, RangeReport, decompressed, parse_rows, sniff

    with open(report_path, "rb") as stream:
        plan = sniff(stream)
    with open(report_path, "rb") as stream:
        body, _ = decompressed(stream)
        body.read(plan.body_offset)
        stored = ((row[KEY], row[SKU:], False, None, None, False)
                  for row in parse_rows(body, plan, RangeReport()))
        (run,) = staging.write_runs(stored, staging.DirectoryRunStore(Path(directory)), "stored", 10**9)
    return run.as_dict()


def _cpu_run(path: str, stored_directory: str, stored_run: dict) -> dict[str, float]:
    """What the loader does with a file, one invocation after the other: read it into sorted runs,
    validate the merged runs, then diff each partition against the stored listings."""
    from stocksync.catalogue import staging
    from stocksync.catalogue.diff import SAME, Current, diff
    from stocksync.catalogue.load import LoadConfig
    from stocksync.catalogue.reader import RangeReport, decompressed, parse_rows, sniff

    config = LoadConfig()
    table, listings = staging.DirectoryRunStore(Path(stored_directory)), staging.Run.of(stored_run)
    started = time.process_time()  # CPU seconds of this process: other work on the machine does not count
    with open(path, "rb") as stream:
        plan = sniff(stream)
    writes = 0
    with tempfile.TemporaryDirectory() as directory:
        store = staging.DirectoryRunStore(Path(directory))
        report = RangeReport()
        with open(path, "rb") as stream:
            body, _ = decompressed(stream)
            body.read(plan.body_offset)
            runs = staging.write_runs(parse_rows(body, plan, report), store, "r-", config.run_rows)
        checked = staging.validate_sorted(staging.merged(runs, store), config.rows_per_partition)
        assert report.error_count == 0 and checked.duplicate_count == 0
        edges = [None, *checked.bounds, None]
        for low, high in itertools.pairwise(edges):
            stored = map(Current._make, staging.read_run(listings, table, low, high))
            changes = diff(staging.merged(runs, store, low, high), stored)
            writes += sum(1 for change in changes if change.kind != SAME)
    elapsed = time.process_time() - started
    return {"rows": checked.rows, "seconds": elapsed, "writes": writes, "partitions": len(edges) - 1,
            "peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: a child started by vfork + exec inherits its
    parent's peak there, and the parent holds the generated report and the table stand-in."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def cpu_figures(rows: int = 1_000_000) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "report.tsv.gz")
        Path(path).write_bytes(amazon_report(rows))
        stored = _stored_listings(path, directory)
        code = (f"import json; from bench.ingest import _cpu_run; "
                f"print(json.dumps(_cpu_run({path!r}, {directory!r}, {stored!r})))")
        completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
        result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["rows"] == rows and result["writes"] == 0
    return {"ingest_1m_rows_per_s": round(result["rows"] / result["seconds"]),
            "ingest_1m_peak_rss_mb": round(result["peak_rss_mb"], 1)}


def stack_figures(rows: int = 100_000) -> dict[str, float]:
    """Upload to the bucket of a local stack with its runner playing the ingest queue; wait for the table."""
    import boto3
    import requests

    from bench import HANDLER_ENVIRONMENT
    from infrastructure.local.harness import embedded_stack
    from infrastructure.local.runner import Runner

    with embedded_stack(HANDLER_ENVIRONMENT | {"AWS_DEFAULT_REGION": "eu-west-1"}) as stack:
        from stocksync.wiring import wiring

        wiring.cache_clear()  # built again from this stack's environment
        runner = Runner(stack.template, stack, api_port=0, api_key="bench")
        # Only what the path upload -> listings involves runs: the ingest queue's function and the API.
        # The auto mapper (which reads every new listing after a load) and the schedules would compete
        # for the one embedded AWS in this process; they have benchmarks of their own.
        runner.sqs_sources = [source for source in runner.sqs_sources
                              if source.function.logical_id == "CatalogueIngestFunction"]
        runner.schedules = []
        with runner:
            api = runner.api_url
            channel = requests.post(f"{api}/channels", json={"name": "Bench", "type": "amazon", "settings": {}},
                                    headers={"x-api-key": "bench"}, timeout=30).json()["channel_id"]
            data = amazon_report(rows)
            s3 = boto3.client("s3")
            bucket = stack.ref("CatalogueBucket")

            def load(name: str) -> dict:
                before = _last_load(api, channel)
                started = time.perf_counter()
                s3.put_object(Bucket=bucket, Key=f"catalogues/{channel}/amazon_merchant_listings/{name}", Body=data)
                while True:
                    status = _last_load(api, channel)
                    if status.get("load_id") != before.get("load_id") and status.get("status") in (
                            "succeeded", "failed", "superseded"):
                        return status | {"seconds": time.perf_counter() - started}
                    if time.perf_counter() - started > paced(600):
                        raise TimeoutError(f"the load did not finish in {paced(600):.0f} s")
                    time.sleep(0.5)

            first = load("first.tsv.gz")
            second = load("again.tsv.gz")
            assert first["status"] == "succeeded", first
            assert second["status"] == "succeeded", second
    return {"ingest_100k_end_to_end_s": round(first["seconds"], 1),
            "ingest_reload_writes": int(second["counts"]["written"])}


def _last_load(api: str, channel: str) -> dict:
    import requests

    answer = requests.get(f"{api}/channels/{channel}/catalogue", headers={"x-api-key": "bench"}, timeout=30)
    answer.raise_for_status()
    return answer.json()["last_load"]


def measure() -> dict[str, float]:
    """The stack's figures in a fresh process: the handlers there read their environment (the metrics
    namespace among it) when first imported, which an earlier module may already have done here."""
    return cpu_figures() | measure_apart("bench.ingest", STACK_TIMEOUT_S)


if __name__ == "__main__":
    print_figures(stack_figures())
