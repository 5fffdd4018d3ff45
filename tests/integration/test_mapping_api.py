"""The mapping screen's API on the embedded AWS: links, flags, limits, items from listings, totals."""

from __future__ import annotations

import json
from urllib.parse import quote

import boto3
import pytest

from stocksync.core.db import CatalogueStatusRecord, ListingRecord
from stocksync.inventory.rules import normalize_sku
from stocksync.mapping import store


def add_listings(channel_id: str, *rows: dict) -> None:
    """Listings as a catalogue load leaves them, with true totals."""
    with ListingRecord.batch_write() as batch:
        for row in rows:
            sku = row["sku"]
            batch.save(ListingRecord(**ListingRecord.keys(channel_id, normalize_sku(sku)), channel_id=channel_id,
                                     sku=sku, sku_key=normalize_sku(sku), title=row.get("title", f"Title {sku}"),
                                     price=row.get("price", 9.5), quantity=row.get("quantity", 4),
                                     fba=row.get("fba", False), removed=row.get("removed", False),
                                     barcode=row.get("barcode"), asin=row.get("asin")))
    counts = store.recount(channel_id)
    CatalogueStatusRecord(**CatalogueStatusRecord.keys(channel_id), channel_id=channel_id,
                          total_active=counts["active"], total_linked=counts["linked"],
                          total_unlinked=counts["unlinked"], total_fba=counts["fba"]).save()


def totals_are_true(api, channel_id: str) -> dict:
    totals = api.get(f"/channels/{channel_id}/listings").body["totals"]
    counted = store.recount(channel_id)
    assert {k: totals[k] for k in ("active", "linked", "unlinked", "fba")} == counted
    return counted


@pytest.fixture
def channel(api) -> str:
    return api.post("/channels", {"name": "Amazon UK", "type": "amazon"}).body["channel_id"]


@pytest.fixture
def item(api) -> dict:
    return api.post("/items", {"sku": "WIDGET-1", "title": "Widget"}).body


def _path(channel: str, sku: str, rest: str = "") -> str:
    # API Gateway decodes the path once; the API decodes the SKU once more.
    return f"/channels/{channel}/listings/{quote(sku, safe='')}{rest}"


def test_given_listings_when_paged_and_filtered_then_rows_totals_and_cursor_come_back(api, channel, item):
    add_listings(channel, {"sku": "b-2", "title": "Blue mug"}, {"sku": "A-1", "fba": True},
                 {"sku": "C-3", "removed": True}, {"sku": "D-4"})
    api.put(_path(channel, "D-4", "/link"), {"item_id": item["item_id"]})

    first = api.get(f"/channels/{channel}/listings", limit="2")
    second = api.get(f"/channels/{channel}/listings", limit="2", cursor=first.body["next_cursor"])

    assert first.status == 200
    assert [r["sku"] for r in first.body["listings"]] == ["A-1", "b-2"]
    assert [r["sku"] for r in second.body["listings"]] == ["D-4"] and second.body["next_cursor"] is None
    assert second.body["listings"][0]["linked_item"] == {"item_id": item["item_id"], "sku": "WIDGET-1",
                                                         "title": "Widget"}
    assert first.body["totals"] | {"at": None} == {"active": 3, "linked": 1, "unlinked": 2, "fba": 1, "at": None}
    skus = lambda **q: [r["sku"] for r in api.get(f"/channels/{channel}/listings", **q).body["listings"]]  # noqa: E731
    assert skus(linked="true") == ["D-4"]
    assert skus(linked="false") == ["A-1", "b-2"]
    assert skus(fba="true") == ["A-1"]
    assert skus(removed="true") == ["C-3"]
    assert skus(q="MUG") == ["b-2"] and skus(q="a-") == ["A-1"]
    row = api.get(_path(channel, "a-1")).body
    assert row["fba"] is True and row["sync"]["submitted_quantity"] is None and row["limits"]["max_listed"] is None


def test_given_listings_the_channel_throttled_or_refused_when_filtered_then_each_filter_finds_its_own(api, channel):
    add_listings(channel, {"sku": "OK-1"}, {"sku": "SLOW-1"}, {"sku": "BAD-1"})
    with ListingRecord.batch_write() as batch:
        for sku, status, error in (("OK-1", "ok", None), ("SLOW-1", "retrying", "Amazon throttled the call"),
                                   ("BAD-1", "error", "Invalid SKU")):
            listing = ListingRecord.get(*ListingRecord.keys(channel, normalize_sku(sku)).values())
            listing.update_status, listing.update_error = status, error
            batch.save(listing)

    skus = lambda **q: [r["sku"] for r in api.get(f"/channels/{channel}/listings", **q).body["listings"]]  # noqa: E731

    assert skus(throttled="true") == ["SLOW-1"]
    assert skus(throttled="false") == ["BAD-1", "OK-1"]
    assert "BAD-1" in skus(errors="true") and "OK-1" not in skus(errors="true")


