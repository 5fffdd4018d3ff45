"""The services the API calls, built once per container from the function's settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from stocksync.automation_log import AutomationLog
from stocksync.channel_store import ChannelStore
from stocksync.inventory import Inventory
from stocksync.jobs import JobQueue, Jobs
from stocksync.locations import Locations
from stocksync.messages import SqsStockQueue
from stocksync.runtime import bind_table_from_settings
from stocksync.secrets import SecretsManagerStore
from stocksync.stock import StockBook


@dataclass(frozen=True)
class Services:
    inventory: Inventory
    locations: Locations
    stock: StockBook
    channels: ChannelStore
    jobs: Jobs
    job_queue: JobQueue
    automation_log: AutomationLog


@cache
def services() -> Services:
    settings = bind_table_from_settings()
    queue = SqsStockQueue(settings.stock_queue_url)
    inventory = Inventory(queue)
    locations = Locations()
    return Services(
        inventory=inventory,
        locations=locations,
        stock=StockBook(queue, inventory, locations),
        channels=ChannelStore(queue, SecretsManagerStore(), locations, settings.secrets_prefix),
        jobs=Jobs(),
        job_queue=JobQueue(settings.jobs_queue_url),
        automation_log=AutomationLog(),
    )
