"""Auto-link on the mapping queue and create-all on the jobs queue: counts, totals, idempotent repeats."""

from __future__ import annotations

import json

import boto3
import pytest
from test_mapping_api import add_listings, totals_are_true

from infrastructure.local.template import load_handler, load_template
from stocksync.core.db import ListingRecord
from stocksync.mapping import store


class _Context:
    function_name = "fn"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:fn"
    aws_request_id = "req"


def _event(*bodies: dict) -> dict:
    return {"Records": [
        {"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": json.dumps(body), "attributes": {},
         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
         "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:q", "awsRegion": "eu-west-1"}
        for i, body in enumerate(bodies)]}


@pytest.fixture
def mapper(stack):
    return load_handler(load_template(), "AutoMapperFunction")


@pytest.fixture
def worker(stack):
    return load_handler(load_template(), "JobsWorkerFunction")


def _queued(stack, queue: str) -> list[dict]:
    got = boto3.client("sqs").receive_message(QueueUrl=stack.ref(queue), MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def _linked(channel_id: str) -> dict[str, str | None]:
    return {r.sku: r.linked_item_id for r in ListingRecord.query(f"CHANNEL#{channel_id}",
                                                                 ListingRecord.SK.startswith("LISTING#"))}


def test_given_matching_skus_when_auto_link_is_asked_then_the_mapper_links_them_and_reports(
        api, stack, mapper, stock_messages):
    channel = api.post("/channels", {"name": "eBay", "type": "ebay"}).body["channel_id"]
    a = api.post("/items", {"sku": "ABC-1"}).body["item_id"]
    b = api.post("/items", {"sku": "def 2"}).body["item_id"]
    add_listings(channel, {"sku": " abc-1"}, {"sku": "DEF 2"}, {"sku": "none"}, {"sku": "abc-1x", "removed": True})
    stock_messages()

    job = api.post(f"/channels/{channel}/mapping/auto-link")
    message = _queued(stack, "MappingQueue")
    result = mapper(_event(*message), _Context())

    assert job.status == 202 and message == [{"channel_id": channel, "reason": "requested",
                                              "job_id": job.body["job_id"]}]
    assert result == {"batchItemFailures": []}
    assert _linked(channel) == {" abc-1": a, "DEF 2": b, "none": None, "abc-1x": None}
    done = api.get(f"/jobs/{job.body['job_id']}").body
    assert done["status"] == "succeeded"
    assert {k: done["result"][k] for k in ("candidates", "linked", "ambiguous", "unmatched")} == {
        "candidates": 3, "linked": 2, "ambiguous": 0, "unmatched": 1}
    assert totals_are_true(api, channel) == {"active": 3, "linked": 2, "unlinked": 1, "fba": 0}
    assert stock_messages()[0]["item_ids"] == sorted([a, b])
    assert api.get(f"/channels/{channel}/events", kind="AUTO_LINK").body["events"][0]["details"]["linked"] == 2

    mapper(_event(*message), _Context())  # the same message again: the job is done, nothing happens
    again = api.post(f"/channels/{channel}/mapping/auto-link")
    mapper(_event(*_queued(stack, "MappingQueue")), _Context())
    assert api.get(f"/jobs/{again.body['job_id']}").body["result"]["linked"] == 0
    assert totals_are_true(api, channel)["linked"] == 2 and stock_messages() == []


def test_given_a_load_message_delivered_twice_when_handled_then_one_run_links_once(api, stack, mapper):
    channel = api.post("/channels", {"name": "Shop", "type": "generic"}).body["channel_id"]
    api.post("/items", {"sku": "A"})
    add_listings(channel, {"sku": "a"})
    body = {"channel_id": channel, "load_id": "load-1", "reason": "catalogue_loaded"}

    assert mapper(_event(body, body), _Context()) == {"batchItemFailures": []}

    job = api.get("/jobs/autolink-load-1").body
    assert job["status"] == "succeeded" and job["result"]["linked"] == 1
    assert totals_are_true(api, channel)["linked"] == 1


def test_given_a_load_that_counted_no_unlinked_listing_when_auto_linked_then_the_listings_are_not_read(
        api, stack, mapper, monkeypatch):
    channel = api.post("/channels", {"name": "Shop", "type": "generic"}).body["channel_id"]
    api.post("/items", {"sku": "A"})
    add_listings(channel, {"sku": "a"})
    after = {"channel_id": channel, "load_id": "load-2", "reason": "catalogue_loaded", "unlinked": 1}
    assert mapper(_event(after), _Context()) == {"batchItemFailures": []}
    assert api.get("/jobs/autolink-load-2").body["result"]["linked"] == 1

    def read_whole_channel(*args, **kwargs):
        raise AssertionError("a channel whose listings are all linked was read again")

    monkeypatch.setattr(store, "listing_facts", read_whole_channel)
    every_listing_linked = {"channel_id": channel, "load_id": "load-3", "reason": "catalogue_loaded", "unlinked": 0}
    assert mapper(_event(every_listing_linked), _Context()) == {"batchItemFailures": []}

    job = api.get("/jobs/autolink-load-3").body
    assert job["status"] == "succeeded"
    assert {k: job["result"][k] for k in ("candidates", "linked")} == {"candidates": 0, "linked": 0}
    assert totals_are_true(api, channel)["linked"] == 1


def test_given_barcodes_and_one_listing_per_item_when_auto_linked_then_ambiguity_links_none(api, stack, mapper):
    settings = {"mapping": {"auto_link_by": "barcode", "one_listing_per_item": True}}
    channel = api.post("/channels", {"name": "Amazon", "type": "amazon", "settings": settings}).body["channel_id"]
    solo = api.post("/items", {"sku": "OURS-1", "barcode": "5012345678900"}).body["item_id"]
    api.post("/items", {"sku": "OURS-2", "barcode": "0000000000017"})
    add_listings(channel, {"sku": "theirs-1", "barcode": "5012345678900"},
                 {"sku": "x1", "barcode": "17"}, {"sku": "x2", "barcode": "00017"})

    job = api.post(f"/channels/{channel}/mapping/auto-link").body["job_id"]
    mapper(_event(*_queued(stack, "MappingQueue")), _Context())

    result = api.get(f"/jobs/{job}").body["result"]
    assert _linked(channel) == {"theirs-1": solo, "x1": None, "x2": None}
    assert result["ambiguous"] == 2 and result["ambiguous_listings"][0]["skus"] == ["x1", "x2"]
    totals_are_true(api, channel)


def test_given_a_malformed_message_when_handled_then_only_it_fails_back_to_the_queue(api, mapper):
    channel = api.post("/channels", {"name": "Shop", "type": "generic"}).body["channel_id"]

    result = mapper(_event({"nope": 1}, {"channel_id": channel, "reason": "requested"}), _Context())

    assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}]}