def test_given_listings_when_paged_in_reverse_sku_order_then_every_page_follows_it(api, channel):
    add_listings(channel, *({"sku": f"R-{i}"} for i in range(5)))

    first = api.get(f"/channels/{channel}/listings", limit="2", order="desc").body
    second = api.get(f"/channels/{channel}/listings", limit="2", order="desc", cursor=first["next_cursor"]).body
    third = api.get(f"/channels/{channel}/listings", limit="2", order="desc", cursor=second["next_cursor"]).body

    assert [[r["sku"] for r in page["listings"]] for page in (first, second, third)] == [
        ["R-4", "R-3"], ["R-2", "R-1"], ["R-0"]]
    assert third["next_cursor"] is None
    assert api.get(f"/channels/{channel}/listings", order="sideways").status == 422


def test_given_a_listing_when_linked_by_sku_relinked_and_unlinked_then_totals_and_stock_messages_follow(
        api, channel, item, stock_messages):
    other = api.post("/items", {"sku": "other"}).body
    add_listings(channel, {"sku": "AMZ 1/2"}, {"sku": "B"})
    stock_messages()

    linked = api.put(_path(channel, "AMZ 1/2", "/link"), {"sku": " widget-1 "})
    assert linked.status == 200 and linked.body["linked_item"]["item_id"] == item["item_id"]
    assert totals_are_true(api, channel)["linked"] == 1
    assert stock_messages() == [{"reason": "listing_linked", "item_ids": [item["item_id"]], "channel_ids": [channel],
                                 "all_items": False}]

    again = api.put(_path(channel, "AMZ 1/2", "/link"), {"sku": "WIDGET-1"})
    assert again.status == 200 and stock_messages() == []

    api.put(_path(channel, "AMZ 1/2", "/link"), {"item_id": other["item_id"]})
    assert totals_are_true(api, channel)["linked"] == 1
    assert stock_messages()[0]["item_ids"] == sorted([item["item_id"], other["item_id"]])

    unlinked = api.delete(_path(channel, "amz 1/2", "/link"))
    assert unlinked.status == 200 and unlinked.body["linked_item"] is None
    assert totals_are_true(api, channel) == {"active": 2, "linked": 0, "unlinked": 2, "fba": 0}
    assert stock_messages()[0]["item_ids"] == [other["item_id"]]
    assert api.delete(_path(channel, "AMZ 1/2", "/link")).status == 200 and stock_messages() == []


def test_given_unknown_things_when_linking_then_404_and_bad_bodies_422(api, channel, item):
    add_listings(channel, {"sku": "A"})

    assert api.put(_path(channel, "A", "/link"), {"sku": "nope"}).body["error"]["code"] == "item_not_found"
    assert api.put(_path(channel, "A", "/link"), {"item_id": "nope"}).status == 404
    assert api.put(_path(channel, "Z", "/link"), {"item_id": item["item_id"]}).body["error"]["code"] == \
        "listing_not_found"
    assert api.put("/channels/nope/listings/A/link", {"item_id": item["item_id"]}).status == 404
    assert api.put(_path(channel, "A", "/link"), {"item_id": "x", "sku": "y"}).status == 422
    assert api.put(_path(channel, "A", "/link"), {}).status == 422
    totals_are_true(api, channel)


def test_given_a_listing_when_flags_and_limits_change_then_they_are_stored_and_the_item_is_queued(
        api, channel, item, stock_messages):
    add_listings(channel, {"sku": "A"})
    api.put(_path(channel, "A", "/link"), {"item_id": item["item_id"]})
    stock_messages()

    patched = api.patch(_path(channel, "A"), {"ignore_sync": True, "max_listed": 10, "percentage": 50})
    cleared = api.patch(_path(channel, "A"), {"max_listed": None})

    assert patched.status == 200 and patched.body["ignore_sync"] is True
    assert patched.body["limits"] == {"max_listed": 10, "end_when": None, "percentage": 50}
    assert cleared.body["limits"]["max_listed"] is None and cleared.body["limits"]["percentage"] == 50
    assert [m["reason"] for m in stock_messages()] == ["listing_settings_changed"] * 2
    assert api.patch(_path(channel, "A"), {"percentage": 101}).status == 422
    assert api.patch(_path(channel, "A"), {"end_when": -1}).status == 422


