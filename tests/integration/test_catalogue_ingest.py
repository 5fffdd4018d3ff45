"""Catalogue files in the bucket become the channel's listings: snapshots, idempotent, never half-applied."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from infrastructure.local.template import load_handler, load_template
from stocksync.catalogue import load as load_module
from stocksync.catalogue.ingest_messages import handle_ingest_message
from stocksync.catalogue.load import LoadConfig
from stocksync.core import db
from stocksync.core.db import ListingRecord
from stocksync.core.settings import CatalogueIngestSettings
from stocksync.wiring import wiring

HEADER = "sku,title,price,quantity\n"


class _Context:
    function_name = "CatalogueIngestFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:CatalogueIngestFunction"
    aws_request_id = "req"


@pytest.fixture
def channel(api):
    answer = api.post("/channels", {"name": "Shop", "type": "generic", "settings": {}})
    assert answer.status == 201, answer.body
    return answer.body["channel_id"]


@pytest.fixture
def ingest(stack):
    """Reads the ingest queue (S3 notifications and fan-out tasks) and runs the handler until it is empty."""
    sqs = boto3.client("sqs")
    url = stack.ref("IngestQueue")
    handler = load_handler(load_template(), "CatalogueIngestFunction")

    def drain(config: LoadConfig | None = None) -> list[dict]:
        loader = wiring(CatalogueIngestSettings).build_catalogue_loader(config)
        seen = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            if not messages:
                return seen
            for message in messages:
                body = json.loads(message["Body"])
                seen.append(body)
                if config is None:
                    handler(_event(message["Body"]), _Context())
                else:
                    handle_ingest_message(loader, body)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    drain.handler = handler
    return drain


def _event(body: str, receive_count: int = 1) -> dict:
    return {"Records": [{"messageId": "m0", "receiptHandle": "r0", "body": body,
                         "attributes": {"ApproximateReceiveCount": str(receive_count)},
                         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:ingest", "awsRegion": "eu-west-1"}]}


def _s3_events(stack) -> list[dict]:
    """Takes the S3 notifications off the ingest queue (skipping s3:TestEvent) without handling them."""
    sqs, url = boto3.client("sqs"), stack.ref("IngestQueue")
    bodies = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        body = json.loads(message["Body"])
        if "Records" in body:
            bodies.append(body)
    return bodies


def _put(stack, key: str, text: str | bytes, content_type: str | None = None) -> None:
    data = text.encode() if isinstance(text, str) else text
    extra = {"ContentType": content_type} if content_type else {}
    boto3.client("s3").put_object(Bucket=stack.ref("CatalogueBucket"), Key=key, Body=data, **extra)


def _listings(channel_id: str) -> dict[str, ListingRecord]:
    return {r.sku: r for r in ListingRecord.query(db.channel_pk(channel_id))}


def _csv(rows: list[tuple]) -> str:
    return HEADER + "".join(",".join(str(v) for v in row) + "\n" for row in rows)


def test_given_an_uploaded_csv_when_ingested_then_listings_status_job_and_mapping_message_exist(stack, api, channel,
                                                                                               ingest):
    _put(stack, f"catalogues/{channel}/seller.csv", _csv([("A-1", "Alpha", "1.50", 3), ("b-2", "Beta", "2", 0)]))

    ingest()

    listings = _listings(channel)
    assert set(listings) == {"A-1", "b-2"}
    assert listings["A-1"].price == 1.5 and listings["A-1"].quantity == 3 and listings["A-1"].removed is False
    status = api.get(f"/channels/{channel}/catalogue").body
    assert status["last_load"]["status"] == "succeeded"
    assert status["totals"] == {**status["totals"], "active": 2, "linked": 0, "unlinked": 2}
    job = api.get(f"/jobs/{status['last_load']['job_id']}").body
    assert job["status"] == "succeeded" and job["result"]["created"] == 2
    page = api.get(f"/channels/{channel}/listings").body
    assert [row["sku"] for row in page["listings"]] == ["A-1", "b-2"]
    mapping = boto3.client("sqs").receive_message(QueueUrl=stack.ref("MappingQueue"), MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"]) for m in mapping["Messages"]]
    assert bodies == [{"channel_id": channel, "load_id": status["last_load"]["load_id"],
                       "reason": "catalogue_loaded", "unlinked": 2}]
    events = api.get(f"/channels/{channel}/events").body["events"]
    assert [e["kind"] for e in events] == ["CATALOGUE_LOADED"]


def test_given_a_loaded_catalogue_when_the_same_file_is_loaded_again_then_nothing_is_written(stack, api, channel,
                                                                                            ingest):
    text = _csv([("A-1", "Alpha", "1.50", 3), ("B-2", "Beta", "2", 0)])
    _put(stack, f"catalogues/{channel}/one.csv", text)
    ingest()
    _put(stack, f"catalogues/{channel}/two.csv", text)
    ingest()

    job = api.get(f"/jobs/{api.get(f'/channels/{channel}/catalogue').body['last_load']['job_id']}").body
    assert job["result"]["written"] == 0 and job["result"]["unchanged"] == 2


def test_given_a_listing_absent_from_a_complete_load_then_it_is_marked_removed_and_comes_back_when_listed(
        stack, channel, ingest):
    _put(stack, f"catalogues/{channel}/one.csv", _csv([("A-1", "Alpha", "1", 3), ("B-2", "Beta", "2", 0)]))
    ingest()
    _put(stack, f"catalogues/{channel}/two.csv", _csv([("A-1", "Alpha", "1", 4)]))
    ingest()

    listings = _listings(channel)
    assert listings["B-2"].removed is True and listings["B-2"].removed_at is not None
    assert listings["A-1"].quantity == 4

    _put(stack, f"catalogues/{channel}/three.csv", _csv([("A-1", "Alpha", "1", 4), ("B-2", "Beta", "2", 0)]))
    ingest()
    assert _listings(channel)["B-2"].removed is False


@pytest.mark.parametrize("bad", [
    _csv([("A-1", "Alpha", "abc", 3)]),
    _csv([("A-1", "Alpha", "1", 3), ("a-1", "Again", "1", 3)]),
    "sku,title,quantity\nA-1,Alpha,3\n",
    "",
    "sku,title,price,quantity\n",
])
def test_given_a_bad_file_when_ingested_then_nothing_changes_and_the_load_says_why(stack, api, channel, ingest, bad):
    _put(stack, f"catalogues/{channel}/good.csv", _csv([("Z-9", "Zed", "1", 1)]))
    ingest()

    _put(stack, f"catalogues/{channel}/bad.csv", bad)
    ingest()

    listings = _listings(channel)
    assert set(listings) == {"Z-9"} and listings["Z-9"].removed is False
    status = api.get(f"/channels/{channel}/catalogue").body
    assert status["last_load"]["status"] == "failed" and status["last_load"]["message"]
    errors = api.get(f"/channels/{channel}/catalogue/errors").body
    assert errors["errors"] and errors["file"].endswith("bad.csv")
    events = api.get(f"/channels/{channel}/events", kind="CATALOGUE_LOAD_FAILED").body["events"]
    assert len(events) == 1


def test_given_duplicate_skus_when_ingested_then_the_error_names_both_rows(stack, api, channel, ingest):
    _put(stack, f"catalogues/{channel}/dup.csv", _csv([("A-1", "Alpha", "1", 3), ("B", "B", "1", 1),
                                                       ("a-1", "Again", "1", 3)]))
    ingest()

    errors = api.get(f"/channels/{channel}/catalogue/errors").body["errors"]
    assert errors == [{"row": 4, "field": "sku", "reason": "duplicate SKU 'a-1': rows 2 and 4", "value": ""}]


def test_given_the_same_s3_event_twice_when_handled_then_the_file_is_loaded_once(stack, api, channel, ingest):
    _put(stack, f"catalogues/{channel}/one.csv", _csv([("A-1", "Alpha", "1", 3)]))
    bodies = ingest()
    ingest.handler(_event(json.dumps(bodies[0])), _Context())

    events = api.get(f"/channels/{channel}/events").body["events"]
    assert [e["kind"] for e in events] == ["CATALOGUE_LOADED"]


def test_given_an_older_file_event_arriving_late_then_it_does_not_overwrite_the_newer_load(stack, api, channel,
                                                                                          ingest):
    _put(stack, f"catalogues/{channel}/old.csv", _csv([("A-1", "Old", "1", 1)]))
    (old_body,) = _s3_events(stack)
    _put(stack, f"catalogues/{channel}/new.csv", _csv([("A-1", "New", "1", 2)]))
    (new_body,) = _s3_events(stack)
    old_body["Records"][0]["eventTime"] = "2000-01-01T00:00:00.000Z"

    ingest.handler(_event(json.dumps(new_body)), _Context())
    ingest.handler(_event(json.dumps(old_body)), _Context())

    assert _listings(channel)["A-1"].title == "New"
    assert api.get(f"/channels/{channel}/catalogue").body["last_load"]["status"] == "superseded"


def test_given_a_transient_failure_halfway_through_applying_when_retried_then_the_load_completes_once(
        stack, api, channel, ingest, monkeypatch):
    _put(stack, f"catalogues/{channel}/one.csv", _csv([(f"S-{i}", "T", "1", i) for i in range(30)]))
    body = json.dumps(_s3_events(stack)[0])
    real = load_module.CatalogueLoader._finish_load
    monkeypatch.setattr(load_module.CatalogueLoader, "_finish_load",
                        lambda self, load: (_ for _ in ()).throw(TimeoutError("the table took too long")))
    with pytest.raises(BatchProcessingError):  # the only record failed: Lambda returns it to the queue
        ingest.handler(_event(body), _Context())
    monkeypatch.setattr(load_module.CatalogueLoader, "_finish_load", real)
    assert api.get(f"/channels/{channel}/catalogue").body["last_load"]["status"] == "running"

    ingest.handler(_event(body, receive_count=2), _Context())

    assert len(_listings(channel)) == 30
    status = api.get(f"/channels/{channel}/catalogue").body
    assert status["last_load"]["status"] == "succeeded" and status["totals"]["active"] == 30


def test_given_a_file_split_in_byte_ranges_and_partitions_then_the_result_equals_a_single_pass(stack, api, ingest):
    extra = {7: "\nsecond line"}  # one quoted cell holds a newline: a cut may fall inside it
    text = HEADER + "".join(f'SKU-{i:04d},"Title ""{i}""{extra.get(i, "")}",{i}.5,{i}\n' for i in range(300))
    channels = [api.post("/channels", {"name": f"C{n}", "type": "generic", "settings": {}}).body["channel_id"]
                for n in range(2)]
    _put(stack, f"catalogues/{channels[0]}/all.csv", text)
    ingest()
    _put(stack, f"catalogues/{channels[1]}/all.csv", text)
    tasks = ingest(LoadConfig(range_bytes=2_000, rows_per_partition=70, run_rows=50))

    assert sum(1 for t in tasks if t.get("catalogue_task") == "range") > 3
    assert sum(1 for t in tasks if t.get("catalogue_task") == "apply") > 3
    single, split = _listings(channels[0]), _listings(channels[1])
    fields = ("title", "price", "quantity", "removed", "state")
    assert {s: tuple(getattr(r, f) for f in fields) for s, r in single.items()} == {
        s: tuple(getattr(r, f) for f in fields) for s, r in split.items()}
    assert len(split) == 300 and split["SKU-0007"].title == 'Title "7"\nsecond line'


def test_given_a_linked_listing_whose_reported_quantity_differs_from_the_submitted_one_then_its_item_is_requeued(
        stack, channel, ingest, stock_messages):
    _put(stack, f"catalogues/{channel}/one.csv", _csv([("A-1", "Alpha", "1", 3), ("B-2", "Beta", "1", 5)]))
    ingest()
    for sku, item in (("a-1", "item-a"), ("b-2", "item-b")):
        ListingRecord(**ListingRecord.keys(channel, sku)).update(actions=[
            ListingRecord.linked_item_id.set(item), ListingRecord.submitted_quantity.set(5)])
    stock_messages()

    _put(stack, f"catalogues/{channel}/two.csv", _csv([("A-1", "Alpha", "1", 3), ("B-2", "Beta", "1", 5)]))
    ingest()

    assert stock_messages() == [{"reason": "catalogue_drift", "item_ids": ["item-a"], "channel_ids": [channel],
                                 "all_items": False}]
    assert _listings(channel)["A-1"].linked_item_id == "item-a"


def test_given_a_presigned_upload_url_when_a_file_is_put_then_it_is_ingested(stack, api, channel, ingest):
    import requests

    answer = api.post(f"/channels/{channel}/catalogue/upload-url", {"filename": "my file.csv"})
    assert answer.status == 201 and answer.body["key"].startswith(f"catalogues/{channel}/uploads/")
    put = requests.put(answer.body["url"], data=_csv([("A-1", "Alpha", "1", 3)]).encode(), timeout=10)
    assert put.status_code == 200

    ingest()

    assert set(_listings(channel)) == {"A-1"}


def test_given_a_listing_linked_while_a_load_applies_then_the_totals_keep_the_link(stack, api, channel, ingest,
                                                                                   monkeypatch):
    from stocksync.mapping import store

    _put(stack, f"catalogues/{channel}/first.csv", _csv([("A-1", "Alpha", "1", 1), ("b-2", "Beta", "2", 2)]))
    ingest()
    api.post("/items", {"sku": "A-1"})
    apply_changes = load_module.apply_changes

    def link_meanwhile(*args, **kwargs):
        counts = apply_changes(*args, **kwargs)  # the load has counted A-1 as unlinked
        assert api.put(f"/channels/{channel}/listings/A-1/link", {"sku": "A-1"}).status == 200
        return counts

    monkeypatch.setattr(load_module, "apply_changes", link_meanwhile)
    _put(stack, f"catalogues/{channel}/second.csv",
         _csv([("A-1", "Alpha", "1", 1), ("b-2", "Beta", "2", 2), ("c-3", "Gamma", "3", 3)]))

    ingest()

    totals = api.get(f"/channels/{channel}/listings").body["totals"]
    assert {k: totals[k] for k in ("active", "linked", "unlinked")} == {"active": 3, "linked": 1, "unlinked": 2}
    assert {k: totals[k] for k in ("active", "linked", "unlinked", "fba")} == store.recount(channel)


CHANGES_HEADER = "offer-sku;product-title;price;quantity;deleted\n"


def _changes(rows: list[tuple]) -> str:
    """A differential export (Mirakl's OF52 since a date): only the offers that changed, the deleted ones marked."""
    return CHANGES_HEADER + "".join(";".join(str(v) for v in row) + "\n" for row in rows)


@pytest.fixture
def channel_reads(monkeypatch):
    """The Query requests made over the channels' listings partitions, by channel partition key."""
    from stocksync.core import raw_table

    reads: list[str] = []
    query = raw_table.query

    def counted(key_condition, values, *args, **kwargs):
        reads.append(values[":pk"]["S"])
        return query(key_condition, values, *args, **kwargs)

    monkeypatch.setattr(raw_table, "query", counted)
    return reads


def test_given_a_file_of_changes_when_loaded_then_the_totals_are_right_and_no_other_listing_is_read(
        stack, api, channel, ingest, channel_reads):
    others = [(f"f-{n:02d}", f"Other {n}", "5", 5) for n in range(17)]
    _put(stack, f"catalogues/{channel}/first.csv",
         _csv([("A-1", "Alpha", "1", 1), ("b-2", "Beta", "2", 2), ("c-3", "Gamma", "3", 3), *others]))
    ingest()
    for sku in ("A-1", "b-2"):
        api.post("/items", {"sku": sku})
        assert api.put(f"/channels/{channel}/listings/{sku}/link", {"sku": sku}).status == 200
    channel_reads.clear()

    _put(stack, f"catalogues/{channel}/mirakl_offer_changes/since-noon.csv",
         _changes([("A-1", "Alpha", "1", 7, "false"), ("b-2", "", "", "", "true"), ("d-4", "Delta", "4", 4, "false")]))
    ingest()

    listings = _listings(channel)
    assert (listings["A-1"].quantity, listings["b-2"].removed, listings["d-4"].removed) == (7, True, False)
    totals = api.get(f"/channels/{channel}/listings").body["totals"]
    assert {k: totals[k] for k in ("active", "linked", "unlinked")} == {"active": 20, "linked": 1, "unlinked": 19}
    assert db.channel_pk(channel) not in channel_reads  # the three listings named, not the channel's twenty


def test_given_a_listing_linked_while_a_file_of_changes_to_most_listings_applies_then_the_totals_keep_the_link(
        stack, api, channel, ingest, monkeypatch):
    from stocksync.mapping import store

    _put(stack, f"catalogues/{channel}/first.csv", _csv([("A-1", "Alpha", "1", 1), ("b-2", "Beta", "2", 2)]))
    ingest()
    api.post("/items", {"sku": "A-1"})
    apply_changes = load_module.apply_changes

    def link_meanwhile(*args, **kwargs):
        counts = apply_changes(*args, **kwargs)
        assert api.put(f"/channels/{channel}/listings/A-1/link", {"sku": "A-1"}).status == 200
        return counts

    monkeypatch.setattr(load_module, "apply_changes", link_meanwhile)
    _put(stack, f"catalogues/{channel}/mirakl_offer_changes/since-noon.csv",
         _changes([("b-2", "Beta", "2", 5, "false"), ("c-3", "Gamma", "3", 3, "false")]))
    ingest()

    totals = api.get(f"/channels/{channel}/listings").body["totals"]
    assert {k: totals[k] for k in ("active", "linked", "unlinked")} == {"active": 3, "linked": 1, "unlinked": 2}
    assert {k: totals[k] for k in ("active", "linked", "unlinked", "fba")} == store.recount(channel)


def test_given_a_file_of_changes_whose_last_step_is_delivered_twice_then_its_changes_are_counted_once(
        stack, api, channel, ingest):
    _put(stack, f"catalogues/{channel}/first.csv", _csv([("A-1", "Alpha", "1", 1)]))
    ingest()
    _put(stack, f"catalogues/{channel}/mirakl_offer_changes/since-noon.csv",
         _changes([("b-2", "Beta", "2", 2, "false")]))
    ingest()
    load = next(record for record in db.CatalogueLoadRecord.scan() if "mirakl_offer_changes" in record.key)

    load_module.CatalogueLoader._set_totals(load)  # the finish of the load, run again after a crash

    totals = api.get(f"/channels/{channel}/listings").body["totals"]
    assert {k: totals[k] for k in ("active", "linked", "unlinked")} == {"active": 2, "linked": 0, "unlinked": 2}


# --- poison messages fail fast (issue 18) -----------------------------------------------------------


def _failed_at_once(api, channel: str, body: str) -> dict:
    """Delivers one notification once; asserts SQS is told it is done with (no retry), returns the load."""
    assert ingest_handler_result(body) == {"batchItemFailures": []}
    status = api.get(f"/channels/{channel}/catalogue").body["last_load"]
    assert status["status"] == "failed", status
    job = api.get(f"/jobs/{status['job_id']}").body
    assert job["status"] == "failed" and job["message"] == status["message"]
    return status


def ingest_handler_result(body: str, receive_count: int = 1) -> dict:
    handler = load_handler(load_template(), "CatalogueIngestFunction")
    return handler(_event(body, receive_count), _Context())


@pytest.mark.parametrize("charset", ["utf-16", "base64", "rot13", "hex", "zlib", "no-such-thing"])
def test_given_a_file_declaring_a_charset_we_cannot_read_when_delivered_once_then_its_load_fails_saying_so(
        stack, api, channel, charset):
    _put(stack, f"catalogues/{channel}/odd.csv", _csv([("A-1", "Alpha", "1", 3)]), f"text/csv; charset={charset}")
    (event,) = _s3_events(stack)

    status = _failed_at_once(api, channel, json.dumps(event))

    assert charset in status["message"] and _listings(channel) == {}
    errors = api.get(f"/channels/{channel}/catalogue/errors").body["errors"]
    assert [error["row"] for error in errors] == [0]  # the file as a whole, not a row


def test_given_a_header_problem_when_loaded_then_its_error_is_on_row_1(stack, api, channel, ingest):
    _put(stack, f"catalogues/{channel}/two.csv", "sku,title,price,quantity,Quantity\nA-1,Alpha,1,3,4\n")
    ingest()

    errors = api.get(f"/channels/{channel}/catalogue/errors").body["errors"]
    assert [(error["row"], error["field"]) for error in errors] == [(1, "quantity")]
    assert "column 4 ('quantity') and column 5 ('Quantity')" in errors[0]["reason"]


def test_given_a_bug_while_applying_when_delivered_once_then_the_load_fails_at_once_and_is_not_retried(
        stack, api, channel, monkeypatch):
    _put(stack, f"catalogues/{channel}/one.csv", _csv([("A-1", "Alpha", "1", 3)]))
    (event,) = _s3_events(stack)
    monkeypatch.setattr(load_module, "apply_changes", lambda *args, **kwargs: {}["no such key"])

    status = _failed_at_once(api, channel, json.dumps(event))

    assert "no such key" in status["message"]
    events = api.get(f"/channels/{channel}/events", kind="CATALOGUE_LOAD_FAILED").body["events"]
    assert len(events) == 1


def test_given_a_transient_failure_on_the_last_receive_then_the_load_fails_and_goes_to_the_dead_letter_queue(
        stack, api, channel, monkeypatch):
    from stocksync.core.messages import INGEST_MAX_RECEIVES

    _put(stack, f"catalogues/{channel}/one.csv", _csv([("A-1", "Alpha", "1", 3)]))
    (event,) = _s3_events(stack)
    monkeypatch.setattr(load_module, "apply_changes",
                        lambda *args, **kwargs: (_ for _ in ()).throw(TimeoutError("timed out")))

    with pytest.raises(BatchProcessingError):
        ingest_handler_result(json.dumps(event), receive_count=INGEST_MAX_RECEIVES)

    status = api.get(f"/channels/{channel}/catalogue").body["last_load"]
    assert status["status"] == "failed" and "timed out" in status["message"]


def test_given_a_quoted_cell_holding_a_bare_cr_when_loaded_in_byte_ranges_then_it_stays_one_row(stack, api, channel,
                                                                                              ingest):
    rows = "".join(f'SKU-{i:03d},"Title {i}{chr(13) + "more" if i % 7 == 0 else ""}",1,{i}\r' for i in range(60))
    _put(stack, f"catalogues/{channel}/cr.csv", HEADER.replace("\n", "\r") + rows)

    ingest(LoadConfig(range_bytes=400, rows_per_partition=1_000, run_rows=50))

    listings = _listings(channel)
    assert api.get(f"/channels/{channel}/catalogue").body["last_load"]["status"] == "succeeded"
    assert len(listings) == 60 and listings["SKU-007"].title == "Title 7\rmore"


def test_given_variation_children_when_loaded_then_the_listings_show_them_grouped_under_their_parent(
        stack, api, channel, ingest):
    header = "sku,title,price,quantity,parent,variation\n"
    rows = ['TEE-L,Tee L,9,1,TEE,"{""Size"": ""L""}"', 'MUG,Mug,5,3,,', 'TEE-M,Tee M,9,0,TEE,"{""Size"": ""M""}"',
            'TEE-S,Tee S,9,2,TEE,"{""Size"": ""S""}"', 'CAP-1,Cap,4,1,CAP,"{""Colour"": ""Red""}"',
            'ALPHA-XS,Tee XS,9,1,TEE,"{""Size"": ""XS""}"']
    text = header + "\n".join(rows) + "\n"
    _put(stack, f"catalogues/{channel}/one.csv", text)
    ingest()

    page = api.get(f"/channels/{channel}/listings").body
    by_sku = {row["sku"]: row for row in page["listings"]}
    assert (by_sku["TEE-M"]["parent"], by_sku["TEE-M"]["attributes"]) == ("TEE", {"Size": "M"})
    assert (by_sku["MUG"]["parent"], by_sku["MUG"]["attributes"]) == (None, {})
    assert page["totals"]["active"] == 6  # each child is a listing; the parent is none
    # a parent's children together, in SKU order, where the first of them comes
    assert [row["sku"] for row in page["listings"]] == ["ALPHA-XS", "TEE-L", "TEE-M", "TEE-S", "CAP-1", "MUG"]
    paged, cursor = [], None
    while True:
        body = api.get(f"/channels/{channel}/listings", limit="2", **({"cursor": cursor} if cursor else {})).body
        paged.append([row["sku"] for row in body["listings"]])
        if not (cursor := body["next_cursor"]):
            break
    assert [sku for skus in paged for sku in skus] == [row["sku"] for row in page["listings"]]
    children = api.get(f"/channels/{channel}/listings", parent="TEE").body["listings"]
    assert [(row["sku"], row["attributes"]["Size"]) for row in children] == [("ALPHA-XS", "XS"), ("TEE-L", "L"),
                                                                             ("TEE-M", "M"), ("TEE-S", "S")]
    first = api.get(f"/channels/{channel}/listings", parent="TEE", limit="3").body
    rest = api.get(f"/channels/{channel}/listings", parent="TEE", cursor=first["next_cursor"]).body
    assert [row["sku"] for row in rest["listings"]] == ["TEE-S"] and rest["next_cursor"] is None
    assert api.get(f"/channels/{channel}/listings", parent="NONE").body["listings"] == []
    backwards = api.get(f"/channels/{channel}/listings", order="desc").body["listings"]
    # the family where its first child in this order comes: TEE-S, before MUG
    assert [row["sku"] for row in backwards] == ["TEE-S", "TEE-M", "TEE-L", "ALPHA-XS", "MUG", "CAP-1"]
    last_two = api.get(f"/channels/{channel}/listings", parent="TEE", order="desc", limit="2").body
    tail = api.get(f"/channels/{channel}/listings", parent="TEE", order="desc", cursor=last_two["next_cursor"]).body
    assert [row["sku"] for row in last_two["listings"] + tail["listings"]] == ["TEE-S", "TEE-M", "TEE-L", "ALPHA-XS"]

    _put(stack, f"catalogues/{channel}/two.csv", text)
    ingest()
    job = api.get(f"/jobs/{api.get(f'/channels/{channel}/catalogue').body['last_load']['job_id']}").body
    assert job["result"]["written"] == 0

    _put(stack, f"catalogues/{channel}/three.csv", text.replace('""L""', '""XL""').replace(",CAP,", ",,"))
    ingest()
    listings = _listings(channel)
    assert listings["TEE-L"].variation_attributes() == {"Size": "XL"}
    assert (listings["CAP-1"].variation_parent, listings["CAP-1"].variation) == (None, "{\"Colour\":\"Red\"}")
    assert api.get(f"/channels/{channel}/listings", parent="CAP").body["listings"] == []  # no longer a child
