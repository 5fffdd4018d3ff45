"""docs/openapi.json is the document the code generates: it never drifts from the routes."""

from __future__ import annotations

import json
from pathlib import Path

from stocksync.api.openapi import document

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_given_the_routes_when_the_document_is_generated_then_it_equals_the_committed_one():
    assert document() == COMMITTED.read_text(), "run `make openapi` and commit docs/openapi.json"


def test_given_the_document_when_read_then_every_operation_asks_for_a_cognito_token_or_the_local_key():
    spec = json.loads(document())
    assert spec["security"] == [{"cognitoAccessToken": []}, {"localApiKey": []}]
    schemes = spec["components"]["securitySchemes"]
    assert {key: schemes["cognitoAccessToken"][key] for key in ("type", "scheme", "bearerFormat")} == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert {key: schemes["localApiKey"][key] for key in ("type", "in", "name")} == {
        "type": "apiKey", "in": "header", "name": "x-api-key"}
    paths = spec["paths"]
    for expected in ("/items", "/items/{item_id}", "/items/{item_id}/stock/{location_id}",
                     "/items/{item_id}/available", "/locations", "/channels/{channel_id}"):
        assert expected in paths


def test_given_the_document_when_read_then_every_error_is_the_one_error_schema_the_api_answers():
    spec = json.loads(document())
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["Error"]["required"] == ["error"]
    assert schemas["ErrorDetail"]["required"] == ["code", "message"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            errors = {status: r for status, r in operation["responses"].items() if int(status) >= 400}
            assert {"400", "401", "403"} <= errors.keys(), (method, path)
            assert all(r["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
                       for r in errors.values()), (method, path)


def test_given_the_document_when_read_then_success_codes_are_the_ones_the_routes_answer():
    paths = json.loads(document())["paths"]

    def successes(method, path):
        return sorted(status for status in paths[path][method]["responses"] if int(status) < 400)

    assert successes("post", "/items") == ["201"]
    assert successes("delete", "/items/{item_id}") == ["204"]
    assert "content" not in paths["/items/{item_id}"]["delete"]["responses"]["204"]
    assert successes("post", "/channels/{channel_id}/mapping/auto-link") == ["202"]
    assert successes("post", "/channels/{channel_id}/mapping/import") == ["200", "202"]
    assert successes("get", "/channels/{channel_id}/mapping/export") == ["200", "303"]
    assert "422" not in paths["/channels"]["get"]["responses"]  # nothing in it can be invalid
    assert "409" in paths["/items"]["post"]["responses"] and "413" in paths["/items"]["post"]["responses"]


def test_given_the_document_when_read_then_its_server_is_the_stage_both_gateways_serve():
    assert [server["url"] for server in json.loads(document())["servers"]] == ["/v1"]


def test_given_the_live_swagger_when_its_json_is_read_then_it_is_the_committed_document():
    from stocksync.api.app import build_app

    event = {"resource": "/swagger", "path": "/swagger", "httpMethod": "GET", "headers": {},
             "multiValueHeaders": {}, "queryStringParameters": {"format": "json"},
             "multiValueQueryStringParameters": {"format": ["json"]}, "pathParameters": None,
             "stageVariables": None, "body": None, "isBase64Encoded": False,
             "requestContext": {"stage": "v1", "path": "/v1/swagger", "httpMethod": "GET", "requestId": "r",
                                "resourcePath": "/swagger", "identity": {}}}

    served = build_app().resolve(event, None)

    assert served["statusCode"] == 200
    assert json.loads(served["body"]) == json.loads(COMMITTED.read_text())