def test_given_channel_default_limits_when_set_then_read_back_and_every_item_is_queued(api, channel, stock_messages):
    stock_messages()
    answer = api.put(f"/channels/{channel}/listing-limits", {"max_listed": 5, "end_when": 1, "percentage": 80})

    assert answer.status == 200 and answer.body == {"max_listed": 5, "end_when": 1, "percentage": 80}
    assert api.get(f"/channels/{channel}/listing-limits").body == answer.body
    assert stock_messages()[-1] == {"reason": "listing_limits_changed", "item_ids": [], "channel_ids": [channel],
                                    "all_items": True}
    assert api.put(f"/channels/{channel}/listing-limits", {"percentage": 120}).status == 422


def test_given_an_unlinked_listing_when_an_item_is_created_from_it_then_it_has_the_seed_defaults(
        api, channel, stock_messages):
    add_listings(channel, {"sku": "New-1", "title": "A new thing", "price": 12.5, "quantity": 7})
    stock_messages()

    created = api.post(_path(channel, "new-1", "/create-item"))

    assert created.status == 201
    item = created.body["item"]
    assert {k: item[k] for k in ("sku", "title", "purchase_price", "retail_price", "description", "weight",
                                 "tax_rate")} == {"sku": "New-1", "title": "A new thing", "purchase_price": 0,
                                                  "retail_price": 12.5, "description": "", "weight": 0,
                                                  "tax_rate": None}
    assert [(s["location_id"], s["level"]) for s in item["stock"]] == [("default", 7)]
    assert created.body["listing"]["linked_item"]["item_id"] == item["item_id"]
    assert totals_are_true(api, channel)["linked"] == 1
    assert stock_messages()[0]["item_ids"] == [item["item_id"]]
    history = api.get(f"/items/{item['item_id']}/stock-history").body["entries"]
    assert [(h["level_before"], h["level_after"]) for h in history] == [(0, 7)]
    assert api.post(_path(channel, "new-1", "/create-item")).body["error"]["code"] == "listing_linked"


def test_given_the_sku_is_taken_when_creating_an_item_then_409_and_nothing_changes(api, channel, item):
    add_listings(channel, {"sku": "widget-1"})

    answer = api.post(_path(channel, "widget-1", "/create-item"))

    assert answer.status == 409 and answer.body["error"]["code"] == "sku_taken"
    assert answer.body["error"]["details"]["item_id"] == item["item_id"]
    assert totals_are_true(api, channel)["linked"] == 0
    assert len(api.get("/items").body["items"]) == 1


def test_given_a_rakuten_channel_when_creating_items_then_both_are_refused_with_the_seed_message(api):
    rakuten = api.post("/channels", {"name": "Rakuten", "type": "rakuten"}).body["channel_id"]
    add_listings(rakuten, {"sku": "R-1"})

    one = api.post(_path(rakuten, "R-1", "/create-item"))
    every = api.post(f"/channels/{rakuten}/mapping/create-all")

    for answer in (one, every):
        assert answer.status == 409 and answer.body["error"]["code"] == "rakuten_create_refused"
        assert "You cannot create inventory items from the Rakuten mapping screen" in answer.body["error"]["message"]
    assert api.get("/items").body["items"] == []


def test_given_listings_when_exported_then_the_chosen_fields_come_as_formula_safe_csv(api, channel, item):
    add_listings(channel, {"sku": "=cmd|' /C calc'!A0", "title": "@evil"}, {"sku": "A"},
                 {"sku": "Gone", "removed": True})
    api.put(_path(channel, "A", "/link"), {"item_id": item["item_id"]})

    answer = api.get(f"/channels/{channel}/mapping/export", fields="channel_sku,title,linked_sku,ignore_sync")

    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/csv")
    assert answer.body.splitlines() == ["Channel SKU,Title,Linked SKU,Ignore Sync",
                                        "'=cmd|' /C calc'!A0,'@evil,,FALSE", "A,Title A,WIDGET-1,FALSE"]
    assert api.get(f"/channels/{channel}/mapping/export", fields="nope").status == 400


