"""What a seller's day costs on AWS, counted, not guessed.

The model seller: 100,000 items; six channels (Amazon, eBay, Magento, Pixmania (Mirakl), Rakuten,
a generic web shop) of 100,000 linked listings each; 5,000 sales a day; each channel's catalogue
reloaded on its schedule; the scheduled stock sync every 15 minutes; the order poller every minute;
one Force Update of one channel; one PIM (Akeneo) run of 10,000 products.

  day_cost_usd               the day at on-demand list prices (us-east-1, PRICES below), the sum of
  day_cost_<part>_usd        scheduled_sync, sales, catalogue_reloads, order_polling, force_update,
                             pim_run, storage, queue_polling (see "the day" below)
  day_dynamodb_rru / _wru    the day's DynamoDB read / write request units
  day_lambda_gb_s            the day's Lambda GB-seconds (all functions), the handlers' durations as on
                             AWS (bench/metering.py: time here less moto's and the stand-ins', plus a
                             generous AWS and marketplace latency per request)
  day_lambda_local_gb_s      the same at this machine's wall time on moto (an upper bound, not priced)
  day_lambda_invocations     the day's Lambda invocations
  day_requests_other         the day's SQS (64 KB chunks), S3 and Parameter Store requests (and any
                             other non-DynamoDB request), queue polling included
  day_cost_10k_usd, day_cost_1k_usd   the same day for a seller of 10,000 / 1,000 items and listings
                             per channel (six channels, sales, the PIM run scaled with the items)

How it is counted (bench/metering.py has the rules): the real handlers run in-process on the embedded
AWS (moto in this process), as bench/stock_sync.py runs them: `embedded_stack(quicker=True)`, the
Runner's functions (never started) invoked with their events, queues fed to their functions the way
the event sources feed them (`drain`). DynamoDB read / write units are computed in moto's backend on
the items read and written (item sizes, 4 KB reads, 1 KB writes, eventual halves, transactions
double, GSI writes); other requests are counted per service and operation at botocore (every client
in the process); Lambda GB-seconds are the handlers' durations as they would be on AWS x their
MemorySize (their wall time here, less what they waited on moto and the stand-ins, plus AWS_REQUEST_S
per AWS request and CHANNEL_CALL_S per channel call, one after the other). Seeding (items, stock, the
stand-ins' catalogues) and set-up (channels, the first catalogue loads, the first sync) are not counted.

The day, measured at two small sizes (SIZES listings per channel, each in a fresh process) and
extrapolated: every quantity of a part (read units, write units, each request kind, each function's
invocations and GB-seconds) is fitted as fixed + per-listing from the two sizes and evaluated at
100,000 (10,000, 1,000), never below zero; except the Lambda duration of a single event (a sale, a
burst, a poller tick with nothing to do: PER_EVENT), which is the mean over the two sizes: it does not
grow with the catalogue (its DynamoDB units, fitted, barely do), and a slope of wall-time noise on this
loaded machine, extrapolated 300-fold, would be noise. Per part:
  scheduled_sync   RUNS (3) consecutive runs 15 minutes apart (the clock advanced between them: the
                   channels' rate budgets refilled, `stocksync.core.db.now` moved on), in a realistic
                   steady state (every listing loaded, linked and submitted through the real path;
                   before each run ERRORS_PER_CHANNEL listings of each channel marked as refused by
                   their channel, as a failed submission leaves them, so each run retries a few).
                   At 100,000 listings a run re-asserts a slice of 5,000 per channel (a twentieth,
                   CYCLE_RUNS), in the jobs worker (more than IN_RUN_PAGE), in bulk
                   calls full to the channel's limit (an Amazon feed, eBay's 25 SKUs, Magento's and
                   Rakuten's 100). Measured at 100 listings a run's slice would be 5: one call per
                   channel, each eBay or Amazon listing alone, in the run itself; a line through two
                   such points gives 100,000 listings as many calls as 100. So the measured runs work
                   as the model's do, on a slice as big as the bench affords: the cycle is one run (the
                   slice is the whole channel), IN_RUN_PAGE and SLICE_JOB_LISTINGS a twentieth too (the
                   model's six slices of 5,000 are one job, the bench's too), and the day is the
                   fitted run at a twentieth of the listings (5,000 for 100,000: the model's slice),
                   x 96. What a run does whatever the channel's size (its due listings, the cycle's
                   state) is in both. Any job the run hands over (the JobsWorkerFunction) is in it.
  sales            Amazon orders placed at the stand-in, delivered by its ORDER_CHANGE notification to
                   the order notification queue, imported by the OrderNotificationsFunction, submitted
                   by the StockSubmitterFunction from the stock queue to the other channels: SINGLES sales
                   one at a time (each alone in its batch, a minute apart for the channels' budgets) and
                   a burst of BURST sales at once. A sale costs (1 - BURST_SHARE) x a single sale +
                   BURST_SHARE x a burst's share, BURST_SHARE = 0.2 (a fifth of a day's sales come in
                   bursts, the rest alone: 5,000 a day is one every 17 s, each in a stock-queue run of
                   its own); x the day's sales (5,000 at 100,000 listings, scaled with them).
                   Orders on the polled channels are imported the same way (the poll that finds them is
                   in order_polling): every sale is priced as an Amazon one.
  catalogue_reloads  a reload of each channel on its own (the clock 12 hours on; the poller's schedule,
                   `rakuten` or `frequent`, ticking until it has the channel's catalogue, the others'
                   not yet due; then the catalogue ingest and the auto-mapper from their queues, and
                   what they queue), x its own reloads a day (RELOADS_A_DAY, from REFRESH_EVERY:
                   Amazon 2, eBay 4, Magento, Pixmania and the web shop 24, Rakuten 48). Each reload is
                   measured RELOAD_TRIES times and the one of fewer GB-seconds kept: its work is the
                   same, and a pause of this machine's (a collection, another process) in one
                   invocation, extrapolated 250-fold, is not the handler's. Pixmania's day is one full
                   OF52 export (Mirakl allows one a day) and 23 of the offers changed since the last:
                   each of those names what an hour of the model's day updates (a fifth of the offers,
                   re-asserted by its four scheduled runs, Mirakl dating an offer updated by every import
                   of it, and its sales'); the Mirakl stand-in keeps the seller's clock. Plus a tick
                   with nothing due x the poller's 288 + 48 ticks a day (the ticks during reloads are
                   counted twice: an upper bound).
  order_polling    POLL_TICKS ticks of the OrderPollerFunction a minute apart (each channel polled at
                   its own cadence, nothing new to import), their mean x 1,440.
  force_update     one Force Update of the Amazon channel (its job, by the JobsWorkerFunction), and the
                   scheduled runs until its feed's outcome is read back onto its 100,000 listings
                   (settle_pending), less as many plain runs (one measured just before: their own work
                   is in scheduled_sync).
  pim_run          the PimSyncFunction's schedule queuing the profile's run and the JobsWorkerFunction
                   running it against the Akeneo stand-in, over PIM_SHARE of the items (10,000 of 100,000),
                   each product updating an existing item.
  storage          the table's items (sizes as billed + 100 bytes each, GSI entries the same) and the
                   S3 objects, measured after the day's activities, a day's share (1/30) of the month;
                   the credentials' parameters in the advanced tier (none: standard ones are free) a
                   day's share of their month.
  queue_polling    not measured, modelled: Lambda's event sources long-poll each of the five SQS queues
                   with five pollers (20 s waits): 5 x 3 a minute x 1,440 = 21,600 ReceiveMessage a
                   queue a day, whatever the traffic (the receives that deliver are in the parts).
Not counted: CloudWatch Logs and metrics (the handlers' log lines and EMF metrics), API Gateway,
Cognito, CloudFront, KMS, data transfer, and the console's own requests.

Prices: us-east-1 on-demand list prices (PRICES), checked on 2026-12-03. The aws.amazon.com pricing
pages render their rates client-side, so they were checked against pages quoting them: DynamoDB
on-demand $0.625 / $0.125 per million WRU / RRU (since 2024-11-01), $0.25 per GB-month; Lambda x86
$0.0000166667 per GB-s and $0.20 per million requests; SQS standard $0.40 per million requests, each
64 KB chunk a request; S3 Standard $0.005 per 1,000 PUT / COPY / POST / LIST, $0.0004 per 1,000 GET
and others, $0.023 per GB-month; Parameter Store standard parameters and their API calls free (standard
throughput), advanced ones $0.05 a month; each SecureString read or write one KMS request, $0.03 per 10,000;
EventBridge scheduled rules free. Free tiers are not deducted.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import measure_apart, print_figures
from bench.metering import Usage, measuring

TIMEOUT_S = 600
SIZES = tuple(int(size) for size in os.environ.get("BENCH_DAY_SIZES", "100,400").split(","))
# What a single event costs (a sale, a poller tick with nothing to do): its Lambda duration is the mean
# over the sizes, not fitted (see the module docstring).
PER_EVENT = ("sale_single", "sale_burst", "order_tick", "report_tick_idle")
MODEL_LISTINGS, SMALLER = 100_000, {"10k": 10_000, "1k": 1_000}
SALES_PER_LISTING = 5_000 / 100_000
PIM_SHARE = 0.1
CHANNELS = 6
RUNS_A_DAY, POLLER_TICKS_A_DAY = 96, 1_440
RELOADS_A_DAY = {"amazon": 2, "ebay": 4, "magento": 24, "pixmania": 24, "generic": 24, "rakuten": 48}  # REFRESH_EVERY
REPORT_TICKS_A_DAY = 288 + 48
QUEUES, POLLERS_PER_QUEUE = 5, 5
CYCLE_RUNS = 20  # stocksync.stock_sync.scheduled.CYCLE_RUNS: a run re-asserts a twentieth of each channel
RUNS, POLL_TICKS, SINGLES, BURST, BURST_SHARE = 3, 6, 4, 20, 0.2
RELOAD_TRIES = 2
SETTLING_RUNS = 4  # scheduled runs a Force Update's feed may take to be read back (the stand-in's polls)
ERRORS_PER_CHANNEL = 2
OPENING_STOCK = 50

# us-east-1 on-demand list prices (DynamoDB on-demand since 2024-11-01), checked 2026-12-03 (docstring).
PRICES = {
    "dynamodb_wru": 0.625 / 1e6,
    "dynamodb_rru": 0.125 / 1e6,
    "dynamodb_gb_month": 0.25,
    "lambda_gb_s": 0.0000166667,  # x86
    "lambda_request": 0.20 / 1e6,
    "sqs_request": 0.40 / 1e6,  # standard queues, per 64 KB chunk
    "s3_put_list": 0.005 / 1000,  # PUT, COPY, POST, LIST
    "s3_get": 0.0004 / 1000,  # GET and every other request
    "s3_gb_month": 0.023,
    "kms_request": 0.03 / 10_000,  # a SecureString parameter's decryption or encryption
    "advanced_parameter_month": 0.05,
}
S3_PUT_LIST = ("PutObject", "CopyObject", "PostObject", "CreateMultipartUpload", "UploadPart",
               "CompleteMultipartUpload", "ListObjects", "ListObjectsV2", "ListBuckets")
S3_FREE = ("DeleteObject", "DeleteObjects")
SECURE_STRING_OPERATIONS = ("GetParameter", "GetParameters", "PutParameter")
DAYS_A_MONTH = 30


def measure() -> dict[str, float]:
    """Each size in a fresh process (the module run with BENCH_DAY_SIZE), then the day extrapolated."""
    measured = {}
    for size in SIZES:
        os.environ["BENCH_DAY_SIZE"] = str(size)
        try:
            measured[size] = measure_apart("bench.day_cost", TIMEOUT_S)
        finally:
            del os.environ["BENCH_DAY_SIZE"]
    return day_figures(measured)


# --- the day from the measured sizes ------------------------------------------------------------

def day_figures(measured: dict[int, dict[str, Any]]) -> dict[str, float]:
    days = {name: _day(measured, listings) for name, listings in {"": MODEL_LISTINGS, **SMALLER}.items()}
    model = days[""]
    figures: dict[str, float] = {"day_cost_usd": round(sum(cost(usage) for usage in model.values()), 4)}
    total = Usage.total(model.values())
    figures |= {
        "day_dynamodb_rru": round(total.rru),
        "day_dynamodb_wru": round(total.wru),
        "day_lambda_gb_s": round(sum(total.gb_s.values()), 1),
        "day_lambda_local_gb_s": round(sum(total.local_gb_s.values()), 1),
        "day_lambda_invocations": round(sum(total.invocations.values())),
        "day_requests_other": round(sum(count for name, count in total.requests.items()
                                        if not name.startswith("dynamodb.") and not name.startswith("storage."))),
    }
    figures |= {f"day_cost_{part}_usd": round(cost(usage), 4) for part, usage in model.items()}
    figures |= {f"day_cost_{name}_usd": round(sum(cost(usage) for usage in day.values()), 4)
                for name, day in days.items() if name}
    _print_table(days)
    return figures


def _day(measured: dict[int, dict[str, Any]], listings: int) -> dict[str, Usage]:
    """The day's usage per part for a seller of `listings` listings per channel."""
    at = {name: _fitted(measured, name, listings) for name in next(iter(measured.values()))}
    sales = SALES_PER_LISTING * listings
    sale = at["sale_single"].scaled(1 - BURST_SHARE).plus(at["sale_burst"], BURST_SHARE / BURST)
    scheduled = _fitted(measured, "sync_run", listings / CYCLE_RUNS).scaled(RUNS_A_DAY)
    return {
        "scheduled_sync": scheduled,
        "sales": sale.scaled(sales),
        "catalogue_reloads": Usage.total(at[f"reload_{kind}"].scaled(times) for kind, times in RELOADS_A_DAY.items())
        .plus(at["report_tick_idle"], REPORT_TICKS_A_DAY),
        "order_polling": at["order_tick"].scaled(POLLER_TICKS_A_DAY),
        "force_update": at["force_update"],
        "pim_run": at["pim_run"],
        "storage": at["storage"],
        "queue_polling": Usage(requests={"sqs.ReceiveMessage (idle polling)":
                                         QUEUES * POLLERS_PER_QUEUE * 3 * 60 * 24}),
    }


