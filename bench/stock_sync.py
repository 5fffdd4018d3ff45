"""Stock out figures: channel calls for a burst of sales, and feeds for a Force Update at scale.

  burst_channel_calls        1,000 sales (stock adjustments through StockBook, -1 each) across 100
                             items, every item linked on six channels (Amazon, eBay, Magento, Pixmania,
                             Rakuten, generic website), each served by its stand-in. The sales are made
                             first, so all 1,000 stock-queue messages are waiting at once; then the
                             StockSubmitterFunction handler is fed the way the SQS event source feeds it
                             (its event in template.yaml, played by the local runner's poller: no batching
                             window, so a batch is up to BatchSize (10) of the messages visible when it
                             polls; one poller: batches one after the other, what succeeded deleted, what
                             failed left to come back after its visibility delay) until the queue is
                             empty. The handler takes what else waits on the queue itself and reconciles
                             it with its batch, so the figure measures that drain, not a window. The
                             figure is the quantity-update calls the stand-ins
                             received, every answer counted (a throttled or failed call is still a call):
                               Amazon   patchListingsItem, createFeed (createFeedDocument and the
                                        document upload are the feed's preparation, not counted)
                               eBay     bulkUpdatePriceQuantity, offer withdraw / publish, every Trading call
                               Magento  POST source-items, PUT products/{sku} (status), PUT stockItems
                               Pixmania OF24 (POST /api/offers)
                               Rakuten  POST inventory;  generic  POST stock
                             Token requests, feed and import status polls are not counted.
  burst_channel_calls_floor  sum over channels of the fewest calls for the listings whose target
                             changed (every listing here: each item sells 10 of its 50 units, so no
                             listing ends or relists), from the adapters' own `calls_for_updates`.
  burst_submitter_invocations  invocations of the submitter the burst took (informative)
  burst_seconds              wall seconds from the first poll to an empty queue (informative: a call
                             throttled by the channel's budget comes back after its delay, e.g. Mirakl's
                             one OF24 a minute)
  force_update_100k_amazon_feeds  createFeed calls the Amazon stand-in received for a Force Update of
                             an Amazon channel with 100,000 linked listings (POST force-update's job,
                             run by the JobsWorkerFunction handler from the jobs queue).
  force_update_100k_seconds  wall seconds of that job on the embedded AWS (informative: moto is slower
                             than DynamoDB). The job pages through the channel (25,000 listings a page,
                             one feed each) and hands over to its own message when the invocation's
                             remaining time (the local runtime's, from the jobs worker's 900 s Timeout)
                             runs low.
  force_update_100k_dynamodb_requests  DynamoDB requests the job made, all operations (informative;
                             the stderr line has them by operation)
  force_update_100k_invocations  jobs-worker invocations the job took (informative)

How it runs: `measure()` starts `python -m bench.stock_sync` in a fresh process (the seeded records
and the process-wide caches never leak into other benchmarks). That process starts the embedded AWS
(moto's threaded server) and the stand-ins, provisions template.yaml, and seeds items, stock and
linked listings straight into moto's backend (bench/seeding.py; not measured). The 100 burst
listings start as already submitted (submitted quantity = what the stand-in shows).
moto's own CPU is cut in this process by the embedded AWS (infrastructure/local/embedded_aws.py:
without it moto's ReceiveMessage alone takes ~0.9 s per 10 of 1,000 waiting messages and its
transactions deep-copy the table) and further by its `make_moto_quicker` (same answers; see its
docstring). None of it is in a figure: moto works on its own threads.

Set BENCH_FORCE_N to run the Force Update at a smaller size (the figure names keep "100k").
BENCH_STOCK_BATCH_SIZE replaces the stock event source's BatchSize (a what-if, never for the figures; without
a window the runner hands over at most 10, as SQS does).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import measure_apart, paced, print_figures

TIMEOUT_S = 1800
ITEMS, SALES, OPENING_STOCK = 100, 1000, 50
FORCE_N = int(os.environ.get("BENCH_FORCE_N", "100000"))
MARKETPLACE_UK = "A1F83G8C2ARO7P"


def measure() -> dict[str, float]:
    """The figures, measured in a fresh process (see the module docstring)."""
    return measure_apart("bench.stock_sync", TIMEOUT_S)


# --- what counts as a quantity-update call, per stand-in ----------------------------------------

def _amazon_call(method: str, path: str) -> bool:
    return (method == "PATCH" and path.startswith("/listings/2021-08-01/items/")) or (
        method == "POST" and path == "/feeds/2021-06-30/feeds")


def _ebay_call(method: str, path: str) -> bool:
    inventory = "/sell/inventory/v1"
    return method == "POST" and (path in (f"{inventory}/bulk_update_price_quantity", "/ws/api.dll") or (
        path.startswith(f"{inventory}/offer/") and path.endswith(("/withdraw", "/publish"))))


def _magento_call(method: str, path: str) -> bool:
    """Source items and legacy stock go to the default store; a product's status to every store view."""
    return (method == "POST" and path == "/rest/default/V1/inventory/source-items") or (
        method == "PUT" and path.startswith(("/rest/default/V1/products/", "/rest/all/V1/products/")))


