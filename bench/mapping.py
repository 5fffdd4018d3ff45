"""Auto-link at scale: 100,000 listings against 100,000 items on a moto server in its own process.

Figures:
  autolink_100k_requests  DynamoDB requests the auto-link run made (counted at pynamodb's API call)
  autolink_100k_cpu_s     CPU seconds the run used in this process (moto's own work is in the server's
                          process and not counted)
  autolink_100k_linked    listings linked (every one should be)
Set BENCH_AUTOLINK_N to run a smaller size (the figure names keep "100k").
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

N = int(os.environ.get("BENCH_AUTOLINK_N", "100000"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _moto_server() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter running moto
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.kill()  # werkzeug's server does not stop on SIGTERM
        server.wait(timeout=10)


@contextmanager
def _counting() -> Iterator[Counter]:
    from pynamodb.connection.base import Connection

    counts: Counter = Counter()
    original = Connection._make_api_call

    def counted(self: Any, operation_name: str, operation_kwargs: dict) -> dict:
        counts[operation_name] += 1
        return original(self, operation_name, operation_kwargs)

    Connection._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        Connection._make_api_call = original  # type: ignore[method-assign]


def _seed(channel_id: str, n: int) -> None:
    from stocksync.db import CatalogueStatusRecord, ItemRecord, ListingRecord, UniqueClaim
    from stocksync.inventory import SKU_CLAIM
    from stocksync.rules import normalize_sku, search_text

    with ItemRecord.batch_write() as batch:
        for i in range(n):
            sku = f"SKU-{i:06d}"
            key = normalize_sku(sku)
            item_id = f"item{i:06d}"
            batch.save(ItemRecord(**ItemRecord.keys(item_id, key), item_id=item_id, sku=sku, sku_key=key,
                                  title=f"Product number {i}", search_text=search_text(sku, f"Product number {i}"),
                                  retail_price=9.99, barcode=f"50{i:011d}"))
            batch.save(UniqueClaim(**UniqueClaim.keys(SKU_CLAIM, key), owner_id=item_id))
            listing_sku = f" sku-{i:06d}" if i % 2 else sku  # half differ in case and spaces
            batch.save(ListingRecord(**ListingRecord.keys(channel_id, normalize_sku(listing_sku)),
                                     channel_id=channel_id, sku=listing_sku, sku_key=normalize_sku(listing_sku),
                                     title=f"Product number {i} on the channel", price=9.99, quantity=5,
                                     barcode=f"50{i:011d}", channel_listing_id=f"L{i}"))
    CatalogueStatusRecord(**CatalogueStatusRecord.keys(channel_id), channel_id=channel_id, total_active=n,
                          total_unlinked=n).save()


def measure() -> dict[str, float]:
    with _moto_server() as endpoint:
        os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto takes any key
                          AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"))
        from infrastructure.provision import provision
        from infrastructure.template import load_template
        from stocksync.config import get_settings

        stack = provision(load_template())
        os.environ.update(stack.environment)
        get_settings.cache_clear()
        from stocksync.api.services import services
        from stocksync.channel_store import ChannelInput
        from stocksync.channel_types import ChannelType
        from stocksync.mapping.bulk import auto_link
        from stocksync.mapping.store import recount

        mapping = services().mapping
        channel = mapping.channels.create(ChannelInput(name="Bench", type=ChannelType.EBAY))
        _seed(channel.channel_id, N)
        job = mapping.jobs.create("mapping_auto_link", subject=channel.channel_id)
        with _counting() as counts:
            cpu = time.process_time()
            result = auto_link(mapping, channel, job.job_id)
            cpu = time.process_time() - cpu
        totals = recount(channel.channel_id)
        status = mapping.totals(channel.channel_id)
        if (int(status.total_linked), int(status.total_unlinked)) != (totals["linked"], totals["unlinked"]):
            raise AssertionError(f"totals drifted: {status.total_linked}/{status.total_unlinked} vs {totals}")
        print(f"auto-link {N}: requests by operation {dict(counts)}", file=sys.stderr)
        return {"autolink_100k_requests": sum(counts.values()), "autolink_100k_cpu_s": round(cpu, 2),
                "autolink_100k_linked": result["linked"]}


if __name__ == "__main__":
    print(measure())