def _fitted(measured: dict[int, dict[str, Any]], name: str, listings: int) -> Usage:
    """Fixed + per-listing through the two sizes, at `listings` (each quantity at least zero)."""
    (small, low), (large, high) = sorted((size, Usage.from_dict(parts[name])) for size, parts in measured.items())
    slope = (listings - small) / (large - small)

    def line(a: float, b: float) -> float:
        return max(0.0, a + (b - a) * slope)

    def lines(a: Any, b: Any) -> Any:
        return type(a)({key: line(a.get(key, 0.0), b.get(key, 0.0)) for key in set(a) | set(b)})

    def durations(a: Counter[str], b: Counter[str]) -> Counter[str]:
        if name in PER_EVENT:
            return Counter({key: (a.get(key, 0.0) + b.get(key, 0.0)) / 2 for key in set(a) | set(b)})
        return lines(a, b)

    return Usage(line(low.rru, high.rru), line(low.wru, high.wru), lines(low.requests, high.requests),
                 lines(low.invocations, high.invocations), durations(low.gb_s, high.gb_s),
                 durations(low.local_gb_s, high.local_gb_s))


def cost(usage: Usage) -> float:
    """The usage at PRICES (storage requests carry bytes for a day: `storage.<kind>` in GB-days)."""
    total = usage.rru * PRICES["dynamodb_rru"] + usage.wru * PRICES["dynamodb_wru"]
    total += sum(usage.gb_s.values()) * PRICES["lambda_gb_s"]
    total += sum(usage.invocations.values()) * PRICES["lambda_request"]
    for name, count in usage.requests.items():
        service, _, operation = name.partition(".")
        if service == "sqs":
            total += count * PRICES["sqs_request"]
        elif service == "s3" and operation not in S3_FREE:
            total += count * PRICES["s3_put_list" if operation in S3_PUT_LIST else "s3_get"]
        elif service == "ssm" and operation in SECURE_STRING_OPERATIONS:
            total += count * PRICES["kms_request"]
        elif name == "storage.dynamodb_gb":
            total += count * PRICES["dynamodb_gb_month"] / DAYS_A_MONTH
        elif name == "storage.s3_gb":
            total += count * PRICES["s3_gb_month"] / DAYS_A_MONTH
        elif name == "storage.advanced_parameters":
            total += count * PRICES["advanced_parameter_month"] / DAYS_A_MONTH
    return total