def test_given_a_large_export_when_asked_then_it_lands_in_s3_behind_a_presigned_url(api, channel, monkeypatch):
    from stocksync.api import mapping as mapping_api

    monkeypatch.setattr(mapping_api, "EXPORT_INLINE_ROWS", 2)
    add_listings(channel, *({"sku": f"S{i}"} for i in range(3)))

    answer = api.get(f"/channels/{channel}/mapping/export")

    assert answer.status == 303 and answer.headers["Location"] == answer.body["url"]
    body = boto3.client("s3").get_object(Bucket=_bucket(), Key=answer.body["key"])
    assert body["Body"].read().decode("utf-8-sig").count("\r\n") == 4


def _bucket() -> str:
    from stocksync.api.context import services

    return services().settings.catalogue_bucket


COLUMNS = {"channel_sku": "Channel SKU", "item_sku": "Linked SKU", "ignore_sync": "Ignore Sync",
           "max_listed": "Max Listed"}


def test_given_a_file_with_bad_rows_when_imported_then_every_bad_row_is_reported_and_nothing_applied(
        api, channel, item, stock_messages):
    add_listings(channel, {"sku": "A"}, {"sku": "B"})
    stock_messages()
    text = ("Channel SKU,Linked SKU,Ignore Sync,Max Listed\n"
            "A,widget-1,yes,3\n"
            "B,missing,no,x\n"
            "Z,,no,1\n")

    answer = api.post(f"/channels/{channel}/mapping/import", {"csv": text, "columns": COLUMNS})

    assert answer.status == 400 and answer.body["error"]["code"] == "invalid_file"
    errors = answer.body["error"]["details"]["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(3, "Max Listed"), (4, "Channel SKU")]
    again = api.post(f"/channels/{channel}/mapping/import", {"csv": text.replace(",x\n", ",2\n"), "columns": COLUMNS})
    assert [(e["row"], e["column"], e["reason"]) for e in again.body["error"]["details"]["errors"]] == [
        (3, "Linked SKU", "no item with this SKU"), (4, "Channel SKU", "no listing with this SKU on the channel")]
    assert totals_are_true(api, channel)["linked"] == 0
    assert api.get(_path(channel, "A")).body["ignore_sync"] is False and stock_messages() == []


def test_given_a_valid_file_when_dry_run_then_imported_then_it_applies_once(api, channel, item, stock_messages):
    add_listings(channel, {"sku": "A"}, {"sku": "B"})
    api.put(_path(channel, "B", "/link"), {"item_id": item["item_id"]})
    stock_messages()
    text = "channel sku,linked sku,ignore sync,max listed\r\nA,WIDGET-1,yes,3\r\nB,,no,\r\n"
    body = {"csv": text, "columns": COLUMNS}

    preview = api.call("POST", f"/channels/{channel}/mapping/import", body, query={"dry_run": "true"})
    assert preview.status == 200 and preview.body["valid"] is True and preview.body["applied"] is False
    assert preview.body["changes"] == {"link": 1, "unlink": 1, "flags_or_limits": 1, "unchanged": 0}
    assert api.get(_path(channel, "A")).body["linked_item"] is None

    applied = api.post(f"/channels/{channel}/mapping/import", body)
    assert applied.status == 200 and applied.body["applied"] is True
    row = api.get(_path(channel, "A")).body
    assert row["linked_item"]["sku"] == "WIDGET-1" and row["ignore_sync"] is True and row["limits"]["max_listed"] == 3
    assert api.get(_path(channel, "B")).body["linked_item"] is None
    assert totals_are_true(api, channel)["linked"] == 1
    assert stock_messages()[0]["item_ids"] == [item["item_id"]]

    repeat = api.post(f"/channels/{channel}/mapping/import", body)
    assert repeat.body["changes"] == {"link": 0, "unlink": 0, "flags_or_limits": 0, "unchanged": 2}
    assert stock_messages() == []
    events = api.get(f"/channels/{channel}/events", kind="MAPPING_IMPORT").body["events"]
    assert len(events) == 2


def test_given_a_limits_file_when_imported_then_limits_are_set_all_or_nothing(api, channel):
    add_listings(channel, {"sku": "A"}, {"sku": "B"})

    bad = api.post(f"/channels/{channel}/listing-limits/import",
                   {"csv": "SKU,Max Listed,End When,Percentage\nA,5,1,50\nB,-1,0,101\n"})
    good = api.post(f"/channels/{channel}/listing-limits/import",
                    {"csv": "SKU,Max Listed,End When,Percentage\nA,5,1,50\nB,,0,100\n"})

    assert bad.status == 400
    assert [(e["row"], e["column"]) for e in bad.body["error"]["details"]["errors"]] == [(3, "Max Listed"),
                                                                                         (3, "Percentage")]
    assert good.status == 200 and good.body["applied"] is True
    assert api.get(_path(channel, "A")).body["limits"] == {"max_listed": 5, "end_when": 1, "percentage": 50}
    assert api.get(_path(channel, "B")).body["limits"] == {"max_listed": None, "end_when": 0, "percentage": 100}


def test_given_a_limits_file_with_only_some_limit_columns_when_imported_then_the_others_are_left_as_they_are(
        api, channel):
    add_listings(channel, {"sku": "A"})
    patched = api.patch(_path(channel, "A"), {"end_when": 2, "percentage": 80})
    assert patched.status == 200, patched.body

    only_max = api.post(f"/channels/{channel}/listing-limits/import", {"csv": "SKU,Max Listed\nA,5\n"})
    nothing_to_set = api.post(f"/channels/{channel}/listing-limits/import", {"csv": "SKU,Title\nA,Mug\n"})

    assert only_max.status == 200 and only_max.body["applied"] is True, only_max.body
    assert api.get(_path(channel, "A")).body["limits"] == {"max_listed": 5, "end_when": 2, "percentage": 80}
    assert nothing_to_set.status == 400
    assert "Max Listed, End When or Percentage" in nothing_to_set.body["error"]["details"]["errors"][0]["reason"]


def test_given_a_large_import_when_posted_then_it_runs_as_a_job(api, channel, monkeypatch, stack):
    from stocksync.api import mapping as mapping_api

    monkeypatch.setattr(mapping_api, "IMPORT_INLINE_ROWS", 1)
    add_listings(channel, {"sku": "A"})

    answer = api.post(f"/channels/{channel}/listing-limits/import", {"csv": "SKU,Max Listed\nA,1\nA,2\n"})

    assert answer.status == 202 and answer.body["kind"] == "mapping_import"
    message = boto3.client("sqs").receive_message(QueueUrl=stack.ref("JobsQueue"))["Messages"][0]
    assert json.loads(message["Body"])["payload"]["kind"] == "limits"


def test_given_skus_a_spreadsheet_would_run_when_exported_and_imported_again_then_nothing_changes(
        api, channel, stock_messages):
    skus = ["-ACC-S-5", "=EQ-1", "+PLUS-2", "@AT-3", "'-QUOTED-4"]
    add_listings(channel, *({"sku": sku} for sku in skus))
    for sku in skus:
        item = api.post("/items", {"sku": sku, "title": f"Item {sku}"}).body
        api.put(_path(channel, sku, "/link"), {"item_id": item["item_id"]})
    api.patch(_path(channel, "-ACC-S-5"), {"ignore_sync": True, "limits": {"max_listed": 2}})
    before = api.get(f"/channels/{channel}/listings").body["listings"]
    stock_messages()

    exported = api.get(f"/channels/{channel}/mapping/export",
                       fields="channel_sku,linked_sku,ignore_sync,max_listed").body
    assert "'-ACC-S-5,'-ACC-S-5" in exported  # still neutralised for spreadsheets
    imported = api.post(f"/channels/{channel}/mapping/import", {"csv": exported, "columns": COLUMNS})

    assert imported.status == 200 and imported.body["valid"] is True, imported.body
    assert imported.body["changes"] == {"link": 0, "unlink": 0, "flags_or_limits": 0, "unchanged": len(skus)}
    assert api.get(f"/channels/{channel}/listings").body["listings"] == before
    assert stock_messages() == []


def test_given_a_large_channel_when_its_first_page_is_shown_then_dynamodb_reads_that_page_not_a_megabyte(
        api, channel, monkeypatch):
    from botocore.client import BaseClient

    add_listings(channel, *({"sku": f"S-{i:05d}"} for i in range(3000)))
    listings_read: list[int] = []
    make_api_call = BaseClient._make_api_call

    def counting(client, operation, params):
        answer = make_api_call(client, operation, params)
        if operation == "Query" and params.get("KeyConditionExpression") and str(
                params.get("ExpressionAttributeValues", {})).count(channel):
            listings_read.append(answer["Count"])
        return answer

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    page = api.get(f"/channels/{channel}/listings", limit="50").body

    assert len(page["listings"]) == 50 and page["next_cursor"]
    assert sum(listings_read) <= 51, listings_read  # a screen's page costs its own reads, not 1 MB's
