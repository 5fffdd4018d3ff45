"""PIM runs: Run Now and the schedule queue jobs; the jobs worker runs them against the Akeneo stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from pim_support import JobsWorker, connection_body, contract_violations, full_profile

from infrastructure.local.template import load_handler, load_template
from infrastructure.standins.akeneo import AkeneoStandIn, demo_product, demo_products
from stocksync.api.context import services
from stocksync.core.http_client import RetryPolicy
from stocksync.core.settings import JobsWorkerSettings
from stocksync.wiring import wiring


@pytest.fixture(scope="module")
def akeneo_server() -> Iterator[AkeneoStandIn]:
    with AkeneoStandIn() as standin:
        yield standin
    assert contract_violations(standin) == []  # every exchange of this module follows the Akeneo document


@pytest.fixture
def akeneo(akeneo_server: AkeneoStandIn) -> Iterator[AkeneoStandIn]:
    akeneo_server.products = demo_products()
    akeneo_server.grants.clear()
    yield akeneo_server
    akeneo_server.delay_s = 0.0


@pytest.fixture
def waits(api) -> list[float]:
    recorded: list[float] = []
    for connections in (services().pim.connections, worker_wiring().pim_connections):
        connections.policy = RetryPolicy(max_attempts=3, sleep=recorded.append)
    return recorded


def worker_wiring():
    """The jobs worker's objects: PIM runs run there."""
    return wiring(JobsWorkerSettings)


@pytest.fixture
def worker(stack) -> JobsWorker:
    return JobsWorker(stack.ref("JobsQueue"))


@pytest.fixture
def channel_id(api) -> str:
    return api.post("/channels", {"name": "Web shop", "type": "generic"}).body["channel_id"]


@pytest.fixture
def setup(api, akeneo, waits, channel_id):
    """A connection to the stand-in, an existing item MUG-BLUE, and a profile with every setting."""
    api.put("/pim/connection", connection_body(akeneo.url))
    mug = api.post("/items", {"sku": "mug-blue", "title": "Old title", "retail_price": 1}).body

    def profile(**overrides) -> str:
        answer = api.post("/pim/profiles", full_profile(channel_id, **overrides))
        assert answer.status == 201, answer.body
        return answer.body["profile_id"]

    return {"mug": mug["item_id"], "profile": profile}


def _item(api, sku: str) -> dict | None:
    found = api.get("/items", sku_prefix=sku).body["items"]
    match = [item for item in found if item["sku"] == sku]
    return api.get(f"/items/{match[0]['item_id']}").body if match else None


def _run(api, worker: JobsWorker, profile_id: str) -> dict:
    queued = api.post(f"/pim/profiles/{profile_id}/run")
    assert queued.status == 202
    assert queued.body["status"] == "queued" and "not be in real time" in queued.body["message"]
    worker.drain()
    return api.get(f"/jobs/{queued.body['job_id']}").body


def test_given_a_full_profile_when_run_now_then_every_mapping_target_is_written(api, akeneo, worker, setup,
                                                                                 channel_id):
    job = _run(api, worker, setup["profile"]())

    assert job["status"] == "succeeded", job
    assert (job["total"], job["done"]) == (6, 6)
    assert job["result"]["created"] == 4 and job["result"]["updated"] == 1
    mug = api.get(f"/items/{setup['mug']}").body
    assert mug["sku"] == "mug-blue"  # matched case-insensitively; the seller's SKU is kept
    assert (mug["title"], mug["retail_price"], mug["purchase_price"]) == ("Ceramic mug, blue", 9.9, 3.96)
    assert mug["description"] == "<p>Ceramic mug, blue, described for the web shop.</p>"
    assert mug["channel_fields"][channel_id] == {"price": 9.9, "title": "Ceramic mug, blue - free delivery",
                                                 "description": "Ceramic mug, blue in short"}
    assert mug["barcode"].startswith("50")
    assert mug["weight"] == 0.35  # 350 GRAM in KILOGRAM
    assert mug["dimensions"] == {"width": 9.0, "height": 11.0, "depth": 90.0}  # MILLIMETER in CENTIMETER, MILLIMETER
    assert mug["extended_properties"]["akeneo_color"] == "blue"
    assert mug["extended_properties"]["akeneo_weight"] == "350 GRAM"
    assert mug["images"] == ["pim-media/mug_blue_main.png"]
    stored = boto3.client("s3").get_object(Bucket=worker_wiring().pim_runner.bucket, Key="pim-media/mug_blue_main.png")
    assert stored["Body"].read().startswith(b"\x89PNG")
    assert _item(api, "AK-LAMP-01")["weight"] == 1.5


def test_given_a_product_with_a_broken_value_when_run_then_it_is_reported_and_skipped(api, akeneo, worker, setup):
    job = _run(api, worker, setup["profile"]())

    assert job["status"] == "succeeded"
    assert job["error_count"] == 1
    assert job["errors"] == [{"sku": "AK-BROKEN-01", "attribute": "price",
                              "reason": "price 'not-a-number' is not a number"}]
    assert _item(api, "AK-BROKEN-01") is None
    assert _item(api, "CAP-NAVY") is not None  # the products after it were still written