def _print_table(days: dict[str, dict[str, Usage]]) -> None:
    names = {"": f"{MODEL_LISTINGS:,}", **{name: f"{listings:,}" for name, listings in SMALLER.items()}}
    print("day cost per part (USD), listings per channel: " + ", ".join(names.values()), file=sys.stderr)
    for part in days[""]:
        usage = days[""][part]
        print(f"  {part:<18} " + "  ".join(f"{cost(day[part]):9.4f}" for day in days.values())
              + f"   (100k: {usage.rru:,.0f} RRU, {usage.wru:,.0f} WRU, {sum(usage.gb_s.values()):,.0f} GB-s, "
              f"{sum(usage.invocations.values()):,.0f} invocations)", file=sys.stderr)
    print(f"  {'total':<18} " + "  ".join(f"{sum(cost(u) for u in day.values()):9.4f}" for day in days.values()),
          file=sys.stderr)


# --- one size, measured in this process ---------------------------------------------------------

class _Clock(datetime):
    """`stocksync.core.db`'s datetime: its now() runs `ahead` of the real time."""

    ahead = timedelta(0)

    @classmethod
    def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
        return datetime.now(tz) + cls.ahead


@contextmanager
def _clock_under_our_control() -> Iterator[None]:
    from infrastructure.standins import mirakl
    from stocksync.core import db

    real = db.datetime
    # Mirakl's dates are the seller's too: OF52's differential export names the offers updated since
    # our last one, by our clock, and a full one is allowed once a day of it.
    db.datetime = mirakl.datetime = _Clock  # type: ignore[misc]
    try:
        yield
    finally:
        db.datetime = mirakl.datetime = real  # type: ignore[misc]


