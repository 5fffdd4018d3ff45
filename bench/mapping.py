"""Auto-link at scale: 100,000 listings against 100,000 items.

Figures:
  autolink_100k_requests  DynamoDB requests the auto-link run made, counted at botocore's client
                          (`BaseClient._make_api_call`, DynamoDB only, whichever client makes them): every
                          Query page, BatchGetItem, TransactWriteItems, UpdateItem of the job, PutItem of
                          the event log, the open orders' re-link Query. SQS calls (the stock-queue
                          messages) are not DynamoDB requests and are not counted. At 100,000: 1,082 =
                          Query 68 (55 pages of listings, ~527-byte records; 12 pages of the SKU claims'
                          GSI1 partition `SKU_CLAIMS`, ~115-byte records; 1 open orders' re-link query),
                          TransactWriteItems 1,011 (99 links and the totals' ADD each; the job's progress
                          rides in them), UpdateItem 2 (job start and finish), PutItem 1 (the event).
  autolink_100k_cpu_s     CPU seconds of the thread that ran `bulk.auto_link` (`time.thread_time()`): our
                          code, pynamodb, botocore's request building and response parsing and the HTTP
                          client. Not counted: moto, which serves each request on threads of its own
                          (the embedded AWS's threaded server, in the same process).
  autolink_100k_seconds   wall-clock seconds of the run, moto's work included (informative only)
  autolink_100k_linked    listings linked (every one should be)

How it runs: `measure()` starts `python -m bench.mapping` in a fresh process so the 300,000 seeded
records and the process-wide caches (settings, boto3 clients, pynamodb connections) never leak into
the other benchmarks of `python -m bench`. That process starts the embedded AWS (the harness's
`embedded_stack()`: moto's threaded server on 127.0.0.1) and provisions template.yaml on it, as the
local stack does. The harness, which is not measured:
  - the channel, its 100,000 listings (half differ from their item's SKU in case and surrounding
    spaces), the 100,000 items and their SKU claims are written straight into moto's DynamoDB backend
    (items serialised by our models, listings as a catalogue load writes them, so every record has
    the size the code writes: the 1 MB Query pages hold as many as they would);
  - then `gc.freeze()`: moto's 300,000 records live in this process, not in the auto-mapper's, and
    its garbage collections need not walk them;
  - moto, in this process only, is made quicker where its own cost would make the run take an hour
    (`make_moto_quicker` in infrastructure/local/embedded_aws.py, same answers): string key comparisons
    and projections without moto's generic paths; Query reads the partition (or the index's entries)
    in key order and pages by bisection instead of sorting the whole table for every page; Query
    answers are written with json.dumps instead of moto's shape-walking serializer;
    TransactWriteItems made only of simple SET/ADD updates are applied directly (conditions parsed
    once per expression by moto's own parser, all checked before anything is applied, any failure
    cancelling the whole transaction with moto's reasons) without re-parsing every expression first
    (any other transaction goes through the embedded AWS's own, which saves and restores only the
    records it touches); the server is asked for HTTP/1.1 keep-alive, as DynamoDB's endpoint does,
    but werkzeug 3 answers every request with "Connection: close": each request opens a connection
    to 127.0.0.1 (a small cost in the measured thread that a real client, keeping its TLS
    connections, would not pay per request).
    None of it is in either figure: moto's work happens on its own threads.
The run itself is the auto-mapper's code path (`bulk.auto_link`, as `handle_mapping_message` calls it
once the job exists), talking HTTP to moto through botocore.

Set BENCH_AUTOLINK_N to run a smaller size (the figure names keep "100k").
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time

from bench import HANDLER_ENVIRONMENT, measure_apart, print_figures
from bench.seeding import counting_dynamodb_requests, items_and_listings, moto_table

N = int(os.environ.get("BENCH_AUTOLINK_N", "100000"))
TIMEOUT_S = 1200


def measure() -> dict[str, float]:
    """The figures, measured in a fresh process (see the module docstring)."""
    return measure_apart("bench.mapping", TIMEOUT_S)


def _measure_here() -> dict[str, float]:
    from infrastructure.local.harness import embedded_stack

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with embedded_stack(HANDLER_ENVIRONMENT, quicker=True):
        from stocksync.channels.store import ChannelInput
        from stocksync.channels.types import ChannelType
        from stocksync.core.settings import ApiSettings
        from stocksync.mapping.bulk import AUTO_LINK_JOB, auto_link
        from stocksync.mapping.store import recount
        from stocksync.wiring import wiring

        wiring.cache_clear()
        app = wiring(ApiSettings)  # the API's objects: the auto-link job is created there
        mapping = app.mapping
        channel = mapping.channels.create(ChannelInput(name="Bench", type=ChannelType.EBAY))
        seeding = time.perf_counter()
        items_and_listings(moto_table(app.settings.table_name), channel.channel_id, N)
        seeding = time.perf_counter() - seeding
        gc.collect()
        gc.freeze()  # moto's 300,000 records are not the auto-mapper's heap: its collections need not walk them
        job = mapping.jobs.create(AUTO_LINK_JOB, subject=channel.channel_id)
        with counting_dynamodb_requests() as counts:
            wall, cpu = time.perf_counter(), time.thread_time()
            result = auto_link(mapping, channel, job.job_id)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        totals = recount(channel.channel_id)
        status = mapping.totals(channel.channel_id)
        if (int(status.total_linked), int(status.total_unlinked)) != (totals["linked"], totals["unlinked"]):
            raise AssertionError(f"totals drifted: {status.total_linked}/{status.total_unlinked} vs {totals}")
        if totals["linked"] != N or result["linked"] != N:
            raise AssertionError(f"not every listing was linked: {result['linked']} of {N}, recount {totals}")
        print(f"auto-link {N}: seeded in {seeding:.1f} s; requests by operation {dict(counts)}; "
              f"wall {wall:.1f} s", file=sys.stderr)
        return {"autolink_100k_requests": sum(counts.values()), "autolink_100k_cpu_s": round(cpu, 2),
                "autolink_100k_seconds": round(wall, 1), "autolink_100k_linked": result["linked"]}


if __name__ == "__main__":
    print_figures(_measure_here())
