"""Passes over a whole channel (Force Update, the scheduled run's big channels) page by page within the
invocation's time, handing over to their own job message; redelivered or duplicated messages never
send a page twice; two submitters finishing out of order never record the older target."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from stock_sync_support import (
    fast_adapter_factory,
    generic_channel,
    item_with_stock,
    listing,
    read_listing,
    set_stock,
)

from infrastructure.demo.listings import DemoListing
from infrastructure.local.template import load_handler, load_template
from infrastructure.standins import mirakl
from infrastructure.standins.generic import GenericStandIn
from stocksync.core import db
from stocksync.core.jobs import Jobs
from stocksync.core.messages import JobMessage, JobQueue, StockChange, parse_job_message
from stocksync.core.secrets import ParameterStore
from stocksync.core.settings import JobsWorkerSettings
from stocksync.stock_sync import channel_pass, scheduled
from stocksync.stock_sync.channel_pass import ChannelPass
from stocksync.stock_sync.operations import StockSyncOperations
from stocksync.stock_sync.submitter import CONCURRENT_SUBMISSION, StockSubmitter
from stocksync.wiring import wiring

PLENTY, LITTLE = 600.0, 5.0


@pytest.fixture
def website():
    skus = ["MUG", "MUG-BLACK", *(f"MUG-{n}" for n in range(5))]
    with GenericStandIn(listings=[DemoListing(sku, sku, 9.0, 0, str(n)) for n, sku in enumerate(skus)]) as standin:
        yield standin


@pytest.fixture
def five_listings(api, shop, monkeypatch):
    """Five linked listings in pages of two: three pages."""
    monkeypatch.setattr(channel_pass, "PAGE_SIZE", 2)
    item = item_with_stock(api, "MUG", 6)
    for n in range(5):
        listing(shop, f"MUG-{n}", item, submitted_quantity=6, update_status="ok", last_update=db.now())
    return item


def stock_posts(website):
    return [e for e in website.exchanges if e.path == "/stocksync/v1/stock"]


def sent_skus(website):
    return sorted(i["sku"] for post in stock_posts(website) for i in post.json()["items"])


def queued_jobs(stack):
    sqs, url = boto3.client("sqs"), stack.ref("JobsQueue")
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(parse_job_message(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def run_handing_over(stack, submitter):
    """A scheduled run as the function makes it (59 s left, big channels handed to jobs): its summary
    and the job messages it queued."""
    summary = scheduled.run_scheduled_sync(submitter, time_left=lambda: 59.0,
                                           handover=scheduled.Handover(Jobs(), JobQueue(stack.ref("JobsQueue"))))
    return summary, queued_jobs(stack)


def counting_stock_reads(monkeypatch):
    """The item ids of each stock read a submission makes, from now on."""
    from stocksync.stock_sync import submitter

    reads, read = [], submitter.stock_nodes

    def counted(item_ids, locations):
        reads.append(sorted(item_ids))
        return read(item_ids, locations)

    monkeypatch.setattr(submitter, "stock_nodes", counted)
    return reads


def force_update(stack, shop):
    StockSyncOperations(Jobs(), JobQueue(stack.ref("JobsQueue"))).force_update(shop)
    [message] = queued_jobs(stack)
    return message


def test_given_little_time_left_after_a_page_when_force_updating_then_the_job_continues_in_its_own_message(
        stack, website, shop, five_listings, fast_jobs):
    first = force_update(stack, shop)

    run_force_update_job(first, lambda: PLENTY if not stock_posts(website) else LITTLE)
    [continued] = queued_jobs(stack)
    half_way = Jobs().get(first.job_id)
    run_force_update_job(continued, lambda: PLENTY)

    assert (half_way.status, half_way.done, half_way.result["sent"], half_way.result["pages"]) == ("running", 2, 2, 1)
    assert continued.payload["cursor"]
    assert len(stock_posts(website)) == 3  # one bulk call per page
    assert sent_skus(website) == [f"MUG-{n}" for n in range(5)]  # each listing once
    job = Jobs().get(first.job_id)
    assert (job.status, job.done, job.result["sent"], job.result["pages"]) == ("succeeded", 5, 5, 3)
    assert queued_jobs(stack) == []


def test_given_a_force_update_message_redelivered_mid_run_when_run_again_then_no_page_is_sent_twice(
        stack, website, shop, five_listings, fast_jobs):
    first = force_update(stack, shop)
    run_force_update_job(first, lambda: PLENTY if not stock_posts(website) else LITTLE)
    [continued] = queued_jobs(stack)

    run_force_update_job(first, lambda: PLENTY)  # the first message again: page one is done
    run_force_update_job(continued, lambda: PLENTY)  # the continuation, late: the job is finished

    assert sent_skus(website) == [f"MUG-{n}" for n in range(5)]
    job = Jobs().get(first.job_id)
    assert (job.status, job.done) == ("succeeded", 5)
    assert (job.result["sent"], job.result["pages"]) == (5, 3)  # page one counted though its message was redone


def test_given_a_crash_after_a_page_was_recorded_when_redelivered_then_live_lease_waits_and_expired_one_resends_nothing(
        stack, website, shop, five_listings, fast_jobs, *, monkeypatch):
    first = force_update(stack, shop)
    monkeypatch.setattr(ChannelPass, "_done", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        run_force_update_job(first, lambda: PLENTY)
    monkeypatch.undo()
    monkeypatch.setattr(channel_pass, "PAGE_SIZE", 2)
    assert len(stock_posts(website)) == 1

    run_force_update_job(first, lambda: PLENTY)  # at once: the crashed invocation's lease holds
    assert len(stock_posts(website)) == 1 and Jobs().get(first.job_id).status == "running"

    later = ChannelPass(StockSubmitter(ParameterStore()), Jobs(), JobQueue(stack.ref("JobsQueue")),
                        clock=lambda: db.now() + timedelta(hours=1))  # the lease ran out
    later.run(first, time_left=lambda: PLENTY)

    assert sent_skus(website) == [f"MUG-{n}" for n in range(5)]  # page one's listings were recorded: not again
    job = Jobs().get(first.job_id)
    assert (job.status, job.done) == ("succeeded", 5)  # the crashed page counted once, by its taker


def test_given_a_channel_whose_re_assertion_fell_behind_when_the_schedule_comes_then_its_rest_continues_as_a_job(
        api, stack, website, shop, fast_jobs, *, monkeypatch):
    monkeypatch.setattr(scheduled, "IN_RUN_PAGE", 1)
    item = item_with_stock(api, "MUG", 3)
    for n in range(3):
        listing(shop, f"MUG-{n}", item, submitted_quantity=3, update_status="ok",
                last_update=db.now() - timedelta(hours=7))
    db.CatalogueStatusRecord(**db.CatalogueStatusRecord.keys(shop), channel_id=shop, total_linked=3).save()
    db.StockSyncStateRecord(**db.StockSyncStateRecord.keys(shop), channel_id=shop, cycle_seen=1,
                            cycle_started_at=db.now() - scheduled.CYCLE_DEADLINE).save()  # a cycle far behind
    submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())

    summary, messages = run_handing_over(stack, submitter)
    sent_by_the_run = sent_skus(website)
    for message in messages:
        run_force_update_job(message, lambda: PLENTY)

    assert sent_by_the_run == [] and summary["channels"][shop]["job_id"].startswith(f"sync-{shop}-")
    assert [m.kind for m in messages] == ["stock_sync_run"]
    assert sent_skus(website) == ["MUG-0", "MUG-1", "MUG-2"]  # the whole channel re-asserted by the job
    assert db.get_or_none(db.StockSyncStateRecord, db.StockSyncStateRecord.keys(shop)).cycle_seen == 0  # anew


def test_given_a_channel_whose_slice_is_too_big_for_the_run_when_the_schedule_comes_then_a_job_sends_it_once(
        api, stack, website, shop, fast_jobs, *, monkeypatch):
    monkeypatch.setattr(scheduled, "IN_RUN_PAGE", 1)  # as a channel of more than 20,000 listings
    item = item_with_stock(api, "MUG", 3)
    for n in range(3):
        listing(shop, f"MUG-{n}", item, last_update=db.now() - timedelta(hours=7))
    db.CatalogueStatusRecord(**db.CatalogueStatusRecord.keys(shop), channel_id=shop, total_linked=60).save()
    submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())
    handover = scheduled.Handover(Jobs(), JobQueue(stack.ref("JobsQueue")))

    summary = scheduled.run_scheduled_sync(submitter, time_left=lambda: 59.0, handover=handover)
    scheduled.run_scheduled_sync(submitter, time_left=lambda: 59.0, handover=handover)  # the tick delivered twice
    sent_by_the_run = sent_skus(website)
    messages = queued_jobs(stack)
    for message in messages + messages:  # and each job message twice
        run_job(message, lambda: PLENTY)

    job_id = summary["channels"][shop]["job_id"]
    assert sent_by_the_run == [] and job_id.startswith("slice-")
    assert [m.kind for m in messages] == ["stock_sync_slice", "stock_sync_slice"]
    assert sent_skus(website) == ["MUG-0", "MUG-1", "MUG-2"]  # once: the second delivery found the job done
    assert Jobs().get(job_id).status == "succeeded"
    assert read_listing(shop, "MUG-2").submitted_quantity == 3


@pytest.fixture
def outlet(api, shop, monkeypatch):
    """A second web-shop channel, on a site of its own; it and `shop` have two listings of one item each,
    sent long ago, and count 60 linked (a slice of 3 a run), too big for the run (IN_RUN_PAGE 1):
    (its channel id, its site, the item)."""
    monkeypatch.setattr(scheduled, "IN_RUN_PAGE", 1)
    item = item_with_stock(api, "MUG", 3)
    with GenericStandIn(listings=[DemoListing(f"MUG-{n}", "Mug", 9.0, 0, str(n)) for n in range(2)]) as site:
        channel_id = generic_channel(api, site, name="Outlet")
        for channel in (shop, channel_id):
            for n in range(2):
                listing(channel, f"MUG-{n}", item, last_update=db.now() - timedelta(hours=7))
            db.CatalogueStatusRecord(**db.CatalogueStatusRecord.keys(channel), channel_id=channel,
                                     total_linked=60).save()
        yield channel_id, site, item


def test_given_two_channels_too_big_for_the_run_when_the_schedule_comes_then_one_job_sends_both_in_one_submission(
        stack, website, shop, outlet, fast_jobs, *, monkeypatch):
    other, other_site, item = outlet
    summary, messages = run_handing_over(stack, StockSubmitter(ParameterStore(),
                                                               adapter_factory=fast_adapter_factory()))
    stock_reads = counting_stock_reads(monkeypatch)
    for message in messages:
        run_job(message, lambda: PLENTY)

    assert [m.kind for m in messages] == ["stock_sync_slice"]
    assert summary["channels"][shop]["job_id"] == summary["channels"][other]["job_id"]
    assert sent_skus(website) == sent_skus(other_site) == ["MUG-0", "MUG-1"]
    assert stock_reads == [[item]]  # one submission: the item's stock read once for both channels
    assert Jobs().get(messages[0].job_id).result["channels"] == 2


def test_given_big_channels_whose_slices_exceed_one_jobs_share_then_each_job_holds_at_most_its_share(
        stack, website, shop, outlet, fast_jobs, *, monkeypatch):
    other, other_site, _item = outlet
    monkeypatch.setattr(scheduled, "SLICE_JOB_LISTINGS", 3)  # one channel's slice
    summary, messages = run_handing_over(stack, StockSubmitter(ParameterStore(),
                                                               adapter_factory=fast_adapter_factory()))
    for message in messages:
        run_job(message, lambda: PLENTY)

    assert [m.kind for m in messages] == ["stock_sync_slice", "stock_sync_slice"]
    assert summary["channels"][shop]["job_id"] != summary["channels"][other]["job_id"]
    assert sent_skus(website) == sent_skus(other_site) == ["MUG-0", "MUG-1"]


def test_given_the_jobs_queue_refusing_a_slice_job_then_the_channels_sent_in_the_run_still_sync(
        stack, website, shop, outlet, fast_jobs, *, monkeypatch):
    other, other_site, _item = outlet
    monkeypatch.setattr(scheduled, "IN_RUN_PAGE", 2)
    db.CatalogueStatusRecord(**db.CatalogueStatusRecord.keys(other), channel_id=other, total_linked=20).save()
    handover = scheduled.Handover(Jobs(), JobQueue(stack.ref("JobsQueue")))

    def refused(message: JobMessage) -> None:
        raise RuntimeError("the jobs queue is unavailable")

    monkeypatch.setattr(handover.queue, "send", refused)
    submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())
    summary = scheduled.run_scheduled_sync(submitter, time_left=lambda: 59.0, handover=handover)

    assert "unavailable" in summary["channels"][shop]["failed"]  # a slice of 3: for a job that could not be queued
    assert sent_skus(website) == []
    assert sent_skus(other_site) == ["MUG-0", "MUG-1"]  # a slice of 2: sent by the run itself


def test_given_a_scheduled_run_out_of_time_when_it_hands_a_channel_over_then_the_pass_reads_its_processing_imports(
        api, stack, fast_jobs):
    lamp = DemoListing("LAMP-1", "Lamp", 30.0, 2, "2001")
    with mirakl.MiraklStandIn(listings=[lamp]) as standin:
        answer = api.post("/channels", {"name": "Pixmania", "type": "pixmania", "settings": {"base_url": standin.url},
                                        "credentials": {"api_key": mirakl.API_KEY}})
        shop = answer.body["channel_id"]
        item = item_with_stock(api, "LAMP-1", 4)
        listing(shop, "LAMP-1", item, price=27.5, channel_listing_id="2001")
        submitter = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory())
        submitter.reconcile({"m": StockChange(reason="t", item_ids=[item])})  # OF24 accepted, processing
        assert read_listing(shop, "LAMP-1").update_status == "pending"

        scheduled.run_scheduled_sync(submitter, time_left=lambda: 10.0,  # a slow channel before it used the time
                                     handover=scheduled.Handover(Jobs(), JobQueue(stack.ref("JobsQueue"))))
        for message in queued_jobs(stack):
            run_job(message, lambda: PLENTY)

        recorded = read_listing(shop, "LAMP-1")
        assert (recorded.update_status, recorded.submitted_quantity) == ("ok", 4)
        assert standin.listing("LAMP-1").quantity == 4


def test_given_two_submitters_finishing_out_of_order_when_the_older_records_last_then_the_newer_record_stays(
        api, stack, website, shop):
    mug = item_with_stock(api, "MUG-BLACK", 5)
    listing(shop, "MUG-BLACK", mug)
    now = db.now()
    newer = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory(), clock=lambda: now)
    older = StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory(),
                           clock=lambda: now - timedelta(seconds=2))  # read its stock before the newer one
    newer.reconcile({"b": StockChange(reason="t", item_ids=[mug])})
    set_stock(api, mug, 4)

    older.reconcile({"a": StockChange(reason="t", item_ids=[mug])})  # sent 4, finishing after the newer one

    recorded = read_listing(shop, "MUG-BLACK")
    assert recorded.submitted_quantity == 5 and recorded.submitted_as_of == now
    assert (recorded.update_status, recorded.update_error) == ("retrying", CONCURRENT_SUBMISSION)
    newer.reconcile({"c": StockChange(reason="t", item_ids=[mug])})  # the next run sends the current target
    assert [post.json()["items"][0]["quantity"] for post in stock_posts(website)] == [5, 4, 4]
    assert read_listing(shop, "MUG-BLACK").submitted_quantity == 4


class ShortContext:
    function_name = "JobsWorkerFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:JobsWorkerFunction"
    aws_request_id = "req"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000  # under the pass's margin: no page may start


def test_given_the_jobs_worker_near_its_timeout_when_a_force_update_arrives_then_it_is_handed_over_untouched(
        stack, website, shop, five_listings, fast_jobs):
    first = force_update(stack, shop)
    worker = load_handler(load_template(), "JobsWorkerFunction")
    event = {"Records": [{"messageId": "m1", "receiptHandle": "r1", "body": first.model_dump_json(), "attributes": {},
                          "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                          "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:jobs", "awsRegion": "eu-west-1"}]}

    answer = worker(event, ShortContext())

    assert answer == {"batchItemFailures": []}
    [continued] = queued_jobs(stack)
    assert (continued.job_id, continued.payload["cursor"]) == (first.job_id, None)
    assert stock_posts(website) == [] and Jobs().get(first.job_id).done == 0


def run_force_update_job(message, time_left) -> None:
    """What the jobs worker does with a Force Update message."""
    wiring(JobsWorkerSettings).job_handlers["stock_force_update"](message, time_left)


def run_job(message: JobMessage, time_left) -> None:
    """What the jobs worker does with any job message."""
    wiring(JobsWorkerSettings).job_handlers[message.kind](message, time_left)