class _Seller:
    """The stack, the stand-ins and the seeded seller of one size."""

    def __init__(self, runner: Any, size: int) -> None:
        import boto3

        from bench.seeding import moto_table, put_records, stocked_items
        from bench.stock_sync import standins_for
        from stocksync.core.settings import ApiSettings
        from stocksync.wiring import wiring

        self.runner, self.size = runner, size
        self.app = wiring(ApiSettings)
        self.location = self.app.locations.default().location_id
        self.table = moto_table(self.app.settings.table_name)
        self.sqs = boto3.client("sqs")
        self.items: list[tuple[str, str]] = []
        for item_id, sku, records in stocked_items(size, self.location, OPENING_STOCK):
            put_records(self.table, records)
            self.items.append((item_id, sku))
        self.standins = standins_for([sku for _, sku in self.items])
        self.standins["amazon"].sqs_endpoint_url = os.environ["AWS_ENDPOINT_URL"]  # its ORDER_CHANGE notifications

    def settle(self) -> None:
        """Feed every queue to its function until all are empty (what one queue's function queues
        on another is fed too)."""
        import boto3

        from bench.stock_sync import drain, submitter_source
        from infrastructure.local.event_sources import SqsPoller

        functions = ("OrderNotificationsFunction", "CatalogueIngestFunction", "AutoMapperFunction",
                     "StockSubmitterFunction", "JobsWorkerFunction")
        while True:
            fed = sum(drain(SqsPoller(submitter_source(self.runner, function), boto3.client("sqs"),
                                       threading.Event()), timeout_s=TIMEOUT_S) for function in functions)
            if not fed:
                return

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        return self.runner.functions[function].invoke(event)

    def put_some_in_error(self) -> None:
        """ERRORS_PER_CHANNEL linked listings of each channel as a refused submission leaves them (written
        straight into moto's table, not counted): the next scheduled run retries them."""
        from moto.dynamodb.models.dynamo_type import DynamoType

        from stocksync.channels.base import QuantityStatus
        from stocksync.core.db import LISTING_PREFIX, sync_due_keys

        errored = set()
        for partition in self.table.items.values():
            for item in partition.values():
                channel = item.attrs.get("channel_id")
                if "linked_item_id" in item.attrs and channel is not None and \
                        sum(1 for c in errored if c[0] == channel.value) < ERRORS_PER_CHANNEL:
                    errored.add((channel.value, item.attrs["SK"].value))
                    dict.__setitem__(item.attrs, "update_status", DynamoType({"S": QuantityStatus.ERROR.value}))
                    dict.__setitem__(item.attrs, "update_error", DynamoType({"S": "Refused by the channel"}))
                    due = sync_due_keys(channel.value, item.attrs["SK"].value.removeprefix(LISTING_PREFIX))
                    for name, value in due.items():  # on the index of listings due, as the record puts it
                        dict.__setitem__(item.attrs, name, DynamoType({"S": value}))

    def offers_updated_an_hour(self) -> None:
        """Pixmania's offers an hour of the model's day updates dated now, the others long ago: a fifth
        of them (its four scheduled runs re-assert a twentieth of the channel each, and Mirakl dates an
        offer updated by every import of it) and its sales' (5,000 a day of 100,000 items). The
        bench's own runs re-assert the whole channel at once: they are not the model's hour."""
        mirakl = self.standins["pixmania"]
        share = 4 / CYCLE_RUNS + 5_000 / 24 / 100_000
        now = _Clock.now(UTC)
        with mirakl.lock:
            skus = list(mirakl.last_updated)
            updated = round(share * len(skus))
            mirakl.last_updated.update({sku: now if n < updated else now - timedelta(days=30)
                                        for n, sku in enumerate(skus)})

    def export_asked(self, kind: str) -> str:
        """Which catalogue the channel's last reload asked for: Mirakl's OF52 of the offers changed since
        a date, or the full one (every other channel's)."""
        from infrastructure.standins import mirakl

        if kind != "pixmania":
            return "full"
        asked = [exchange.json() for exchange in self.standins[kind].exchanges
                 if exchange.method == "POST" and exchange.path == mirakl.EXPORT]
        return "changes" if asked and "last_request_date" in asked[-1] else "full"

    def let_time_pass(self, seconds: float) -> None:
        """The clock the handlers read moves on, and the rate budgets refill as they would: our own (the
        buckets in moto's table, aged by as much: the limiter reads the wall clock) and the stand-ins'
        (at least a minute passes: full again)."""
        from moto.dynamodb.models.dynamo_type import DynamoType

        _Clock.ahead += timedelta(seconds=seconds)
        for partition in list(self.table.items.values()):
            for item in list(partition.values()):
                refilled = item.attrs.get("refilled_at")
                if refilled is not None and refilled.type == "N":
                    dict.__setitem__(item.attrs, "refilled_at",
                                     DynamoType({"N": str(float(refilled.value) - seconds)}))
        for standin in self.standins.values():
            standin.budgets_refilled()


