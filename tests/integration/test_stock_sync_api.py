"""Force Update, the sync summary, its hourly history and a listing's sync log through the API; Amazon's
feed path and the scheduled sync run through the submitter, against the stand-ins."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from stock_sync_support import (
    amazon_channel_on,
    fast_adapter_factory,
    generic_channel,
    item_with_stock,
    listing,
    read_listing,
    set_stock,
)

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import amazon
from infrastructure.standins.generic import GenericStandIn
from stocksync.core import db
from stocksync.core.jobs import run_job
from stocksync.core.messages import parse_job_message
from stocksync.core.secrets import ParameterStore
from stocksync.core.settings import JobsWorkerSettings
from stocksync.stock_sync.scheduled import run_scheduled_sync
from stocksync.stock_sync.submitter import StockSubmitter
from stocksync.stock_sync.sync_stats import hour_of
from stocksync.wiring import wiring


def run_queued_jobs(stack):
    sqs, url = boto3.client("sqs"), stack.ref("JobsQueue")
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            job = parse_job_message(message["Body"])
            run_job(job, wiring(JobsWorkerSettings).job_handlers, time_left=lambda: 900.0)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_given_force_update_when_run_then_every_linked_listing_is_resubmitted_and_logged(
        api, stack, website, shop, fast_jobs):
    mug = item_with_stock(api, "MUG-BLACK", 5)
    listing(shop, "MUG-BLACK", mug, submitted_quantity=5, update_status="ok")  # already right
    listing(shop, "MUG-WHITE", mug, fba=False, ignore_sync=True)

    answer = api.post(f"/channels/{shop}/force-update")
    run_queued_jobs(stack)

    assert answer.status == 202 and answer.body["kind"] == "stock_force_update"
    job = api.get(f"/jobs/{answer.body['job_id']}").body
    assert job["status"] == "succeeded" and job["result"]["sent"] == 1
    log = api.get(f"/channels/{shop}/listings/MUG-BLACK/sync-log").body["entries"]
    assert [(e["quantity"], e["status"], e["reason"]) for e in log] == [(5, "ok", "force_update")]
    assert api.get(f"/channels/{shop}/listings/mug-white/sync-log").body["entries"] == []
    listing(shop, "MUG-RED", mug, update_status="retrying", update_error="throttled by the channel")
    summary = api.get(f"/channels/{shop}/sync").body
    assert (summary["linked"], summary["ok"], summary["errors"]) == (2, 1, 0)
    assert (summary["pending"], summary["throttled"]) == (1, 1)  # throttled ones wait to be sent again


def test_given_a_force_update_when_repeated_within_15_minutes_then_429_unless_confirmed(api, stack, shop):
    assert api.post(f"/channels/{shop}/force-update").status == 202

    again = api.post(f"/channels/{shop}/force-update")
    confirmed = api.post(f"/channels/{shop}/force-update", {"confirm": True})

    assert again.status == 429
    assert again.body["error"]["code"] == "force_update_too_soon"
    assert "allowed_at" in again.body["error"]["details"] and int(again.headers["Retry-After"]) > 800
    assert confirmed.status == 202


def test_given_an_unknown_listing_or_channel_when_its_sync_log_is_asked_then_404(api, shop):
    assert api.get(f"/channels/{shop}/listings/NOPE/sync-log").status == 404
    assert api.get("/channels/nope/sync").status == 404


def test_given_many_amazon_changes_when_submitted_then_one_feed_and_the_scheduled_run_puts_its_errors_on_listings(
        api, stack):
    listings = [DemoListing(f"A-{n}", "x", 1.0, 0, str(n)) for n in range(4)]
    with amazon.AmazonStandIn(listings=listings, polls_until_done=1) as standin:
        channel = amazon_channel_on(api, standin, feed_threshold=2)
        item = item_with_stock(api, "A-ITEM", 9)
        for n in range(4):
            listing(channel, f"A-{n}", item)
        listing(channel, "A-GONE", item)  # not on Amazon: the processing report names it
        listing(channel, "A-FBA", item, fba=True)
        submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())

        first = submitter.submit(db.ListingRecord.query(db.channel_pk(channel)))
        assert (first.pending, first.sent) == (5, 0)
        assert api.get(f"/channels/{channel}/sync").body["processing"] == 5

        run_scheduled_sync(submitter)

        assert [item.quantity for item in standin.listings] == [9, 9, 9, 9]
        assert read_listing(channel, "A-0").update_status == "ok"
        gone = read_listing(channel, "A-GONE")
        assert gone.update_status == "error" and "not in the seller's catalogue" in gone.update_error
        assert read_listing(channel, "A-FBA").submitted_quantity is None
        assert standin.violations() == []
        assert len([e for e in standin.exchanges if e.path.endswith("/feeds")]) == 1
        recent = tallied(api.get(f"/channels/{channel}/sync/history", hours="2").body["hours"])
        # The feed's listings count once settled (4 taken, A-GONE refused), and A-GONE again when the
        # same run resent it (the sync log shows both refusals).
        assert (recent["sent"], recent["errors"]) == (4, 2)


def test_given_stale_levels_when_the_scheduled_run_comes_then_they_are_re_asserted_zeros_first(
        api, stack, website, shop):
    sold_out = item_with_stock(api, "MUG-BLACK", 0)
    stocked = item_with_stock(api, "MUG-WHITE", 4)
    old = db.now() - timedelta(hours=7)
    listing(shop, "MUG-WHITE", stocked, submitted_quantity=4, update_status="ok", last_update=old)
    listing(shop, "MUG-BLACK", sold_out, submitted_quantity=0, update_status="ok", last_update=old)
    set_stock(api, stocked, 4)

    run_scheduled_sync(StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory()))

    [post] = [e for e in website.exchanges if e.path == "/stocksync/v1/stock"]
    assert [i["sku"] for i in post.json()["items"]] == ["MUG-BLACK", "MUG-WHITE"]
    # Taken again unchanged: nothing to write nor to log (the cost of a re-assertion is the channel call).
    assert read_listing(shop, "MUG-WHITE").last_update == old
    assert api.get(f"/channels/{shop}/listings/MUG-WHITE/sync-log").body["entries"] == []



NOTHING = {"sent": 0, "errors": 0, "retrying": 0}


def tallied(hours: list[dict]) -> dict[str, int]:
    """The hours' counts added up: a test's submissions fall in the hour it ran in, or the next if the
    hour turned meanwhile, so tests read the last two hours together."""
    return {name: sum(hour[name] for hour in hours) for name in NOTHING}


def test_given_a_submission_with_two_taken_and_one_refused_when_its_history_is_asked_then_its_hour_says_so(
        api, stack, website, shop):
    mug = item_with_stock(api, "MUG-BLACK", 3)
    for sku in ("MUG-BLACK", "MUG-WHITE", "NOT-ON-THE-SITE"):  # the site refuses a SKU it does not list
        listing(shop, sku, mug)
    with GenericStandIn() as other_site:
        other = generic_channel(api, other_site, name="Other shop")
        listing(other, "MUG-BLACK", mug)
        submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())

        began = hour_of(db.now())
        outcome = submitter.submit([*db.ListingRecord.query(db.channel_pk(shop)),
                                    *db.ListingRecord.query(db.channel_pk(other))])
        history = api.get(f"/channels/{shop}/sync/history")

    assert (outcome.sent, outcome.errors) == (3, 1)
    assert history.status == 200
    hours = history.body["hours"]
    assert len(hours) == 72
    assert hours[-1]["hour"][:13] in {f"{hour:%Y-%m-%dT%H}" for hour in (began, began + timedelta(hours=1))}
    assert [{k: h[k] for k in NOTHING} for h in hours[:-2]] == [NOTHING] * 70
    assert tallied(hours[-2:]) == {"sent": 2, "errors": 1, "retrying": 0}
    assert sorted(h["hour"] for h in hours) == [h["hour"] for h in hours]  # oldest first
    other_hours = api.get(f"/channels/{other}/sync/history", hours="2").body["hours"]
    assert tallied(other_hours)["sent"] == 1  # its own submission, not the shop's


def test_given_a_throttled_submission_when_its_history_is_asked_then_the_hour_counts_it_retrying(
        api, stack, website, shop):
    mug = item_with_stock(api, "MUG-BLACK", 3)
    listing(shop, "MUG-BLACK", mug)
    website.fail_next("post_stock", 429, 429)

    StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory()).submit(
        db.ListingRecord.query(db.channel_pk(shop)))

    recent = tallied(api.get(f"/channels/{shop}/sync/history", hours="2").body["hours"])
    assert recent == {"sent": 0, "errors": 0, "retrying": 1}


@pytest.mark.parametrize("hours", ["0", "337", "-1", "many"])
def test_given_hours_out_of_range_when_the_history_is_asked_then_422(api, shop, hours):
    answer = api.get(f"/channels/{shop}/sync/history", hours=hours)

    assert answer.status == 422


def test_given_fourteen_days_when_the_history_is_asked_then_every_hour_is_there_and_an_unknown_channel_404(
        api, shop):
    assert len(api.get(f"/channels/{shop}/sync/history", hours="336").body["hours"]) == 336
    assert api.get("/channels/nope/sync/history").status == 404
