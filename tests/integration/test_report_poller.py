"""The report poller and the catalogue report screens, on the embedded AWS with channel stand-ins."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from infrastructure.standins import amazon, rakuten
from stocksync.api.context import services
from stocksync.catalogue.documents import CatalogueBucket
from stocksync.catalogue.retrieval import CatalogueRequests
from stocksync.channels.registry import build_adapter
from stocksync.channels.store import ChannelInput, ChannelPatch
from stocksync.channels.types import ChannelType
from stocksync.core import db
from stocksync.core.automation_log import AutomationLog
from stocksync.core.db import ReportRequestRecord
from stocksync.core.http_client import RetryPolicy, TokenCache
from stocksync.core.secrets import ParameterStore


class Clock:
    def __init__(self):
        self.now = db.now()

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def poller(stack, clock):
    def factory(account):
        return build_adapter(account, policy=RetryPolicy(max_attempts=2, base_delay=0, sleep=lambda _s: None),
                             tokens=TokenCache(), clock=clock)

    bucket = CatalogueBucket(services().settings.catalogue_bucket)
    return CatalogueRequests(services().channels, ParameterStore(), bucket, AutomationLog(), clock=clock,
                             adapter_factory=factory)


@pytest.fixture
def amazon_standin():
    with amazon.AmazonStandIn(polls_until_done=2) as standin:
        yield standin


def add_amazon(standin, enabled=True):
    return services().channels.create(ChannelInput(
        name="Amazon UK", type=ChannelType.AMAZON, enabled=enabled,
        settings={"sp_api_endpoint": standin.url, "lwa_endpoint": f"{standin.url}/auth/o2/token"},
        credentials={"lwa_client_id": amazon.CLIENT_ID, "lwa_client_secret": amazon.CLIENT_SECRET,
                     "refresh_token": amazon.REFRESH_TOKEN}))


def documents(channel_id):
    answer = boto3.client("s3").list_objects_v2(Bucket=services().settings.catalogue_bucket,
                                                Prefix=f"catalogues/{channel_id}/")
    return [item["Key"] for item in answer.get("Contents", [])]


def test_given_an_amazon_channel_when_ticks_run_then_one_report_one_document_even_when_ticks_repeat(
        poller, amazon_standin):
    channel = add_amazon(amazon_standin)

    assert poller.tick("frequent")[channel.channel_id] == "requested"
    assert poller.tick("frequent")[channel.channel_id] == "in_progress"
    assert poller.tick("frequent")[channel.channel_id] == "done"
    assert poller.tick("frequent")[channel.channel_id] == "idle"  # the same tick again: nothing new

    keys = documents(channel.channel_id)
    assert len(keys) == 1 and len(amazon_standin.reports) == 1
    assert keys[0].startswith(f"catalogues/{channel.channel_id}/amazon_merchant_listings/")
    assert keys[0].endswith(f"-{next(iter(amazon_standin.reports))}.tsv.gz")
    head = boto3.client("s3").head_object(Bucket=services().settings.catalogue_bucket, Key=keys[0])
    assert head["ContentType"] == "text/plain; charset=Cp1252"
    assert amazon_standin.violations() == []
    kinds = [e.kind for e in AutomationLog().list(channel.channel_id, limit=10, cursor=None)[0]]
    assert "CATALOGUE_REPORT_REQUESTED" in kinds and "CATALOGUE_REPORT_DOWNLOADED" in kinds


def test_given_a_download_failing_half_way_when_retried_then_no_duplicate_report_or_document(
        poller, amazon_standin):
    channel = add_amazon(amazon_standin)
    poller.tick("frequent")
    poller.tick("frequent")
    amazon_standin.fail_next("download", 500, 500)

    assert poller.tick("frequent")[channel.channel_id].startswith("error")
    assert documents(channel.channel_id) == []
    assert poller.tick("frequent")[channel.channel_id] == "done"

    assert len(documents(channel.channel_id)) == 1
    assert len(amazon_standin.reports) == 1


def test_given_a_crash_after_requesting_when_the_lease_runs_out_then_the_report_is_adopted(
        poller, amazon_standin, clock):
    channel = add_amazon(amazon_standin)
    poller.tick("frequent")
    state = ReportRequestRecord.get(*ReportRequestRecord.keys(channel.channel_id).values())
    state.update(actions=[ReportRequestRecord.status.set("requesting"),
                          ReportRequestRecord.lease_until.set(clock.now + timedelta(minutes=1))])
    clock.now += timedelta(minutes=20)

    poller.tick("frequent")

    assert len(amazon_standin.reports) == 1


def test_given_no_amazon_report_when_the_status_is_asked_then_one_is_requested_and_it_says_so(api, amazon_standin):
    channel = add_amazon(amazon_standin)

    answer = api.get(f"/channels/{channel.channel_id}/catalogue/report")
    again = api.get(f"/channels/{channel.channel_id}/catalogue/report")

    assert answer.status == 200
    assert answer.body["status"] == "requested"
    assert "requested" in answer.body["message"] and "10 to 15 minutes" in answer.body["message"]
    assert again.body["status"] == "requested"
    assert len(amazon_standin.reports) == 1


def test_given_amazon_when_re_requested_then_confirmation_is_needed_and_the_answer_is_scheduled_not_ready(
        api, amazon_standin):
    channel = add_amazon(amazon_standin)
    path = f"/channels/{channel.channel_id}/catalogue/refresh"

    unconfirmed = api.post(path, {})
    confirmed = api.post(path, {"confirm": True})
    while_running = api.post(path, {"confirm": True})

    assert unconfirmed.status == 400 and unconfirmed.body["error"]["code"] == "confirmation_required"
    assert confirmed.status == 202
    assert "scheduled by Amazon, but it is not ready yet" in confirmed.body["message"]
    assert while_running.status == 202 and "not ready yet" in while_running.body["message"]
    assert len(amazon_standin.reports) == 1


@pytest.fixture
def rakuten_standin():
    with rakuten.RakutenStandIn() as standin:
        yield standin


def add_rakuten(standin, enabled=True):
    return services().channels.create(ChannelInput(
        name="Rakuten UK", type=ChannelType.RAKUTEN, enabled=enabled,
        settings={"base_url": standin.url, "shop_id": rakuten.SHOP_ID}, credentials={"api_key": rakuten.API_KEY}))


def test_given_a_disabled_rakuten_channel_when_force_refreshed_then_409_saying_why(api, rakuten_standin):
    channel = add_rakuten(rakuten_standin, enabled=False)

    answer = api.post(f"/channels/{channel.channel_id}/catalogue/refresh")

    assert answer.status == 409
    assert "only while the channel is enabled" in answer.body["error"]["message"]


def test_given_a_forced_rakuten_refresh_when_forced_again_within_4_hours_then_429_with_when(
        api, rakuten_standin, poller):
    channel = add_rakuten(rakuten_standin)
    path = f"/channels/{channel.channel_id}/catalogue/refresh"

    first = api.post(path)
    second = api.post(path)
    outcomes = poller.tick("frequent")  # a forced refresh does not wait for the 30-minute schedule

    assert first.status == 202
    assert second.status == 429
    assert "once in 4 hours" in second.body["error"]["message"]
    assert second.body["error"]["details"]["allowed_at"]
    assert int(second.headers["Retry-After"]) > 3 * 3600
    assert outcomes[channel.channel_id] == "done"
    events = AutomationLog().list(channel.channel_id, limit=20, cursor=None)[0]
    assert {e.kind for e in events} == {"RAKUTEN_MAPPING_SYNC"}


def test_given_rakuten_schedules_when_a_channel_is_newly_enabled_then_it_is_fetched_at_the_next_interval(
        poller, rakuten_standin, clock):
    channel = add_rakuten(rakuten_standin, enabled=False)
    assert channel.channel_id not in poller.tick("rakuten")
    services().channels.update(channel.channel_id, ChannelPatch(enabled=True))

    assert channel.channel_id not in poller.tick("frequent")  # Rakuten is on its 30-minute schedule
    assert poller.tick("rakuten")[channel.channel_id] == "done"
    clock.now += timedelta(minutes=30)
    assert poller.tick("rakuten")[channel.channel_id] == "done"
    assert len(documents(channel.channel_id)) == 2


def test_given_the_next_rakuten_retrieval_within_5_minutes_when_the_status_is_read_then_it_warns(
        poller, rakuten_standin, clock):
    channel = add_rakuten(rakuten_standin)
    poller.tick("rakuten")

    clock.now += timedelta(minutes=10)
    calm = poller.status(channel.channel_id)
    clock.now += timedelta(minutes=16)
    close = poller.status(channel.channel_id)

    assert calm.warning is None
    assert close.warning and "within 5 minutes" in close.warning
    assert close.status == "done"


def test_given_a_forced_rakuten_refresh_when_the_next_tick_is_too_close_then_the_screen_announces_the_one_after(
        api, poller, rakuten_standin, clock):
    channel = add_rakuten(rakuten_standin)
    first_tick = clock.now
    poller.tick("frequent")
    poller.tick("rakuten")
    clock.now += timedelta(minutes=10)
    api.post(f"/channels/{channel.channel_id}/catalogue/refresh")
    assert poller.tick("frequent")[channel.channel_id] == "done"  # the forced retrieval

    clock.now = first_tick + timedelta(minutes=27)
    before_the_skipped_tick = poller.status(channel.channel_id)
    clock.now = first_tick + timedelta(minutes=30)
    skipped = poller.tick("rakuten")[channel.channel_id]
    clock.now = first_tick + timedelta(minutes=56)
    before_the_real_one = poller.status(channel.channel_id)

    assert before_the_skipped_tick.warning is None
    assert before_the_skipped_tick.next_retrieval_at == first_tick + timedelta(minutes=60)
    assert skipped == "idle" and len(documents(channel.channel_id)) == 2
    assert before_the_real_one.warning and "within 5 minutes" in before_the_real_one.warning
    clock.now = first_tick + timedelta(minutes=60)
    assert poller.tick("rakuten")[channel.channel_id] == "done"


def test_given_schedules_running_faster_than_on_aws_when_the_status_is_read_then_it_announces_the_real_tick(
        poller, rakuten_standin, clock):
    channel = add_rakuten(rakuten_standin)
    started = clock.now
    poller.tick("rakuten")  # retrieves
    clock.now += timedelta(seconds=7.5)
    poller.tick("rakuten")  # too soon: the schedule runs every 7.5 s here, the report is due after 27 minutes

    announced = poller.status(channel.channel_id).next_retrieval_at

    assert announced is not None and started + timedelta(minutes=27) <= announced < started + timedelta(minutes=27.2)
    assert (announced - started) % timedelta(seconds=7.5) == timedelta(0)
    clock.now = announced - timedelta(minutes=4)
    assert poller.status(channel.channel_id).warning
    clock.now = announced
    assert poller.tick("rakuten")[channel.channel_id] == "done"


def test_given_a_retrieved_catalogue_when_the_catalogue_is_read_then_it_says_the_reports_state_and_requests_none(
        api, poller, amazon_standin):
    channel = add_amazon(amazon_standin)
    untouched = api.get(f"/channels/{channel.channel_id}/catalogue").body["report"]
    assert untouched["status"] == "none" and amazon_standin.reports == {}

    for _ in range(3):
        poller.tick("frequent")
    catalogue = api.get(f"/channels/{channel.channel_id}/catalogue").body
    report = api.get(f"/channels/{channel.channel_id}/catalogue/report").body

    assert catalogue["report"]["status"] == report["status"] == "done"
    assert catalogue["report"]["document_key"] == report["document_key"] == documents(channel.channel_id)[0]