def _measure_here(size: int) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from bench import HANDLER_ENVIRONMENT
    from infrastructure.local.harness import embedded_stack
    from infrastructure.local.runner import Runner

    with embedded_stack(HANDLER_ENVIRONMENT, quicker=True) as stack, _clock_under_our_control():
        from stocksync.wiring import wiring

        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        wiring.cache_clear()
        runner = Runner(stack.template, stack, api_port=0, api_key="bench")
        seller = _Seller(runner, size)
        for standin in seller.standins.values():
            standin.start()
        try:
            return _activities(seller)
        finally:
            for standin in seller.standins.values():
                standin.stop()


def _activities(seller: _Seller) -> dict[str, Any]:
    started = time.perf_counter()
    measured: dict[str, Usage] = {}
    channels = _set_up(seller)
    print(f"day cost {seller.size}: set up in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    for name, activity in (("sync", _scheduled_runs), ("orders", _order_ticks), ("sales", _sales),
                           ("reloads", _reloads), ("force", _force_update), ("pim", _pim_run)):
        step = time.perf_counter()
        measured |= activity(seller, channels)
        print(f"day cost {seller.size}: {name} in {time.perf_counter() - step:.0f} s", file=sys.stderr)
    measured["storage"] = _storage(seller)
    for name, usage in measured.items():
        print(f"day cost {seller.size}: {name}: {usage.rru:,.1f} RRU, {usage.wru:,.1f} WRU, "
              f"{sum(usage.gb_s.values()):,.2f} GB-s, {dict(usage.invocations)}, "
              f"{ {k: round(v, 6) for k, v in usage.requests.items() if not k.startswith('dynamodb.')} }",
              file=sys.stderr)
    return {name: usage.as_dict() for name, usage in measured.items()}