QUANTITY_CALLS: dict[str, Callable[[str, str], bool]] = {
    "amazon": _amazon_call,
    "ebay": _ebay_call,
    "magento": _magento_call,
    "pixmania": lambda method, path: method == "POST" and path == "/api/offers",
    "rakuten": lambda method, path: method == "POST" and path.endswith("/inventory"),
    "generic": lambda method, path: method == "POST" and path == "/stocksync/v1/stock",
}


def quantity_calls(standin: Any, channel_type: str) -> int:
    counts = QUANTITY_CALLS[channel_type]
    with standin.lock:
        return sum(1 for exchange in standin.exchanges if counts(exchange.method, exchange.path))


# --- the run ------------------------------------------------------------------------------------

def standins_for(skus: list[str]) -> dict[str, Any]:
    from infrastructure.demo.listings import DemoListing
    from infrastructure.standins import amazon, ebay, generic, magento, mirakl, rakuten

    def listings() -> list[DemoListing]:
        return [DemoListing(sku, f"Product {sku}", 10.0, OPENING_STOCK, str(200000 + n)) for n, sku in enumerate(skus)]

    shop = magento.MagentoStandIn(listings=listings())
    shop.sources = {sku: {magento.SOURCES[0]: OPENING_STOCK, magento.SOURCES[1]: 0} for sku in skus}  # one source
    return {
        "amazon": amazon.AmazonStandIn(listings=listings()),
        "ebay": ebay.EbayStandIn(listings=listings(), inventory_api_skus=set(skus)),
        "magento": shop,
        # Mirakl splits an export at megabytes_per_chunk (we ask 100 MB: some 400,000 offers of our columns);
        # the stand-in's default of 10 rows a file is for the tests of the split.
        "pixmania": mirakl.MiraklStandIn(listings=listings(), chunk_rows=400_000),
        "rakuten": rakuten.RakutenStandIn(listings=listings()),
        "generic": generic.GenericStandIn(listings=listings()),
    }


def channel_input(channel_type: str, url: str, location_id: str, name: str = "Bench") -> Any:
    from infrastructure.demo_seller import demo_credentials
    from infrastructure.standins import amazon, rakuten
    from stocksync.channels.store import ChannelInput

    settings = {
        "amazon": {"sp_api_endpoint": url, "lwa_endpoint": f"{url}/auth/o2/token", "seller_id": amazon.SELLER_ID,
                   "marketplace_ids": [MARKETPLACE_UK]},
        "ebay": {"api_base_url": url},
        "magento": {"base_url": url, "source_codes": {location_id: "default"}},
        "pixmania": {"base_url": url},
        "rakuten": {"base_url": url, "shop_id": rakuten.SHOP_ID},
        "generic": {"base_url": url},
    }[channel_type]
    standin = {"pixmania": "mirakl", "generic": "website"}.get(channel_type, channel_type)
    return ChannelInput(name=f"{name} {channel_type}", type=channel_type, settings=settings,
                        credentials=demo_credentials(standin), location_ids=[location_id])


def submitter_source(runner: Any, function_id: str) -> Any:
    return next(source for source in runner.sqs_sources if source.function.logical_id == function_id)