def test_given_unlinked_listings_when_create_all_runs_then_items_are_created_linked_and_taken_skus_skipped(
        api, stack, worker, stock_messages):
    channel = api.post("/channels", {"name": "Pix", "type": "pixmania"}).body["channel_id"]
    taken = api.post("/items", {"sku": "TAKEN"}).body["item_id"]
    add_listings(channel, *({"sku": f"N-{i}", "quantity": i, "price": 2} for i in range(25)), {"sku": "taken"},
                 {"sku": "old", "removed": True})
    stock_messages()

    job = api.post(f"/channels/{channel}/mapping/create-all").body
    messages = _queued(stack, "JobsQueue")
    assert worker(_event(*messages), _Context()) == {"batchItemFailures": []}
    worker(_event(*messages), _Context())  # delivered twice: the job is done

    done = api.get(f"/jobs/{job['job_id']}").body
    assert done["status"] == "succeeded" and done["result"] == {"created": 25, "skipped": 1, "listings": 26}
    assert done["errors"][0]["sku"] == "taken" and done["errors"][0]["item_id"] == taken
    linked = _linked(channel)
    assert linked["taken"] is None and linked["old"] is None
    assert all(linked[f"N-{i}"] for i in range(25))
    item = api.get(f"/items/{linked['N-7']}").body
    assert item["sku"] == "N-7" and item["retail_price"] == 2 and item["stock"][0]["level"] == 7
    assert totals_are_true(api, channel) == {"active": 26, "linked": 25, "unlinked": 1, "fba": 0}
    assert len(stock_messages()[0]["item_ids"]) == 25
    assert len(store.item_ids_by_sku_key(f"n-{i}" for i in range(25))) == 25


def test_given_listings_changed_after_the_plan_when_links_are_written_then_they_are_skipped_and_the_rest_linked(
        api, stack):
    from stocksync.core.jobs import Jobs
    from stocksync.mapping.rules import Link

    channel = api.post("/channels", {"name": "Shop", "type": "generic"}).body["channel_id"]
    items = {sku: api.post("/items", {"sku": sku}).body["item_id"] for sku in ("A", "B", "C")}
    add_listings(channel, {"sku": "a"}, {"sku": "b"}, {"sku": "c"})
    job = Jobs().create("mapping_auto_link", subject=channel)
    api.put(f"/channels/{channel}/listings/b/link", {"item_id": items["C"]})  # linked by hand meanwhile
    ListingRecord(**ListingRecord.keys(channel, "c")).update(actions=[ListingRecord.removed.set(True)])
    plan = [Link(sku.lower(), sku.lower(), items[sku], "sku") for sku in ("A", "B", "C")]

    written = store.ListingWriter().link(channel, plan, progress=lambda n: Jobs.progress_update(job.job_id, n))

    assert [link.sku for link in written.applied] == ["a"]
    assert [(refused.change.sku, refused.reason) for refused in written.refused] == [
        ("b", "listing_changed"), ("c", "listing_changed")]
    assert _linked(channel) == {"a": items["A"], "b": items["C"], "c": None}
    linked = ListingRecord.get(f"CHANNEL#{channel}", "LISTING#a")
    assert (f"ITEM#{items['A']}", f"LISTING#{channel}#a") == (linked.GSI4PK, linked.GSI4SK)
    assert Jobs().get(job.job_id).done == 1
    assert store.totals(channel).total_linked == 2  # b by hand, a here (c is removed: counts in none)


def test_given_more_candidates_than_claim_lookups_when_auto_linked_then_the_sku_index_matches_current_skus(
        api, stack, mapper, monkeypatch):
    from stocksync.mapping import bulk

    monkeypatch.setattr(bulk, "CLAIMS_UP_TO", 0)  # every run reads the SKU claims' index partition
    channel = api.post("/channels", {"name": "Shop", "type": "generic"}).body["channel_id"]
    renamed = api.post("/items", {"sku": "OLD"}).body["item_id"]
    api.patch(f"/items/{renamed}", {"sku": "NEW"})
    gone = api.post("/items", {"sku": "GONE"}).body["item_id"]
    api.delete(f"/items/{gone}")
    add_listings(channel, {"sku": "new"}, {"sku": "old"}, {"sku": "gone"})

    job = api.post(f"/channels/{channel}/mapping/auto-link").body["job_id"]
    mapper(_event(*_queued(stack, "MappingQueue")), _Context())

    assert _linked(channel) == {"gone": None, "new": renamed, "old": None}
    assert api.get(f"/jobs/{job}").body["result"]["unmatched"] == 2
    totals_are_true(api, channel)