def _set_up(seller: _Seller) -> dict[str, Any]:
    """Channels created, their catalogues loaded and linked, every listing submitted once, the order
    poller's first tick (Amazon's notifications subscribed); then ERRORS_PER_CHANNEL listings of each
    channel vanish from its stand-in, so the channel refuses them from now on."""
    from bench.stock_sync import channel_input, empty_queue

    channels = {kind: seller.app.channels.create(channel_input(kind, standin.url, seller.location, "Day"))
                for kind, standin in seller.standins.items()}
    empty_queue(seller.sqs, seller.app.settings.stock_queue_url)
    _reload_all(seller)
    for _ in range(3):  # until every listing is submitted (a run may hand a channel over to a job)
        seller.let_time_pass(15 * 60)
        seller.invoke("StockSubmitterFunction", {"scheduled_sync": True})
        seller.settle()
    seller.invoke("OrderPollerFunction", {})
    seller.settle()
    linked = sum(1 for partition in seller.table.items.values() for item in partition.values()
                 if "linked_item_id" in item.attrs and "submitted_quantity" in item.attrs)
    print(f"day cost {seller.size}: {linked} listings linked and submitted", file=sys.stderr)
    return channels


def _reload_all(seller: _Seller) -> None:
    """Every channel's catalogue retrieved by the report poller's ticks, loaded and auto-mapped."""
    _reload(seller, ("frequent", "rakuten"), CHANNELS)


def _reload(seller: _Seller, schedules: tuple[str, ...], channels: int) -> None:
    """The report poller's `schedules` tick (every 5 minutes) until each of their `channels` channels
    has its catalogue (an Amazon report is ready at its second poll), loaded and auto-mapped."""
    for _ in range(8):
        outcomes: dict[str, str] = {}
        for schedule in schedules:
            outcomes |= seller.invoke("ReportPollerFunction", {"schedule": schedule})["channels"]
        seller.settle()
        if len(outcomes) >= channels and all(outcome in ("done", "idle") for outcome in outcomes.values()):
            return
        seller.let_time_pass(5 * 60)
    raise AssertionError(f"catalogues not retrieved after 8 ticks of {schedules}: {outcomes}")


