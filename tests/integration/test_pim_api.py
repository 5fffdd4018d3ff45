"""The PIM connection, the PIM's dropdowns, the product counter and profile validation, through the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pim_support import connection_body, contract_violations, full_profile

from infrastructure.standins.akeneo import AkeneoStandIn
from stocksync.api.context import services
from stocksync.core.http_client import RetryPolicy


@pytest.fixture(scope="module")
def akeneo_server() -> Iterator[AkeneoStandIn]:
    with AkeneoStandIn() as standin:
        yield standin
    assert contract_violations(standin) == []  # every exchange of this module follows the Akeneo document


@pytest.fixture
def akeneo(akeneo_server: AkeneoStandIn) -> AkeneoStandIn:
    return akeneo_server


@pytest.fixture
def waits(api) -> list[float]:
    recorded: list[float] = []
    services().pim.connections.policy = RetryPolicy(max_attempts=3, sleep=recorded.append)
    return recorded


@pytest.fixture
def connected(api, akeneo, waits):
    assert api.put("/pim/connection", connection_body(akeneo.url)).status == 200
    return akeneo


@pytest.fixture
def channel_id(api) -> str:
    return api.post("/channels", {"name": "Web shop", "type": "generic"}).body["channel_id"]


# --- connection ------------------------------------------------------------------------------


def test_given_credentials_when_stored_then_the_connection_is_shown_without_its_secrets(api, akeneo, waits):
    stored = api.put("/pim/connection", connection_body(akeneo.url))
    shown = api.get("/pim/connection")

    assert stored.status == shown.status == 200
    assert shown.body["url"] == akeneo.url and shown.body["has_credentials"] is True
    text = str(shown.body) + str(stored.body)
    for secret in ("demo-client-secret", "demo-password", "stocksync_demo"):
        assert secret not in text


def test_given_good_credentials_when_tested_then_success_and_the_products_api_of_its_version(api, connected):
    answer = api.post("/pim/connection/test")

    assert answer.status == 200
    assert answer.body["success"] is True and answer.body["message"] == "Connection successful"
    assert answer.body["pim_version"] == "7.0.40" and answer.body["products_api"] == "products-uuid"
    assert api.get("/pim/connection").body["last_test_status"] == "ok"
    token_call = next(e for e in connected.exchanges if e.path == "/api/oauth/v1/token")
    assert token_call.headers["Authorization"].startswith("Basic ")
    assert token_call.json()["grant_type"] == "password"
    version_call = next(e for e in connected.exchanges if e.path == "/api/rest/v1/system-information")
    assert version_call.headers["Authorization"].startswith("Bearer ")  # Akeneo answers 401 without one


@pytest.mark.parametrize(("override", "problem"), [
    ({"password": "wrong"}, "bad_credentials"),
    ({"client_secret": "wrong"}, "bad_credentials"),
])
def test_given_bad_credentials_when_tested_then_the_exact_failure(api, akeneo, waits, override, problem):
    api.put("/pim/connection", connection_body(akeneo.url, **override))

    answer = api.post("/pim/connection/test")

    assert answer.status == 200
    assert answer.body["success"] is False and answer.body["problem"] == problem
    assert "refused" in answer.body["message"]


def test_given_a_url_that_is_not_akeneo_when_tested_then_bad_url(api, akeneo, waits):
    api.put("/pim/connection", connection_body(f"{akeneo.url}/not-akeneo"))

    assert api.post("/pim/connection/test").body["problem"] == "bad_url"


def test_given_an_unreachable_url_when_tested_then_unreachable(api, waits):
    api.put("/pim/connection", connection_body("http://127.0.0.1:9"))

    answer = api.post("/pim/connection/test")

    assert (answer.body["success"], answer.body["problem"]) == (False, "unreachable")
    assert api.get("/pim/connection").body["last_test_status"] == "unreachable"


def test_given_an_old_pim_when_tested_then_products_are_read_from_products(api, waits):
    with AkeneoStandIn(version="5.0.3") as old:
        api.put("/pim/connection", connection_body(old.url))
        assert api.post("/pim/connection/test").body["products_api"] == "products"


def test_given_a_malformed_url_when_stored_then_422(api):
    assert api.put("/pim/connection", connection_body("ftp://pim")).status == 422


# --- dropdowns and counter --------------------------------------------------------------------


def test_given_a_connection_when_the_dropdowns_are_asked_then_they_come_from_the_pim(api, connected):
    channels = api.get("/pim/channels").body["options"]
    locales = api.get("/pim/locales").body["options"]
    categories = api.get("/pim/categories").body["options"]
    prices = api.get("/pim/attributes", type="pim_catalog_price_collection").body["options"]

    assert [c["code"] for c in channels] == ["ecommerce", "print"]
    assert channels[0]["currencies"] == ["EUR", "USD"]
    assert [locale["code"] for locale in locales] == ["en_US", "fr_FR"]  # de_DE is disabled
    assert {c["code"]: c["parent"] for c in categories}["tshirts"] == "clothing"
    assert [a["code"] for a in prices] == ["price", "cost"]


def test_given_a_category_filter_when_counted_then_products_of_its_children_are_included(api, connected):
    clothing = api.post("/pim/profiles/count", {"scope": "ecommerce", "locale": "en_US", "categories": ["clothing"]})
    everything = api.post("/pim/profiles/count", {"scope": "ecommerce", "locale": "en_US"})

    assert clothing.status == 200
    assert clothing.body == {"count": 2, "categories": ["clothing", "caps", "tshirts"]}
    assert everything.body["count"] == 6


def test_given_no_connection_when_a_dropdown_is_asked_then_404(api):
    assert api.get("/pim/channels").status == 404


def test_given_an_unreachable_pim_when_a_dropdown_is_asked_then_502_with_the_problem(api, waits):
    api.put("/pim/connection", connection_body("http://127.0.0.1:9"))
    answer = api.get("/pim/locales")
    assert answer.status == 502 and answer.body["error"]["details"]["problem"] == "unreachable"


# --- profiles --------------------------------------------------------------------------------


def test_given_a_full_profile_when_saved_then_it_is_listed_and_read_back(api, connected, channel_id):
    created = api.post("/pim/profiles", full_profile(channel_id))

    assert created.status == 201, created.body
    profile_id = created.body["profile_id"]
    assert api.get(f"/pim/profiles/{profile_id}").body["settings"]["price_mappings"][2]["channel_id"] == channel_id
    assert [p["profile_id"] for p in api.get("/pim/profiles").body["profiles"]] == [profile_id]
    replaced = api.put(f"/pim/profiles/{profile_id}", full_profile(channel_id, name="Renamed", enabled=False))
    assert (replaced.body["name"], replaced.body["enabled"]) == ("Renamed", False)
    assert api.delete(f"/pim/profiles/{profile_id}").status == 204
    assert api.get(f"/pim/profiles/{profile_id}").status == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"title_mappings": [{"attribute": "no_such_attribute", "target": "item_title"}]}, "title_mappings[0].attribute"),
    ({"price_mappings": [{"attribute": "name", "target": "retail_price", "currency": "EUR"}]},
     "price_mappings[0].attribute"),
    ({"description_mappings": [{"attribute": "description", "target": "channel", "channel_id": "no-such"}]},
     "description_mappings[0].channel_id"),
])
def test_given_a_profile_that_does_not_fit_the_pim_when_saved_then_400_names_the_field(api, connected, channel_id,
                                                                                       change, field):
    answer = api.post("/pim/profiles", full_profile(channel_id, **change))

    assert answer.status == 400
    assert answer.body["error"]["code"] == "invalid_profile"
    assert field in [problem["field"] for problem in answer.body["error"]["details"]]
