"""A newcomer's first minutes with `make run`, over HTTP."""

from __future__ import annotations

import json

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_given_the_stack_when_called_without_a_key_or_with_a_wrong_one_then_401(local_stack):
    missing = requests.get(f"{local_stack.api_url}/items", timeout=10)
    wrong = requests.get(f"{local_stack.api_url}/items", headers={"x-api-key": "nope"}, timeout=10)

    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    assert wrong.status_code == 401


def test_given_the_demo_seller_when_signed_in_as_the_ready_line_says_then_the_api_serves_their_token(local_stack):
    sign_in = local_stack.sign_in
    answer = requests.post(
        sign_in["endpoint"],
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
        data=json.dumps({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": sign_in["client_id"],
                         "AuthParameters": {"USERNAME": sign_in["username"], "PASSWORD": sign_in["password"]}}),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["AuthenticationResult"]["AccessToken"]

    items = requests.get(f"{local_stack.api_url}/v1/items", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    tampered = requests.get(f"{local_stack.api_url}/v1/items", headers={"Authorization": f"Bearer {token[:-4]}AAAA"},
                            timeout=10)

    assert items.status_code == 200
    assert len(items.json()["items"]) >= 1
    assert tampered.status_code == 401


def test_given_the_demo_seller_when_listed_then_items_and_two_locations_are_there(local_stack):
    http = local_stack.session()

    items = http.get(f"{local_stack.api_url}/items", params={"limit": 200}, timeout=10).json()["items"]
    locations = http.get(f"{local_stack.api_url}/locations", timeout=10).json()["locations"]

    assert len(items) >= 50
    assert len(locations) == 2
    assert sum(location["is_default"] for location in locations) == 1


def test_given_a_new_item_when_stock_set_over_http_then_each_channel_sees_what_it_may_sell(local_stack):
    http, api = local_stack.session(), local_stack.api_url
    listed = http.get(f"{api}/locations", timeout=10).json()["locations"]
    locations = {location["name"]: location["location_id"] for location in listed}
    item = http.post(f"{api}/items", json={"sku": "E2E-LAMP", "title": "Desk lamp"}, timeout=10)
    assert item.status_code == 201
    item_id = item.json()["item_id"]
    duplicate = http.post(f"{api}/items", json={"sku": "e2e-lamp"}, timeout=10)
    assert duplicate.status_code == 409

    http.put(f"{api}/items/{item_id}/stock/{locations['Main warehouse']}", json={"level": 5}, timeout=10)
    http.put(f"{api}/items/{item_id}/stock/{locations['Overflow store']}", json={"level": 3}, timeout=10)
    channel = http.post(f"{api}/channels", json={"name": "E2E shop", "type": "generic",
                                                  "location_ids": [locations["Overflow store"]],
                                                  "credentials": {"api_key": "shop-secret"}}, timeout=10)
    assert channel.status_code == 201
    assert "shop-secret" not in channel.text

    available = http.get(f"{api}/items/{item_id}/available", timeout=10).json()
    by_name = {row["name"]: row["available"] for row in available["channels"]}
    assert by_name["E2E shop"] == 3
    assert by_name["Web shop"] == 5
    assert by_name["eBay UK"] == 8


def test_given_the_swagger_page_when_opened_in_a_browser_then_it_needs_no_key(local_stack):
    page = requests.get(f"{local_stack.api_url}/swagger", timeout=10)
    assert page.status_code == 200
    assert "swagger" in page.text.lower()


def test_given_the_stack_when_started_then_it_printed_where_everything_is(local_stack):
    printed = "\n".join(local_stack.output)
    assert "Swagger UI" in printed
    sign_in = local_stack.sign_in
    assert f"Sign in as {sign_in['username']} / {sign_in['password']}" in printed
    assert local_stack.api_url.startswith("http://127.0.0.1:")
    assert local_stack.aws_endpoint.startswith("http://127.0.0.1:")