@contextmanager
def _whole_channel_slices() -> Iterator[None]:
    """A cycle of one run, so that each run's slice is the whole channel; and the slice a channel's
    run is handed to the jobs worker over, and a slice job's share, as many times smaller (see
    "scheduled_sync" above)."""
    from stocksync.stock_sync import scheduled

    limits = cycle_runs, in_run_page, job_listings = (scheduled.CYCLE_RUNS, scheduled.IN_RUN_PAGE,
                                                      scheduled.SLICE_JOB_LISTINGS)
    assert cycle_runs == CYCLE_RUNS, "the day is priced for the product's cycle"
    scheduled.CYCLE_RUNS, scheduled.IN_RUN_PAGE, scheduled.SLICE_JOB_LISTINGS = (
        1, -(-in_run_page // cycle_runs), -(-job_listings // cycle_runs))
    try:
        yield
    finally:
        scheduled.CYCLE_RUNS, scheduled.IN_RUN_PAGE, scheduled.SLICE_JOB_LISTINGS = limits


def _scheduled_runs(seller: _Seller, _channels: dict[str, Any]) -> dict[str, Usage]:
    steady = Usage()
    for _ in range(RUNS):
        seller.let_time_pass(15 * 60)
        seller.put_some_in_error()
        with measuring(steady), _whole_channel_slices():
            summary = seller.invoke("StockSubmitterFunction", {"scheduled_sync": True})
            seller.settle()
    print(f"day cost {seller.size}: last steady run {json.dumps(summary, default=str)[:400]}", file=sys.stderr)
    return {"sync_run": steady.scaled(1 / RUNS)}


def _order_ticks(seller: _Seller, _channels: dict[str, Any]) -> dict[str, Usage]:
    ticks = Usage()
    for _ in range(POLL_TICKS):
        seller.let_time_pass(60)
        with measuring(ticks):
            seller.invoke("OrderPollerFunction", {})
            seller.settle()
    return {"order_tick": ticks.scaled(1 / POLL_TICKS)}


def _sales(seller: _Seller, _channels: dict[str, Any]) -> dict[str, Usage]:
    amazon = seller.standins["amazon"]
    skus = [sku for _, sku in seller.items[: -ERRORS_PER_CHANNEL]]

    def sell(count: int, first: int) -> None:
        delivered = len(amazon.notifications_sent)
        for n in range(count):
            amazon.place_order([(skus[(first + n) % len(skus)], 1)])
        deadline = time.monotonic() + 60
        while len(amazon.notifications_sent) < delivered + count and time.monotonic() < deadline:
            time.sleep(0.05)
        seller.settle()

    singles = Usage()
    for n in range(SINGLES):
        seller.let_time_pass(60)
        with measuring(singles):
            sell(1, n)
    seller.let_time_pass(60)
    with measuring(Usage()) as burst:
        sell(BURST, SINGLES)
    return {"sale_single": singles.scaled(1 / SINGLES), "sale_burst": burst}


def _reloads(seller: _Seller, _channels: dict[str, Any]) -> dict[str, Usage]:
    from stocksync.catalogue import retrieval
    from stocksync.channels.types import ChannelType

    measured = {}
    for kind, per_day in RELOADS_A_DAY.items():
        schedule = retrieval.RAKUTEN if kind == ChannelType.RAKUTEN else retrieval.FREQUENT
        tries: dict[str, list[Usage]] = {}
        for _ in range(RELOAD_TRIES * (2 if kind == ChannelType.PIXMANIA else 1)):
            seller.let_time_pass(12 * 3600 + 60)  # due again
            if kind == ChannelType.PIXMANIA:
                seller.offers_updated_an_hour()
            with _only_due(ChannelType(kind)), measuring(Usage()) as reload:
                _reload(seller, (schedule,), 1)
            tries.setdefault(seller.export_asked(kind), []).append(reload)
        fewest = {export: min(usages, key=lambda usage: sum(usage.gb_s.values())) for export, usages in tries.items()}
        for export, usage in fewest.items():
            print(f"day cost {seller.size}: reload_{kind} ({export}): {usage.rru:,.1f} RRU, {usage.wru:,.1f} WRU, "
                  f"{sum(usage.gb_s.values()):,.2f} GB-s, {dict(usage.invocations)}", file=sys.stderr)
        if kind == ChannelType.PIXMANIA:  # a day of Mirakl's: one full export, the others of changes
            measured[f"reload_{kind}"] = fewest["full"].scaled(1 / per_day).plus(fewest["changes"],
                                                                                (per_day - 1) / per_day)
        else:
            measured[f"reload_{kind}"] = fewest["full"]
    _reload_all(seller)  # the clock moved on days meanwhile: what fell due, before the tick with nothing due
    seller.let_time_pass(5 * 60)
    with measuring(Usage()) as idle:
        seller.invoke("ReportPollerFunction", {"schedule": "frequent"})
        seller.settle()
    return measured | {"report_tick_idle": idle}


@contextmanager
def _only_due(kind: Any) -> Iterator[None]:
    """The poller finds only `kind`'s channel due: the others' catalogues refresh a thousand times less often."""
    from stocksync.catalogue import retrieval

    refresh = dict(retrieval.REFRESH_EVERY)
    retrieval.REFRESH_EVERY.update({other: every * 1000 for other, every in refresh.items() if other != kind})
    try:
        yield
    finally:
        retrieval.REFRESH_EVERY.update(refresh)


def _force_update(seller: _Seller, channels: dict[str, Any]) -> dict[str, Usage]:
    """The Force Update and the scheduled runs that read its feed's outcome back onto its listings,
    less as many plain runs (one measured just before): a run's own work is in scheduled_sync, and
    measured here at the day's sizes it would not be the model's (see scheduled_sync)."""
    channel_id = channels["amazon"].channel_id

    def scheduled_run() -> None:
        seller.let_time_pass(15 * 60)
        seller.invoke("StockSubmitterFunction", {"scheduled_sync": True})
        seller.settle()

    with measuring(Usage()) as plain:
        scheduled_run()
    seller.let_time_pass(60)
    with measuring(Usage()) as forced:
        seller.app.stock_sync.force_update(channel_id, confirm=True)
        seller.settle()
        runs = 0
        while runs == 0 or _feeds_pending(channel_id):
            if runs == SETTLING_RUNS:
                raise AssertionError(f"the Force Update's feed still pending after {SETTLING_RUNS} runs")
            scheduled_run()
            runs += 1
    return {"force_update": forced.less(plain, runs)}


def _feeds_pending(channel_id: str) -> bool:
    from stocksync.core import db
    from stocksync.core.db import StockSyncStateRecord

    state = db.get_or_none(StockSyncStateRecord, StockSyncStateRecord.keys(channel_id))
    return state is not None and bool(state.pending_feeds)


def _pim_run(seller: _Seller, _channels: dict[str, Any]) -> dict[str, Usage]:
    from infrastructure.standins import akeneo
    from stocksync.pim.model import ProfileInput
    from stocksync.pim.profiles import ConnectionInput

    products = [akeneo.demo_product(sku, f"Product number {n} from the PIM", ["mugs"], "9.90")
                for n, (_, sku) in enumerate(seller.items[: round(PIM_SHARE * seller.size)])]
    with akeneo.AkeneoStandIn() as standin:
        standin.products = products
        seller.app.pim.connections.save(ConnectionInput(
            url=standin.url, client_id=akeneo.CLIENT_ID, client_secret=akeneo.CLIENT_SECRET,
            username=akeneo.USERNAME, password=akeneo.PASSWORD))
        seller.app.pim.profiles.create(ProfileInput.model_validate({
            "name": "Titles and prices", "scope": "ecommerce", "locale": "en_US",
            "price_mappings": [{"attribute": "price", "target": "retail_price", "currency": "EUR"}],
            "title_mappings": [{"attribute": "name", "target": "item_title"}]}))
        with measuring(Usage()) as run:
            seller.invoke("PimSyncFunction", {"id": "day", "detail-type": "Scheduled Event", "source": "aws.events",
                                              "account": "123456789012", "time": "2026-12-03T00:00:00Z",
                                              "region": "us-east-1", "resources": [], "detail": {}, "version": "0"})
            seller.settle()
    return {"pim_run": run}


def _storage(seller: _Seller) -> Usage:
    """The table (items and their GSI entries as projected, 100 bytes of overhead each), the buckets'
    objects and the advanced-tier parameters, as `storage.*` quantities for `cost`."""
    import boto3

    from bench.metering import index_entry, item_size

    table_bytes = 0
    indexes = seller.table.global_indexes or []
    for partition in seller.table.items.values():
        for item in partition.values():
            table_bytes += item_size(item.attrs) + 100
            table_bytes += sum(item_size(entry) + 100 for index in indexes
                               if (entry := index_entry(index, item.attrs)) is not None)
    s3 = boto3.client("s3")
    s3_bytes = sum(entry["Size"] for bucket in s3.list_buckets()["Buckets"]
                   for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"])
                   for entry in page.get("Contents", []))
    parameters = [parameter for page in boto3.client("ssm").get_paginator("describe_parameters").paginate()
                  for parameter in page["Parameters"]]
    advanced = sum(1 for parameter in parameters if parameter.get("Tier") == "Advanced")
    return Usage(requests={"storage.dynamodb_gb": table_bytes / 1e9, "storage.s3_gb": s3_bytes / 1e9,
                           "storage.advanced_parameters": advanced})


if __name__ == "__main__":
    print_figures(_measure_here(int(os.environ.get("BENCH_DAY_SIZE", SIZES[0]))))