def test_given_product_creation_off_when_run_then_only_existing_items_are_updated(api, akeneo, worker, setup):
    settings = full_profile("x")["product_settings"] | {"product_creation": False}
    job = _run(api, worker, setup["profile"](product_settings=settings, price_mappings=[], title_mappings=[
        {"attribute": "name", "target": "item_title"}], description_mappings=[]))

    assert job["result"]["created"] == 0 and job["result"]["not_created"] == 5  # the broken price is not mapped here
    assert api.get(f"/items/{setup['mug']}").body["title"] == "Ceramic mug, blue"
    assert _item(api, "AK-LAMP-01") is None


def test_given_a_finished_run_when_run_again_then_nothing_changes(api, akeneo, worker, setup):
    profile_id = setup["profile"]()
    _run(api, worker, profile_id)
    before = api.get(f"/items/{setup['mug']}").body

    again = _run(api, worker, profile_id)

    assert again["result"]["created"] == again["result"]["updated"] == again["result"]["images"] == 0
    assert again["result"]["unchanged"] == 5
    assert api.get(f"/items/{setup['mug']}").body["updated_at"] == before["updated_at"]
    runs = api.get(f"/pim/profiles/{profile_id}/runs").body["jobs"]
    assert runs[0]["job_id"] == again["job_id"] and len(runs) == 2


def test_given_a_token_that_expires_mid_run_when_run_then_it_is_refreshed_once(api, akeneo, worker, setup):
    profile_id = setup["profile"]()
    assert worker_wiring().pim_connections.test().success is True  # the worker holds a token now
    akeneo.expire_tokens()
    akeneo.grants.clear()

    job = _run(api, worker, profile_id)

    assert job["status"] == "succeeded"
    assert akeneo.grants == ["refresh_token"]
    assert job["result"]["token_renewals"] == 1


def test_given_akeneo_throttles_when_run_then_retry_after_is_honoured(api, akeneo, worker, setup, waits):
    profile_id = setup["profile"]()
    akeneo.throttle(times=1, retry_after=2)

    job = _run(api, worker, profile_id)

    assert job["status"] == "succeeded"
    assert any(wait >= 2 for wait in waits)
    assert [e.status for e in akeneo.exchanges].count(429) >= 1


def test_given_parallel_image_downloads_when_run_then_at_most_4_calls_are_in_flight(api, akeneo, worker, setup):
    akeneo.products = [demo_product(f"IMG-{n}", f"Image {n}", ["mugs"], "1", image="mug_blue_main.png" if n % 2
                                    else "lamp_main.png") for n in range(10)]
    for n in range(10):  # one media code per product: ten downloads at once
        code = f"img_{n}.png"
        akeneo.media[code] = akeneo.media["lamp_main.png"]
        akeneo.products[n]["values"]["main_image"] = [{"data": code}]
    akeneo.delay_s = 0.05
    akeneo.peak_in_flight = 0

    job = _run(api, worker, setup["profile"]())

    assert job["result"]["images"] == 10
    assert 1 < akeneo.peak_in_flight <= 4


def test_given_more_than_a_page_and_no_time_left_when_run_then_the_run_continues_with_search_after(
        api, akeneo, worker, setup):
    akeneo.products = [demo_product(f"BULK-{n:03d}", f"Bulk {n}", ["mugs"], "2") for n in range(105)]
    worker_wiring().pim_runner.time_budget_s = 0  # hand over after every page

    job = _run(api, worker, setup["profile"](product_settings={"product_creation": False}))

    assert job["status"] == "succeeded" and (job["total"], job["done"]) == (105, 105)
    assert job["result"]["not_created"] == 105
    assert worker.invocations == 2
    searches = [e for e in akeneo.exchanges if e.path.endswith("/products-uuid") and "search_after" in e.query]
    assert searches and searches[-1].query["limit"] == ["100"]


def test_given_enabled_profiles_when_the_schedule_fires_then_runs_are_queued_for_updated_products(
        api, akeneo, worker, setup, stack):
    enabled = setup["profile"]()
    setup["profile"](name="Off", enabled=False)
    schedule = load_handler(load_template(), "PimSyncFunction")
    first = schedule(_scheduled_event("e1"), _ScheduleContext())
    assert len(first["queued"]) == 1
    worker.drain()
    assert api.get(f"/pim/profiles/{enabled}").body["last_success_at"] is not None
    akeneo.products[0]["updated"] = datetime.now(UTC).isoformat()  # one product changes in the PIM

    second = schedule(_scheduled_event("e2"), _ScheduleContext())
    worker.drain()

    job = api.get(f"/jobs/{second['queued'][0]}").body
    assert job["status"] == "succeeded" and job["total"] == 1
    updated = [e for e in akeneo.exchanges if e.path.endswith("/products-uuid") and '"updated"' in
               e.query.get("search", [""])[0]]
    assert updated


def test_given_a_disabled_connection_when_the_schedule_fires_then_nothing_is_queued(api, akeneo, setup):
    setup["profile"]()
    api.patch("/pim/connection", {"enabled": False})
    schedule = load_handler(load_template(), "PimSyncFunction")
    assert schedule(_scheduled_event("e3"), _ScheduleContext()) == {"queued": []}


def _scheduled_event(event_id: str) -> dict:
    return {"version": "0", "id": event_id, "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2024-05-01T10:00:00Z", "region": "eu-west-1",
            "resources": ["arn:aws:events:eu-west-1:123456789012:rule/pim"], "detail": {}}


class _ScheduleContext:
    function_name = "PimSyncFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:PimSyncFunction"
    aws_request_id = "req"
