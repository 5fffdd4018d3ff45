"""Print the OpenAPI document generated from the routes (`make openapi` writes docs/openapi.json)."""

from __future__ import annotations

import json

from stocksync.api.app import build_app, openapi_json


def document() -> str:
    return json.dumps(json.loads(openapi_json(build_app())), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(document(), end="")
