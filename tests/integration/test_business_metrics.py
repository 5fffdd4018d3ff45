"""The business metrics the template's dashboard and alarms read: what a submission publishes, as
embedded-metric-format lines on stdout (CloudWatch turns them into metrics, no API call)."""

from __future__ import annotations

import json

import pytest
from stock_sync_support import QueuedChange, fast_adapter_factory, item_with_stock, listing

from stocksync.core.messages import StockChange
from stocksync.core.observability import metrics
from stocksync.core.secrets import ParameterStore
from stocksync.stock_sync.queue import run_stock_batch
from stocksync.stock_sync.submitter import StockSubmitter


class NoDelays:
    def delay(self, records):
        pass


@pytest.fixture
def submitter(stack):
    return StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())


def published(capsys) -> dict[str, list[dict]]:
    """Every EMF metric written so far, by name: the dimensions and value of each line."""
    found: dict[str, list[dict]] = {}
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: blob[name] for names in directive["Dimensions"] for name in names}
            for metric in directive["Metrics"]:
                found.setdefault(metric["Name"], []).append(
                    {"namespace": directive["Namespace"], "dimensions": dimensions, "unit": metric["Unit"],
                     "value": blob[metric["Name"]]})
    return found


def test_given_a_linked_listing_when_its_stock_is_submitted_then_the_submission_is_counted_per_channel_type(
        api, shop, submitter, capsys):
    mug = item_with_stock(api, "MUG-BLACK", 10)
    listing(shop, "MUG-BLACK", mug)
    capsys.readouterr()

    run_stock_batch([QueuedChange("a", StockChange(reason="t", item_ids=[mug]))], submitter, NoDelays())

    metrics = published(capsys)
    [submitted] = metrics["ListingsSubmitted"]
    assert submitted["value"] == [1.0] and submitted["unit"] == "Count"
    assert submitted["namespace"] == "StockSyncTests"
    assert submitted["dimensions"] == {"channel_type": "generic", "service": "stocksync"}  # never a listing
    assert metrics["SubmissionErrors"][0]["value"] == [0.0]
    [seconds] = metrics["SubmissionSeconds"]
    assert seconds["unit"] == "Seconds" and seconds["value"][0] >= 0


def test_given_the_channel_throttles_when_submitted_then_a_throttled_call_is_counted(
        api, website, shop, submitter, capsys):
    mug = item_with_stock(api, "MUG-BLACK", 6)
    listing(shop, "MUG-BLACK", mug)
    website.fail_next("post_stock", 429, 429)
    capsys.readouterr()

    run_stock_batch([QueuedChange("a", StockChange(reason="t", item_ids=[mug]))], submitter, NoDelays())

    throttled = published(capsys)["ChannelThrottled"]
    assert throttled and all(m["dimensions"]["channel_type"] == "generic" for m in throttled)


def test_given_a_sale_queued_a_while_ago_when_its_batch_is_submitted_then_the_wait_is_published(
        api, shop, submitter, capsys):
    mug = item_with_stock(api, "MUG-BLACK", 10)
    listing(shop, "MUG-BLACK", mug)
    capsys.readouterr()
    sold_at = 1_800_000_000.0

    run_stock_batch([QueuedChange("late", StockChange(reason="sale", item_ids=[mug]), sent_at_s=sold_at),
                     QueuedChange("fresh", StockChange(reason="sale", item_ids=[mug]), sent_at_s=sold_at + 3)],
                    submitter, NoDelays(), clock=lambda: sold_at + 4.5)
    metrics.flush_metrics()  # what the handler's log_metrics does when the invocation ends

    [waited] = published(capsys)["ChangeToSubmissionSeconds"]
    assert waited["unit"] == "Seconds" and waited["value"] == [4.5]  # from the oldest change of the batch