def drain(poller: Any, timeout_s: float = 300) -> int:
    """Feed the queue's messages to the function until none is left (visible or delayed).

    A batch is what the event source hands over, as the local runner plays it (SqsPoller): without
    a batching window, as soon as a message is visible, up to BatchSize of the messages visible then.
    Returns the invocations. `timeout_s` is paced."""
    import boto3

    sqs, source = boto3.client("sqs"), poller.source
    timeout_s = paced(timeout_s)
    invocations, deadline = 0, time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=source.queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        if not sum(int(count) for count in attributes.values()):
            return invocations
        messages = poller._receive_batch()
        if messages:
            poller._invoke(messages)  # as the event source: what succeeded is deleted
            invocations += 1
    raise TimeoutError(f"the queue {source.queue_url} was not empty after {timeout_s:.0f} s")


def _burst(runner: Any) -> dict[str, float]:
    import boto3

    from bench.seeding import linked_listings, moto_table, put_records, stocked_items
    from infrastructure.local.event_sources import SqsPoller
    from stocksync.channels.base import ChannelAccount, QuantityUpdate
    from stocksync.channels.registry import adapter_class
    from stocksync.core.settings import ApiSettings
    from stocksync.inventory.stock import StockAdjustment
    from stocksync.wiring import wiring

    app = wiring(ApiSettings)
    location = app.locations.default().location_id
    table = moto_table(app.settings.table_name)
    items = []
    for item_id, sku, records in stocked_items(ITEMS, location, OPENING_STOCK, sku_format="BURST-{:03d}"):
        put_records(table, records)
        items.append((item_id, sku))
    standins = standins_for([sku for _, sku in items])
    for standin in standins.values():
        standin.start()
    try:
        channels = {kind: app.channels.create(channel_input(kind, standin.url, location))
                    for kind, standin in standins.items()}
        for kind, channel in channels.items():
            put_records(table, linked_listings(
                channel.channel_id, items, submitted_quantity=OPENING_STOCK, update_status="ok",
                state="active", price=10.0, listing_kind="inventory_api" if kind == "ebay" else None))
        sqs, queue_url = boto3.client("sqs"), app.settings.stock_queue_url
        empty_queue(sqs, queue_url)  # what creating the channels announced: they are in sync already

        sales = [item_id for item_id, _ in items for _ in range(SALES // ITEMS)]
        random.Random(5).shuffle(sales)  # a fixed order of sales
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:  # sales come in concurrently (and moto is slow)
            list(pool.map(lambda sale: app.stock.adjust(sale[1], location, StockAdjustment(
                delta=-1, reason=f"sale {sale[0]}")), enumerate(sales)))
        selling = time.perf_counter() - started

        source = submitter_source(runner, "StockSubmitterFunction")
        if os.environ.get("BENCH_STOCK_BATCH_SIZE"):  # what-if only: the figures use template.yaml's
            source = dataclasses.replace(source, batch_size=int(os.environ["BENCH_STOCK_BATCH_SIZE"]))
        poller = SqsPoller(source, sqs, threading.Event())
        started = time.perf_counter()
        invocations = drain(poller)
        submitting = time.perf_counter() - started

        calls = {kind: quantity_calls(standins[kind], kind) for kind in standins}
        floors = {}
        final = OPENING_STOCK - SALES // ITEMS
        for kind, channel in channels.items():
            adapter = adapter_class(kind)(ChannelAccount(channel.channel_id, kind, channel.settings.as_dict(), {}))
            changed = [QuantityUpdate(sku, final, listing_kind="inventory_api" if kind == "ebay" else None)
                       for _, sku in items]
            floors[kind] = adapter.calls_for_updates(changed)
        wrong = _not_showing(channels, standins, final)
        faults = {kind: sum(1 for e in s.exchanges if e.status >= 400) for kind, s in standins.items()}
        print(f"burst: {SALES} sales in {selling:.1f} s; {invocations} submitter invocations in {submitting:.1f} s; "
              f"calls {calls}; floor {floors}; answers >= 400 {faults}; "
              f"listings not showing {final}: {wrong}", file=sys.stderr)
        if wrong:
            raise AssertionError(f"listings not showing {final} after the burst: {wrong}")
        return {"burst_channel_calls": sum(calls.values()), "burst_channel_calls_floor": sum(floors.values()),
                "burst_submitter_invocations": invocations, "burst_seconds": round(submitting, 1)}
    finally:
        for standin in standins.values():
            standin.stop()


def _not_showing(channels: dict[str, Any], standins: dict[str, Any], quantity: int) -> dict[str, int]:
    """Per channel, the listings its stand-in does not show at `quantity` once the channel's
    deferred submissions (Amazon feeds, Mirakl imports) are processed."""
    from stocksync.core.settings import StockSubmitterSettings
    from stocksync.wiring import wiring

    submitter = wiring(StockSubmitterSettings).stock_submitter()
    for _ in range(3):  # a feed or an import is processed on its second poll at most
        for channel in channels.values():
            submitter.settle_pending(channel.channel_id)
    return {kind: sum(1 for listing in standins[kind].listings if listing.quantity != quantity)
            for kind in standins if any(listing.quantity != quantity for listing in standins[kind].listings)}


def _force_update(runner: Any, n: int) -> dict[str, float]:
    import boto3

    from bench.seeding import counting_dynamodb_requests, linked_listings, moto_table, put_records, stocked_items
    from infrastructure.local.event_sources import SqsPoller
    from infrastructure.standins.amazon import AmazonStandIn
    from stocksync.core.settings import ApiSettings
    from stocksync.wiring import wiring

    app = wiring(ApiSettings)
    location = app.locations.default().location_id
    table = moto_table(app.settings.table_name)
    seeding = time.perf_counter()
    items = []
    for item_id, sku, records in stocked_items(n, location, 7):
        put_records(table, records)
        items.append((item_id, sku))
    seeding = time.perf_counter() - seeding
    # The stand-in knows no listing: feeds are only counted here, never processed (nobody polls them).
    with AmazonStandIn(listings=[]) as standin:
        channel = app.channels.create(channel_input("amazon", standin.url, location, "Force"))
        put_records(table, linked_listings(channel.channel_id, items, price=10.0, state="active"))
        empty_queue(boto3.client("sqs"), app.settings.stock_queue_url)
        job = app.stock_sync.force_update(channel.channel_id)
        poller = SqsPoller(submitter_source(runner, "JobsWorkerFunction"), boto3.client("sqs"), threading.Event())
        started = time.perf_counter()
        with counting_dynamodb_requests() as requests:
            invocations = drain(poller, timeout_s=TIMEOUT_S)
        seconds = time.perf_counter() - started
        feeds = sum(1 for e in standin.exchanges if e.method == "POST" and e.path == "/feeds/2021-06-30/feeds")
        messages = sum(len(json.loads(body)["messages"]) for body in standin.uploads.values() if body)
    result = app.jobs.get(job.job_id)
    print(f"force update {n}: seeded in {seeding:.1f} s; job {result.status} {result.result} (done {result.done}) "
          f"in {seconds:.1f} s over {invocations} jobs-worker invocations; {feeds} createFeed calls carrying "
          f"{messages} messages; DynamoDB requests {dict(requests)}", file=sys.stderr)
    if result.status != "succeeded" or messages != n or int(result.done) != n:
        raise AssertionError(f"the Force Update did not send every listing: {result.status}, {messages} of {n}")
    return {"force_update_100k_amazon_feeds": feeds, "force_update_100k_seconds": round(seconds, 1),
            "force_update_100k_dynamodb_requests": sum(requests.values()),
            "force_update_100k_invocations": invocations}


def _measure_here() -> dict[str, float]:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from bench import HANDLER_ENVIRONMENT
    from infrastructure.local.harness import embedded_stack
    from infrastructure.local.runner import Runner

    with embedded_stack(HANDLER_ENVIRONMENT, quicker=True) as stack:
        from stocksync.wiring import wiring

        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the figures are the output, not the handlers' logs
        wiring.cache_clear()  # built again from this stack's environment
        runner = Runner(stack.template, stack, api_port=0, api_key="bench")  # never started: its functions only
        return _burst(runner) | _force_update(runner, FORCE_N)


def empty_queue(sqs: Any, queue_url: str) -> None:
    """Delete every waiting message (PurgeQueue allows one call a minute, too few for small runs)."""
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])


if __name__ == "__main__":
    print_figures(_measure_here())

