"""Helpers of the stock sync tests: channels on stand-ins, items with stock, linked listings, and
SQS events for the stock submitter."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

from infrastructure.local.template import load_handler, load_template
from stocksync.core import db
from stocksync.core.db import ListingRecord
from stocksync.core.http_client import RetryPolicy, TokenCache
from stocksync.core.messages import StockChange
from stocksync.inventory.rules import normalize_sku

NO_WAIT = RetryPolicy(max_attempts=2, base_delay=0.0, sleep=lambda _s: None)


class Context:
    function_name = "StockSubmitterFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:StockSubmitterFunction"
    aws_request_id = "req"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 59_000


def submitter_handler() -> Any:
    return load_handler(load_template(), "StockSubmitterFunction")


def sqs_event(*changes: StockChange, first: int = 0) -> dict[str, Any]:
    return {"Records": [
        {"messageId": f"m{first + i}", "receiptHandle": f"r{first + i}", "body": change.model_dump_json(),
         "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
         "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:stock", "awsRegion": "eu-west-1"}
        for i, change in enumerate(changes)
    ]}


def item_with_stock(api: Any, sku: str, level: int) -> str:
    item_id = api.post("/items", {"sku": sku, "title": sku}).body["item_id"]
    api.put(f"/items/{item_id}/stock/default", {"level": level})
    return item_id


def set_stock(api: Any, item_id: str, level: int) -> None:
    assert api.put(f"/items/{item_id}/stock/default", {"level": level}).status == 200


def listing(channel_id: str, sku: str, item_id: str | None, **fields: Any) -> ListingRecord:
    record = ListingRecord(**ListingRecord.keys(channel_id, normalize_sku(sku), sku, item_id), channel_id=channel_id,
                           sku=sku, sku_key=normalize_sku(sku), linked_item_id=item_id, title=sku, **fields)
    record.save()
    return record


def read_listing(channel_id: str, sku: str) -> ListingRecord:
    found = db.get_or_none(ListingRecord, ListingRecord.keys(channel_id, normalize_sku(sku)))
    assert found is not None
    return found


def fast_adapter_factory(**kwargs: Any):
    """Adapters with no waiting between retries and a fresh token cache (the stand-ins are local)."""
    from stocksync.channels.base import ChannelAccount
    from stocksync.channels.registry import build_adapter

    def factory(channel, limiter):
        secret = json.loads(__import__("boto3").client("ssm").get_parameter(
            Name=channel.credentials_secret, WithDecryption=True)["Parameter"]["Value"]) \
            if channel.credentials_secret else {}
        account = ChannelAccount(channel.channel_id, channel.type, channel.settings.as_dict(), secret)
        return build_adapter(account, policy=NO_WAIT, tokens=TokenCache(), rate_limiter=limiter, **kwargs)

    return factory


def generic_channel(api: Any, standin: Any, name: str = "Web") -> str:
    """A web-shop channel (our generic contract) on the stand-in; its channel id."""
    from infrastructure.standins.generic import API_KEY

    answer = api.post("/channels", {"name": name, "type": "generic", "settings": {"base_url": standin.url},
                                    "credentials": {"api_key": API_KEY}})
    assert answer.status == 201, answer.body
    return answer.body["channel_id"]


class QueuedChange:
    """A stock-queue record as the submitter's handler gets it: id, receipt handle, body, send time."""

    def __init__(self, message_id: str, change: StockChange, *, sent_at_s: float | None = None) -> None:
        self.message_id, self.receipt_handle, self.body = message_id, f"r-{message_id}", change.model_dump_json()
        sent_ms = int((time.time() if sent_at_s is None else sent_at_s) * 1000)
        self.attributes = SimpleNamespace(sent_timestamp=str(sent_ms))


class Clock:
    """A clock a test moves by hand (`clock.now += ...`)."""

    def __init__(self) -> None:
        self.now = db.now()

    def __call__(self):
        return self.now


def amazon_channel_on(api: Any, standin: Any, *, feed_threshold: int) -> str:
    """An Amazon channel on the stand-in `standin`, its credentials the stand-in's; its channel id."""
    from infrastructure.standins import amazon

    return api.post("/channels", {"name": "Amazon", "type": "amazon", "settings": {
        "sp_api_endpoint": standin.url, "lwa_endpoint": f"{standin.url}/auth/o2/token",
        "seller_id": amazon.SELLER_ID, "feed_threshold": feed_threshold}, "credentials": {
        "lwa_client_id": amazon.CLIENT_ID, "lwa_client_secret": amazon.CLIENT_SECRET,
        "refresh_token": amazon.REFRESH_TOKEN}}).body["channel_id"]
