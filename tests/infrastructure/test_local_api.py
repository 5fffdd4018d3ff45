"""The runner plays API Gateway (REST proxy integration, local API-key auth) for the fixture template."""

from __future__ import annotations

import base64

import pytest
import requests

from infrastructure.local.runner import Runner


def test_given_route_with_path_parameter_when_called_then_handler_gets_proxy_event(
    api_key: str,
    api_runner: Runner,
) -> None:
    response = requests.get(
        f"{api_runner.api_url}/items/42?tag=a&tag=b&page=2",
        headers={"x-api-key": api_key, "X-Custom": "yes"},
        timeout=10,
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    answer = response.json()
    event = answer["event"]
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"tag": "b", "page": "2"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "page": ["2"]}
    assert event["headers"]["X-Custom"] == "yes"
    assert event["multiValueHeaders"]["X-Custom"] == ["yes"]
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "test"
    assert context["path"] == "/test/items/42"
    assert context["resourcePath"] == "/items/{id}"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"] and context["requestTimeEpoch"] > 0
    assert answer["function_name"] == "stocksync-local-EchoFunction"
    assert answer["memory_limit_in_mb"] == 256
    assert 0 < answer["remaining_ms"] <= 3000


def test_given_greedy_route_when_body_is_binary_then_event_body_is_base64(api_key: str, api_runner: Runner) -> None:
    payload = b"\x00\xff\x10binary"

    response = requests.post(
        f"{api_runner.api_url}/items/7/files/a/b.bin",
        data=payload,
        headers={"x-api-key": api_key},
        timeout=10,
    )

    event = response.json()["event"]
    assert event["pathParameters"] == {"id": "7", "proxy": "a/b.bin"}
    assert event["queryStringParameters"] is None
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_given_base64_proxy_response_when_returned_then_client_gets_bytes(api_key: str, api_runner: Runner) -> None:
    response = requests.get(f"{api_runner.api_url}/items/binary", headers={"x-api-key": api_key}, timeout=10)

    assert response.content == b"\x00\xffbinary"
    assert response.headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}])
def test_given_missing_or_wrong_key_when_called_then_401(api_runner: Runner, headers: dict[str, str]) -> None:
    response = requests.get(f"{api_runner.api_url}/items/42", headers=headers, timeout=10)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_given_no_key_when_swagger_requested_then_served(api_runner: Runner) -> None:
    response = requests.get(f"{api_runner.api_url}/swagger", timeout=10)

    assert response.status_code == 200
    assert response.json()["event"]["resource"] == "/swagger"


def test_given_oversized_body_when_posted_then_413_without_invoking(api_key: str, api_runner: Runner) -> None:
    response = requests.post(
        f"{api_runner.api_url}/items/1/files/big",
        data=b"x" * (10 * 1024 * 1024 + 1),
        headers={"x-api-key": api_key},
        timeout=10,
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_given_unknown_route_when_called_then_404(api_key: str, api_runner: Runner) -> None:
    response = requests.get(f"{api_runner.api_url}/nowhere", headers={"x-api-key": api_key}, timeout=10)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_given_the_stage_prefix_when_called_then_the_route_is_served_as_at_the_root(
    api_key: str, api_runner: Runner
) -> None:
    at_root = requests.get(f"{api_runner.api_url}/items/abc", headers={"x-api-key": api_key}, timeout=5)
    under_stage = requests.get(f"{api_runner.api_url}/test/items/abc", headers={"x-api-key": api_key}, timeout=5)

    assert under_stage.status_code == at_root.status_code == 200
    assert under_stage.json()["event"]["path"] == at_root.json()["event"]["path"] == "/items/abc"
