"""docs/openapi.json is the document the code generates: it never drifts from the routes."""

from __future__ import annotations

import json
from pathlib import Path

from stocksync.api.openapi import document

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_given_the_routes_when_the_document_is_generated_then_it_equals_the_committed_one():
    assert document() == COMMITTED.read_text(), "run `make openapi` and commit docs/openapi.json"


def test_given_the_document_when_read_then_every_operation_asks_for_the_api_key():
    spec = json.loads(document())
    assert spec["security"] == [{"localApiKey": []}]
    assert spec["components"]["securitySchemes"]["localApiKey"] == {"type": "apiKey", "in": "header",
                                                                    "name": "x-api-key"}
    paths = spec["paths"]
    for expected in ("/items", "/items/{item_id}", "/items/{item_id}/stock/{location_id}",
                     "/items/{item_id}/available", "/locations", "/channels/{channel_id}"):
        assert expected in paths
