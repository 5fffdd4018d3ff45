"""Every error the API answers with has one shape: {"error": {"code", "message", "details"}}.

The status comes from the exception's type, never from its text.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

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

STATUS_BY_ERROR: dict[type[StockSyncError], int] = {
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
        body={"error": {"code": code, "message": message, "details": details}},
    )


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


def oversized_body(event: dict[str, Any], max_body_bytes: int) -> dict[str, Any] | None:
    """A 413 proxy response when the body is too large; checked before validation reads it."""
    body = event.get("body") or ""
    size = len(body.encode() if isinstance(body, str) else body)
    if size <= max_body_bytes:
        return None
    error = {"code": "payload_too_large", "message": f"The request body is larger than {max_body_bytes} bytes",
             "details": {"limit_bytes": max_body_bytes, "size_bytes": size}}
    return {
        "statusCode": 413,
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "body": json.dumps({"error": error}),
        "isBase64Encoded": False,
    }
