"""Every error the API answers with has one shape: {"error": {"code", "message", "details"}}.

The status comes from the exception's type, never from its text.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from stocksync.channels.base import ChannelNotConfigured
from stocksync.core.errors import (
    ChannelError,
    Conflict,
    InvalidInput,
    NotFound,
    PimError,
    StockSyncError,
    TooManyRequests,
)
from stocksync.core.observability import logger

STATUS_BY_ERROR: dict[type[StockSyncError], int] = {  # the first that matches, so subclasses come first
    ChannelNotConfigured: 409,  # the channel's own settings lack what the call needs: the seller's to fix
    InvalidInput: 400,
    NotFound: 404,
    Conflict: 409,
    PimError: 502,
    TooManyRequests: 429,
    ChannelError: 502,
}


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=error_body(code, message, details),
    )


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def register(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(StockSyncError)
    def domain_error(error: StockSyncError) -> Response:
        status = next((s for kind, s in STATUS_BY_ERROR.items() if isinstance(error, kind)), 400)
        response = error_response(status, error.code, error.message, error.details)
        if isinstance(error, TooManyRequests):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        details = [
            {"field": ".".join(str(part) for part in issue.get("loc", ())), "message": issue.get("msg"),
             "type": issue.get("type")}
            for issue in error.errors()
        ]
        return error_response(422, "validation_error", "The request is not valid", details)

    @app.not_found
    def not_found(_error: NotFoundError) -> Response:
        return error_response(404, "not_found", f"No route {app.current_event.http_method} {app.current_event.path}")

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response:
        logger.exception("Unhandled error")
        return error_response(500, "internal_error", "Something went wrong; it has been logged")


def refused_body(event: Mapping[str, Any], max_body_bytes: int) -> dict[str, Any] | None:
    """A 413, 415 or 422 proxy response for a body the API will not read, checked before validation parses it.

    Every body is JSON: Powertools would try to read a form or multipart body (and fail with a 500 on one
    without a boundary), so any other declared media type is refused as it is; and a body that is not
    UTF-8 (the gateway passes it base64-encoded) cannot be JSON, where Powertools would fail decoding it.
    """
    body = event.get("body") or ""
    size = len(body.encode() if isinstance(body, str) else body)
    if size > max_body_bytes:
        return _proxy_error(413, "payload_too_large", f"The request body is larger than {max_body_bytes} bytes",
                            {"limit_bytes": max_body_bytes, "size_bytes": size})
    content_type = _header(event, "content-type")
    media_type = (content_type or "").split(";")[0].strip().lower()
    if size and media_type and media_type != "application/json" and not media_type.endswith("+json"):
        return _proxy_error(415, "unsupported_media_type", "Send the request body as application/json",
                            {"content_type": content_type})
    if size and event.get("isBase64Encoded") and not _is_utf8(body):
        return _invalid_body("The body is not UTF-8 text")
    if size and not event.get("isBase64Encoded") and _nested_too_deep(body):
        return _invalid_body(f"The body is nested deeper than {MAX_NESTING} levels")
    return None


MAX_NESTING = 32  # DynamoDB's limit for a stored document; no request of this API comes near it


def _nested_too_deep(body: str | bytes) -> bool:
    """Whether the JSON body nests objects and arrays deeper than MAX_NESTING (a body too deep for
    Python's own parser counts as too deep; one that is not JSON is left for validation to refuse)."""
    try:
        document = json.loads(body)
    except RecursionError:
        return True
    except ValueError:
        return False
    level: list[tuple[Any, int]] = [(document, 1)]
    while level:
        value, depth = level.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_NESTING:
                    return True
                level.append((child, depth + 1))
    return False


def _invalid_body(message: str) -> dict[str, Any]:
    return _proxy_error(422, "validation_error", "The request is not valid",
                        [{"field": "body", "message": message, "type": "json_invalid"}])


def _is_utf8(base64_body: str | bytes) -> bool:
    try:
        base64.b64decode(base64_body).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _header(event: Mapping[str, Any], name: str) -> str | None:
    return next((value for key, value in (event.get("headers") or {}).items() if key.lower() == name), None)


def _proxy_error(status: int, code: str, message: str, details: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "body": json.dumps(error_body(code, message, details)),
        "isBase64Encoded": False,
    }
