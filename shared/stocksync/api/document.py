"""The OpenAPI document as the API really answers: one error schema, and every status an operation gives.

Powertools documents each route's success and a 422 of its own shape (`{"detail": [...]}`); the API
answers every error as `{"error": {"code", "message", "details"}}` (errors.py, and the local gateway's
401/403/413). `truthful` rewrites the generated document once, for docs/openapi.json and /swagger alike.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

ERROR_REF = "#/components/schemas/Error"
SERVERS = [{"url": "/v1", "description": (
    "The API's stage: https://<api-id>.execute-api.<region>.amazonaws.com/v1 on AWS, "
    "http://127.0.0.1:<port>/v1 on the local stack (which also serves it at the root)")}]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, for programs: validation_error, not_found, name_taken...")
    message: str = Field(description="For people")
    details: Any = Field(default=None, description="What failed: the fields of a 422, the ids in a conflict")


class Error(BaseModel):
    """Every error the API answers with."""

    error: ErrorDetail


ERROR_DESCRIPTIONS = {
    400: "A broken rule (unknown location, kit cycle, bad cursor) or a request the gateway cannot read",
    401: "No access token, or one the user pool's authorizer refuses (expired, another pool or client, no "
         "accepted scope); locally also a missing or wrong x-api-key: sign in again",
    403: "Refused by API Gateway before the authorizer (on AWS, e.g. an Authorization header it cannot read)",
    404: "No such resource",
    409: "A conflict with the current state (a name taken, stock below 0, a channel disabled...)",
    413: "The request body is over 1 MB",
    415: "The body is not sent as application/json",
    422: "The request does not match its schema; details lists the failing fields",
    429: "Done too recently; Retry-After says when it is allowed",
    502: "The channel or the PIM failed or refused the call",
}
MUTATIONS = frozenset({"post", "put", "patch", "delete"})
# Operations that call a channel or the PIM while the request waits, or that refuse a repeat within a
# period; every other domain error an operation gives follows from its method and parameters (below).
UPSTREAM_CALLS = frozenset({
    ("get", "/channels/{channel_id}/catalogue/report"), ("post", "/channels/{channel_id}/catalogue/refresh"),
    ("get", "/pim/channels"), ("get", "/pim/locales"), ("get", "/pim/categories"), ("get", "/pim/attributes"),
    ("post", "/pim/profiles/count"), ("post", "/pim/profiles"), ("put", "/pim/profiles/{profile_id}"),
})
RATE_LIMITED = frozenset({
    ("get", "/channels/{channel_id}/catalogue/report"), ("post", "/channels/{channel_id}/catalogue/refresh"),
    ("post", "/channels/{channel_id}/force-update"),
})
CONFLICTING_READS = frozenset({("get", "/channels/{channel_id}/catalogue/report")})


def error_statuses(method: str, path: str, operation: dict[str, Any]) -> list[int]:
    """Every error status this operation can answer."""
    has_body = "requestBody" in operation
    statuses = {400, 401, 403}
    if "{" in path or has_body:  # an id in the path, or one named in the body, may not exist
        statuses.add(404)
    if operation.get("parameters") or has_body:
        statuses.add(422)
    if has_body or method in MUTATIONS:  # the gateway counts any body, documented or not
        statuses.add(413)
    if has_body:
        statuses.add(415)
    if method in MUTATIONS or (method, path) in CONFLICTING_READS:
        statuses.add(409)
    if (method, path) in RATE_LIMITED:
        statuses.add(429)
    if (method, path) in UPSTREAM_CALLS:
        statuses.add(502)
    return sorted(statuses)


def truthful(document: dict[str, Any]) -> dict[str, Any]:
    """The generated document with the API's error schema on every error each operation can give."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for model in (Error, ErrorDetail):
        schemas[model.__name__] = _component(model)
    document["servers"] = SERVERS
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation["responses"] = {str(status): r for status, r in operation["responses"].items()}
            if "204" in responses:
                responses["204"].pop("content", None)
            statuses = set(error_statuses(method, path, operation))
            if 422 not in statuses:  # Powertools documents a 422 even where nothing can be invalid
                responses.pop("422", None)
            # A route's own error responses keep their descriptions; every error gets the one schema.
            statuses.update(int(status) for status in responses if int(status) >= 400)
            for status in sorted(statuses):
                described = responses.get(str(status), {}).get("description")
                responses[str(status)] = {
                    "description": described or ERROR_DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
                }
    return document


def _component(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema
