"""Bad input the API once answered with a 500: each is now the caller's error (4xx, saying what and
where), and nothing it sent was stored."""

from __future__ import annotations

import json

import pytest
from pim_support import connection_body
from test_mapping_api import add_listings

from infrastructure.standins.akeneo import AkeneoStandIn


@pytest.fixture
def channel(api) -> str:
    return api.post("/channels", {"name": "Amazon UK", "type": "amazon"}).body["channel_id"]


def test_given_an_extended_property_with_an_empty_name_when_an_item_is_created_then_422_and_listing_still_works(api):
    answer = api.post("/items", {"sku": "MUG", "title": "Mug", "extended_properties": {"": "x"}})

    assert answer.status == 422
    assert "extended_properties" in json.dumps(answer.body["error"]["details"])
    assert api.get("/items").status == 200 and api.get("/items").body["items"] == []


@pytest.mark.parametrize("depth", [40, 50_000])  # past DynamoDB's 32 levels; past Python's own parser
def test_given_a_body_nested_too_deep_when_posted_then_422_naming_the_nesting(api, depth):
    deep = '{"sku": "MUG", "title": "Mug", "extended_properties": ' + "[" * depth + "]" * depth + "}"

    answer = api.call("POST", "/items", raw_body=deep)

    assert answer.status == 422 and "nested" in answer.body["error"]["details"][0]["message"]


def test_given_a_pim_client_id_outside_latin1_when_saved_then_422_and_the_pim_still_answers(api):
    with AkeneoStandIn() as akeneo:
        answer = api.put("/pim/connection", connection_body(akeneo.url, client_id="clé-€"))

        assert answer.status == 422 and "client_id" in json.dumps(answer.body["error"]["details"])
        assert api.get("/pim/connection").status in (200, 404)


@pytest.mark.parametrize("path", ["mapping/import", "listing-limits/import"])
def test_given_an_import_cell_over_128_kib_when_imported_then_a_row_error_names_its_row(api, channel, path):
    add_listings(channel, {"sku": "A"})
    columns = {"columns": {"channel_sku": "SKU", "item_sku": "Item SKU"}} if path == "mapping/import" else {}
    header, row = ("SKU,Item SKU", "A,MUG") if path == "mapping/import" else ("SKU,Max Listed,End When,Percentage",
                                                                            "A,1,0,100")
    text = f'{header}\n{row}\n"{"x" * 140_000}",2\n'

    answer = api.post(f"/channels/{channel}/{path}", {"csv": text, **columns})

    assert answer.status == 400, answer.body
    assert [(e["row"], e["reason"]) for e in answer.body["error"]["details"]["errors"] if "longer" in e["reason"]] == [
        (3, "a cell is longer than 131072 characters")]


@pytest.mark.parametrize("kind", ["magento", "ebay", "amazon"])
def test_given_a_channel_without_its_url_or_credentials_when_refreshed_then_409_saying_what_is_missing(api, kind):
    shop = api.post("/channels", {"name": "Shop", "type": kind}).body["channel_id"]

    answer = api.post(f"/channels/{shop}/catalogue/refresh", {"confirm": True})

    assert answer.status == 409 and answer.body["error"]["code"] == "channel_not_configured", answer.body


def test_given_two_saves_of_the_pim_connection_at_once_when_the_second_lands_then_409_not_500(api, monkeypatch):
    from stocksync.api.context import services

    with AkeneoStandIn() as akeneo:
        assert api.put("/pim/connection", connection_body(akeneo.url)).status == 200
        connections = services().pim.connections
        read_before_the_other_save = connections.find()
        assert api.put("/pim/connection", connection_body(akeneo.url, username="other")).status == 200
        monkeypatch.setattr(connections, "find", lambda: read_before_the_other_save)

        answer = api.put("/pim/connection", connection_body(akeneo.url, username="third"))

        assert answer.status == 409 and answer.body["error"]["code"] == "changed_meanwhile"
