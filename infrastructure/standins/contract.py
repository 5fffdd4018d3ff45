"""Checks an HTTP exchange against the real API's OpenAPI 3 document (specs/, beside this module), with openapi-core.

Stand-ins serve the real paths on 127.0.0.1; the check puts the exchange on the host of the
document's first server so that openapi-core finds the operation, and reports every way the
request or the response strays from the contract.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.exceptions import OpenAPIError
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.wrappers import Request

BINARY_TYPES = frozenset({"application/octet-stream", "application/zip"})
# The published contracts, kept in the repository (specs/SOURCES.md says where each came from); the
# stand-ins and the tests read them through this one constant.
SPECS = Path(__file__).resolve().parent / "specs"


class Contract:
    def __init__(self, spec_file: Path, server_url: str | None = None,
                 property_schemas: tuple[tuple[str, str, str], ...] = ()) -> None:
        """`server_url` replaces the document's servers (eBay's `https://api.ebay.com{basePath}` has a
        variable holding slashes, which openapi-core cannot match). `property_schemas` (component
        schema, property, JSON schema) correct a property the document types otherwise than the API
        answers it (each with the reason where it is given)."""
        self.spec_file = spec_file
        # The published documents carry small inconsistencies of their own (nullable defaults,
        # unresolved path variables); validating exchanges does not need the document to pass.
        self.api = _load(spec_file, server_url, property_schemas)
        self.host = _server_host(self.api)

    def check(self, request: Request, status: int, headers: dict[str, str], body: bytes) -> list[str]:
        mock_request = MockRequest(
            self.host, request.method.lower(), request.path,
            args=request.args.to_dict(), headers=dict(request.headers),
            data=request.get_data() or None, content_type=request.mimetype or None,
        )
        problems: list[str] = []
        try:
            self.api.validate_request(mock_request)
        except OpenAPIError as exc:
            problems.append(f"request: {_describe(exc)}")
        content_type = headers.get("Content-Type", "application/json").split(";")[0]
        if content_type in BINARY_TYPES:
            # A file download: documents model it as an object schema (eBay's StreamingOutput) that
            # no byte stream can satisfy, so only the request is checked.
            return problems
        try:
            self.api.validate_response(mock_request, MockResponse(body, status_code=status, content_type=content_type))
        except OpenAPIError as exc:
            problems.append(f"response {status}: {_describe(exc)}")
        return problems


class RoutedContract:
    """Several documents behind one stand-in, chosen by path prefix (eBay's Feed and Inventory APIs).
    The first matching prefix wins; paths no document covers (token endpoints, pre-signed
    downloads), or routed to None, are not checked."""

    def __init__(self, routes: list[tuple[str, Contract | None]]) -> None:
        self.routes = routes

    def check(self, request: Request, status: int, headers: dict[str, str], body: bytes) -> list[str]:
        for prefix, contract in self.routes:
            if request.path.startswith(prefix):
                return contract.check(request, status, headers, body) if contract else []
        return []


def spec(*parts: str) -> Path:
    """A document under SPECS, e.g. spec("akeneo", "akeneo-web-api.oas3.json")."""
    return SPECS.joinpath(*parts)


@cache
def _load(spec_file: Path, server_url: str | None = None,
          property_schemas: tuple[tuple[str, str, str], ...] = ()) -> Any:
    # Parsed as JSON here: openapi-core reads a file through a YAML loader, some fifty times slower on
    # documents of megabytes (the stand-ins' start and every test building one paid seconds for it).
    document = json.loads(spec_file.read_text(encoding="utf-8"))
    if server_url is not None:
        document["servers"] = [{"url": server_url}]
    for schema, name, replacement in property_schemas:
        document["components"]["schemas"][schema]["properties"][name] = json.loads(replacement)
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None), base_uri=spec_file.as_uri())


def _server_host(api: Any) -> str:
    servers = api.spec.get("servers") or [{"url": "http://localhost"}]
    url = re.sub(r"\{[^}]+\}", "", servers[0]["url"])
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _describe(exc: Exception) -> str:
    causes = [str(exc)]
    inner = exc.__cause__
    while inner is not None:
        causes.append(str(inner))
        inner = inner.__cause__
    for attribute in ("schema_errors", "errors"):
        for error in getattr(exc.__cause__, attribute, None) or []:
            causes.append(getattr(error, "message", str(error)))
    return "; ".join(dict.fromkeys(c for c in causes if c))[:1000]
