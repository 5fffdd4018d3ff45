"""Inventory items through the REST API handler."""

from __future__ import annotations

import base64
import copy
import json
from types import SimpleNamespace

LAMBDA_CONTEXT = SimpleNamespace(function_name="ApiFunction", memory_limit_in_mb=512, aws_request_id="test-request",
                                 invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:ApiFunction",
                                 get_remaining_time_in_millis=lambda: 29_000)


def _item(api, sku: str, title: str = "", **fields):
    answer = api.post("/items", {"sku": sku, "title": title, **fields})
    assert answer.status == 201, answer.body
    return answer.body


def test_given_new_sku_when_item_created_then_it_reads_back_with_seed_defaults(api):
    created = _item(api, "Mug-Blue", "Blue mug", retail_price=9.5)

    answer = api.get(f"/items/{created['item_id']}")

    assert answer.status == 200
    assert answer.body["sku"] == "Mug-Blue"
    assert answer.body["retail_price"] == 9.5
    assert answer.body["tax_rate"] is None
    assert answer.body["purchase_price"] == 0
    assert answer.body["components"] == []


def test_given_sku_taken_in_other_case_when_created_then_409_names_the_owner(api):
    first = _item(api, "ABC-1")

    answer = api.post("/items", {"sku": "  abc-1 "})

    assert answer.status == 409
    assert answer.body["error"]["code"] == "sku_taken"
    assert answer.body["error"]["details"]["item_id"] == first["item_id"]


def test_given_padded_sku_when_created_then_it_is_trimmed_and_keeps_its_case(api):
    assert _item(api, "  Shelf-XL  ")["sku"] == "Shelf-XL"


def test_given_blank_or_unknown_fields_when_created_then_422_and_nothing_is_stored(api):
    blank = api.post("/items", {"sku": "   "})
    unknown = api.post("/items", {"sku": "X-1", "colour": "red"})
    negative = api.post("/items", {"sku": "X-2", "retail_price": -1})

    assert [blank.status, unknown.status, negative.status] == [422, 422, 422]
    assert blank.body["error"]["code"] == "validation_error"
    assert any(d["field"].endswith("colour") for d in unknown.body["error"]["details"])
    assert api.get("/items").body["items"] == []


def test_given_malformed_json_when_created_then_422(api):
    answer = api.call("POST", "/items", raw_body="{not json")
    assert answer.status == 422


def test_given_item_when_sku_changed_to_a_free_one_then_the_old_sku_is_free_again(api):
    item = _item(api, "OLD-1")

    renamed = api.patch(f"/items/{item['item_id']}", {"sku": "NEW-1", "title": "Renamed"})

    assert renamed.status == 200
    assert renamed.body["sku"] == "NEW-1"
    assert api.get("/items", sku="old-1").body["items"] == []
    assert api.get("/items", sku="new-1").body["items"][0]["title"] == "Renamed"
    assert _item(api, "OLD-1")["sku"] == "OLD-1"


def test_given_two_items_when_one_takes_the_others_sku_then_409_and_nothing_changes(api):
    _item(api, "A-1")
    second = _item(api, "B-1", "second")

    answer = api.patch(f"/items/{second['item_id']}", {"sku": "a-1", "title": "changed"})

    assert answer.status == 409
    assert api.get(f"/items/{second['item_id']}").body["title"] == "second"


def test_given_item_when_deleted_then_404_and_sku_free(api):
    item = _item(api, "GONE-1")

    assert api.delete(f"/items/{item['item_id']}").status == 204
    assert api.get(f"/items/{item['item_id']}").status == 404
    assert api.get(f"/items/{item['item_id']}").body["error"]["code"] == "not_found"
    assert _item(api, "gone-1")["sku"] == "gone-1"


