"""The composition root: every service a handler calls, built once per container from its settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from stocksync.channels.store import ChannelStore
from stocksync.core.automation_log import AutomationLog
from stocksync.core.jobs import JobQueue, Jobs
from stocksync.core.messages import SqsStockQueue
from stocksync.core.runtime import bind_table_from_settings
from stocksync.core.secrets import SecretsManagerStore
from stocksync.inventory.items import Inventory
from stocksync.inventory.locations import Locations
from stocksync.inventory.stock import StockBook
from stocksync.mapping.service import ListingMapping, SqsMappingQueue
from stocksync.orders.importer import OrderBook
from stocksync.orders.service import OrderQueries
from stocksync.pim.service import Pim, build_pim


@dataclass(frozen=True)
class Services:
    inventory: Inventory
    locations: Locations
    stock: StockBook
    channels: ChannelStore
    jobs: Jobs
    job_queue: JobQueue
    automation_log: AutomationLog
    pim: Pim
    mapping: ListingMapping
    orders: OrderQueries
    order_book: OrderBook


@cache
def services() -> Services:
    settings = bind_table_from_settings()
    queue = SqsStockQueue(settings.stock_queue_url)
    inventory = Inventory(queue)
    locations = Locations()
    channels = ChannelStore(queue, SecretsManagerStore(), locations, settings.secrets_prefix)
    jobs, job_queue = Jobs(), JobQueue(settings.jobs_queue_url)
    order_book = OrderBook(queue, inventory, locations)
    return Services(
        inventory=inventory,
        locations=locations,
        stock=StockBook(queue, inventory, locations),
        channels=channels,
        jobs=jobs,
        job_queue=job_queue,
        automation_log=AutomationLog(),
        pim=build_pim(credentials=SecretsManagerStore(), secrets_prefix=settings.secrets_prefix, jobs=jobs,
                      job_queue=job_queue, bucket=settings.catalogue_bucket,
                      channel_ids=lambda: {channel.channel_id for channel in channels.list()}),
        mapping=ListingMapping(channels=channels, inventory=inventory, locations=locations, stock_queue=queue,
                               jobs=jobs, job_queue=job_queue,
                               mapping_queue=SqsMappingQueue(settings.mapping_queue_url),
                               bucket=settings.catalogue_bucket, links_committed=order_book.relink),
        orders=OrderQueries(),
        order_book=order_book,
    )
