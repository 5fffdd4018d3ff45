"""The environment a function runs in, read once into a validated model."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    stock_queue_url: str = Field(min_length=1)
    jobs_queue_url: str = ""
    catalogue_bucket: str = ""
    mapping_queue_url: str = ""
    ingest_queue_url: str = ""
    secrets_prefix: str = "stocksync/"
    order_notification_queue_arn: str = ""
    # The local stack's STOCKSYNC_SCHEDULE_SPEEDUP: each channel's order poll cadence runs this many
    # times faster, as its schedules do. Never set on AWS (1).
    order_poll_speedup: float = Field(default=1.0, gt=0)


@cache
def get_settings() -> Settings:
    env = os.environ
    return Settings(
        table_name=env.get("TABLE_NAME", ""),
        stock_queue_url=env.get("STOCK_QUEUE_URL", ""),
        jobs_queue_url=env.get("JOBS_QUEUE_URL", ""),
        catalogue_bucket=env.get("CATALOGUE_BUCKET", ""),
        mapping_queue_url=env.get("MAPPING_QUEUE_URL", ""),
        ingest_queue_url=env.get("INGEST_QUEUE_URL", ""),
        secrets_prefix=env.get("SECRETS_PREFIX", "stocksync/"),
        order_notification_queue_arn=env.get("ORDER_NOTIFICATION_QUEUE_ARN", ""),
        order_poll_speedup=float(env.get("ORDER_POLL_SPEEDUP") or 1),
    )