def test_given_many_items_when_listed_by_pages_then_every_item_comes_once_in_sku_order(api):
    skus = [f"SKU-{n:03d}" for n in range(23)]
    for sku in reversed(skus):
        _item(api, sku)

    seen, cursor = [], None
    while True:
        page = api.get("/items", limit="10", **({"cursor": cursor} if cursor else {})).body
        seen += [row["sku"] for row in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert seen == skus


def test_given_items_when_searched_then_exact_prefix_fragment_and_title_words_match(api):
    _item(api, "MUG-BLUE-01", "Blue ceramic mug")
    _item(api, "MUG-RED-01", "Red ceramic mug")
    _item(api, "PLATE-BLUE", "Blue plate")

    def skus(**query):
        return sorted(row["sku"] for row in api.get("/items", **query).body["items"])

    assert skus(sku="mug-red-01") == ["MUG-RED-01"]
    assert skus(sku_prefix="mug-") == ["MUG-BLUE-01", "MUG-RED-01"]
    assert skus(q="blue") == ["MUG-BLUE-01", "PLATE-BLUE"]
    assert skus(q="ceramic BLUE") == ["MUG-BLUE-01"]
    assert skus(q="red-0") == ["MUG-RED-01"]
    assert skus(sku="nothing") == []


def test_given_a_bad_cursor_when_listing_then_400(api):
    answer = api.get("/items", cursor="!!!")
    assert answer.status == 400
    assert answer.body["error"]["details"]["field"] == "cursor"


def test_given_unknown_route_when_called_then_404_in_the_error_shape(api):
    answer = api.get("/nothing-here")
    assert answer.status == 404
    assert answer.body["error"]["code"] == "not_found"


def test_given_a_body_over_the_limit_when_posted_then_413_and_nothing_stored(api):
    answer = api.call("POST", "/items", raw_body='{"sku": "BIG", "description": "' + "x" * 1_100_000 + '"}')

    assert answer.status == 413
    assert answer.body["error"]["code"] == "payload_too_large"
    assert api.get("/items", sku="BIG").body["items"] == []


def test_given_items_created_renamed_and_deleted_when_the_sku_index_is_read_then_it_holds_each_current_sku(api):
    from stocksync.mapping.store import sku_owners

    kept = _item(api, "Kept-1")["item_id"]
    renamed = _item(api, "OLD-2")["item_id"]
    gone = _item(api, "GONE-3")["item_id"]

    api.patch(f"/items/{renamed}", {"sku": " New-2"})
    api.delete(f"/items/{gone}")

    assert list(sku_owners()) == [("kept-1", kept), ("new-2", renamed)]


def test_given_a_kit_and_a_taxed_item_when_listed_then_rows_leave_out_what_a_list_does_not_load(api):
    part = _item(api, "Part-1", tax_rate=20)
    kit = _item(api, "Kit-1")
    assert api.put(f"/items/{kit['item_id']}/components",
                   {"components": [{"item_id": part["item_id"], "quantity": 2}]}).status == 200

    rows = {row["sku"]: row for row in api.get("/items").body["items"]}
    page = api.get(f"/items/{kit['item_id']}").body

    assert all("stock" not in row and "components" not in row for row in rows.values())
    assert (rows["Kit-1"]["is_composite"], rows["Kit-1"]["tax_rate"], rows["Part-1"]["tax_rate"]) == (True, None, 20)
    assert page["components"] == [{"item_id": part["item_id"], "quantity": 2}] and page["stock"] == []


def test_given_an_item_with_a_tax_rate_when_set_back_to_the_default_then_it_reads_null_never_minus_one(api):
    item = _item(api, "Taxed-1", tax_rate=7)

    reset = api.patch(f"/items/{item['item_id']}", {"tax_rate": -1})

    assert (item["tax_rate"], reset.body["tax_rate"]) == (7, None)


def test_given_a_body_that_is_not_json_when_posted_then_415_in_the_error_shape_not_a_500(api):
    # Regression (schemathesis): multipart/form-data without a boundary made Powertools raise a ValueError: 500.
    answers = []
    for content_type in ("multipart/form-data", "text/plain", "application/x-www-form-urlencoded"):
        event = copy.deepcopy(api.sample)
        event.update(httpMethod="POST", path="/items", body=json.dumps({"sku": "Form-1"}),
                     headers={**(event.get("headers") or {}), "Content-Type": content_type},
                     multiValueHeaders={**(event.get("multiValueHeaders") or {}), "Content-Type": [content_type]})
        event["requestContext"].update(httpMethod="POST", path="/v1/items")
        answers.append(api.handler(event, LAMBDA_CONTEXT))

    assert [a["statusCode"] for a in answers] == [415, 415, 415]
    assert {json.loads(a["body"])["error"]["code"] for a in answers} == {"unsupported_media_type"}
    assert api.get("/items").body["items"] == []
    assert api.call("POST", "/items", {"sku": "Json-1"}).status == 201  # JSON (the sample's header) still works


def test_given_a_body_that_is_not_utf8_when_posted_then_422_not_a_500(api):
    # Regression (schemathesis): the gateway passes non-UTF-8 bytes base64-encoded; decoding them raised: 500.
    event = copy.deepcopy(api.sample)
    event.update(httpMethod="POST", path="/items", body=base64.b64encode(b"\xff{").decode(), isBase64Encoded=True)
    event["requestContext"].update(httpMethod="POST", path="/v1/items")

    answer = api.handler(event, LAMBDA_CONTEXT)

    assert answer["statusCode"] == 422
    assert json.loads(answer["body"])["error"]["details"][0]["field"] == "body"
    assert api.get("/items").body["items"] == []
