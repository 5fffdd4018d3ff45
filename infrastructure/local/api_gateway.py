"""API Gateway's part played locally: a threaded HTTP server on 127.0.0.1 in front of the functions'
`Api` events, speaking the REST API proxy integration (payload format 1.0) to them.

The API is served at the root and under its stage (`/v1/items`); the stage appears in the event.
Every request but `GET /swagger` (a page browsers open directly) carries either the stack's key in
the `x-api-key` header (scripts, tests) or, when the API's default authorizer is a Cognito user pool
authorizer, an access token of that pool in `Authorization: Bearer ...`, checked as API Gateway's
authorizer checks it (`cognito_authorizer.py`); its claims reach the function in
`requestContext.authorizer.claims`, as on AWS. Anything else is a 401.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from infrastructure.local.cognito_authorizer import AuthorizerUnavailable, CognitoAuthorizer, TokenRejected
from infrastructure.local.http_handler import OneRequestHandler
from infrastructure.local.lambda_runtime import LocalFunction
from infrastructure.local.provision import ProvisionedStack
from infrastructure.local.template import ACCOUNT_ID, EventSpec, TemplateError

logger = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
API_KEY_HEADER = "x-api-key"
AUTHORIZATION_HEADER = "Authorization"
_MAX_DISCARDED_BYTES = 64 * 1024 * 1024  # larger rejected bodies are not read: the connection just closes
_UNAUTHENTICATED_ROUTES = frozenset({("GET", "/swagger")})
_IMPLICIT_API_STAGE = "Prod"  # SAM's stage for Api events without RestApiId
_HOP_BY_HOP_HEADERS = frozenset({"content-length", "connection", "transfer-encoding"})


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # percent-decoded, without the query string
    query: str
    headers: Sequence[tuple[str, str]]  # as sent: original case, repeats kept
    body: bytes
    source_ip: str

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes


def error_response(status: int, code: str, message: str) -> HttpResponse:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return HttpResponse(status, [("Content-Type", "application/json")], body)


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    """One `Api` event: a method and a resource path (`{param}`, `{proxy+}`) bound to a function."""

    function: LocalFunction
    event_name: str
    method: str  # upper case, or ANY
    resource: str
    pattern: re.Pattern[str]
    parameter_names: tuple[str, ...]
    stage: str
    api_id: str

    @classmethod
    def from_event(cls, function: LocalFunction, event: EventSpec, stack: ProvisionedStack) -> Route:
        properties = event.properties
        resource = str(stack.resolve(properties["Path"]))
        pattern, names = compile_resource_path(resource)
        stage, api_id = _stage_and_api_id(properties.get("RestApiId"), stack)
        return cls(
            function=function,
            event_name=event.name,
            method=str(stack.resolve(properties["Method"])).upper(),
            resource=resource,
            pattern=pattern,
            parameter_names=names,
            stage=stage,
            api_id=api_id,
        )

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route serves `method path`, else None."""
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.match(path)
        return dict(zip(self.parameter_names, found.groups(), strict=True)) if found else None

    @property
    def precedence(self) -> tuple[int, int, int]:
        """API Gateway prefers literal segments over {param}, and {param} over {proxy+}."""
        segments = self.resource.strip("/").split("/")
        greedy = sum(segment.endswith("+}") for segment in segments)
        literal = sum(not segment.startswith("{") for segment in segments)
        return (greedy, -literal, self.method == "ANY")


def compile_resource_path(resource: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names: list[str] = []
    parts: list[str] = []
    for segment in resource.strip("/").split("/") if resource.strip("/") else []:
        if segment.startswith("{") and segment.endswith("+}"):
            names.append(segment[1:-2])
            parts.append("(.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            names.append(segment[1:-1])
            parts.append("([^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$"), tuple(names)


def _stage_and_api_id(rest_api_id: Any, stack: ProvisionedStack) -> tuple[str, str]:
    if rest_api_id is None:
        return _IMPLICIT_API_STAGE, "local"
    if not (isinstance(rest_api_id, Mapping) and "Ref" in rest_api_id):
        raise TemplateError(f"Api event RestApiId must be !Ref to an API of the template, got {rest_api_id}")
    api = str(rest_api_id["Ref"])
    stage = stack.resolve(stack.template.properties(api).get("StageName"))
    if not stage:
        raise TemplateError(f"{api} has no StageName")
    return str(stage), stack.ref(api)


# --------------------------------------------------------------------------- the gateway


@dataclass(frozen=True)
class _Admitted:
    """A request let through: with a Cognito token, its claims (None with the API key or on an open route)."""

    claims: Mapping[str, Any] | None = None


class ApiGateway:
    """Authenticates, routes and translates requests to proxy events and proxy results back.

    `authorizers` holds the Cognito authorizer of each API that has one (by `Route.api_id`)."""

    def __init__(self, routes: Sequence[Route], api_key: str,
                 authorizers: Mapping[str, CognitoAuthorizer] | None = None) -> None:
        self.routes = sorted(routes, key=lambda route: route.precedence)
        self._api_key = api_key
        self._authorizers = dict(authorizers or {})

    def reject_early(self, method: str, path: str, request_headers: HttpRequest) -> HttpResponse | None:
        """Answer before the body is read: authentication, then API Gateway's payload limit."""
        admitted = self._admit(method, self._path_without_stage(path), request_headers)
        return admitted if isinstance(admitted, HttpResponse) else _payload_rejection(request_headers)

    def handle(self, request: HttpRequest) -> HttpResponse:
        request = replace(request, path=self._path_without_stage(request.path))
        admitted = self._admit(request.method, request.path, request)
        if isinstance(admitted, HttpResponse):
            return admitted
        rejection = _payload_rejection(request)
        if rejection is not None:
            return rejection
        route, path_parameters = self._route(request.method, request.path)
        if route is None:
            return error_response(404, "not_found", f"no route for {request.method} {request.path}")
        return self._invoke(route, request, path_parameters, admitted.claims)

    def _route(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            path_parameters = route.match(method, path)
            if path_parameters is not None:
                return route, path_parameters
        return None, {}

    def _admit(self, method: str, path: str, request: HttpRequest) -> _Admitted | HttpResponse:
        """The stack's API key, or a token the route's authorizer accepts; a 401 saying what is wrong otherwise."""
        if (method, path) in _UNAUTHENTICATED_ROUTES:
            return _Admitted()
        key = request.header(API_KEY_HEADER)
        if key is not None:
            if not hmac.compare_digest(key.encode(), self._api_key.encode()):
                return error_response(401, "unauthorized", f"the {API_KEY_HEADER} header does not match the API key")
            return _Admitted()
        return self._admit_token(self._authorizer(method, path), request.header(AUTHORIZATION_HEADER))

    @staticmethod
    def _admit_token(authorizer: CognitoAuthorizer | None, authorization: str | None) -> _Admitted | HttpResponse:
        if authorizer is None:
            return error_response(401, "unauthorized", f"send the local API key in the {API_KEY_HEADER} header")
        if authorization is None:
            return error_response(
                401, "unauthorized",
                f"sign in and send the access token as '{AUTHORIZATION_HEADER}: Bearer <token>' "
                f"(or the local API key in the {API_KEY_HEADER} header)",
            )
        try:
            return _Admitted(claims=authorizer.verify(authorization))
        except TokenRejected as rejected:
            return error_response(401, "unauthorized", rejected.message)
        except AuthorizerUnavailable as exc:
            logger.error("the Cognito authorizer cannot check tokens: %s", exc)
            return error_response(503, "authorizer_unavailable", "tokens cannot be checked now; try again")

    def _authorizer(self, method: str, path: str) -> CognitoAuthorizer | None:
        """The Cognito authorizer of the API serving `method path`; for a path no route serves, the one
        authorizer all the APIs share, if they do (so an unknown path asks the same credentials)."""
        route, _ = self._route(method, path)
        if route is not None:
            return self._authorizers.get(route.api_id)
        shared = {id(authorizer): authorizer for authorizer in self._authorizers.values()}
        return next(iter(shared.values())) if len(shared) == 1 else None

    def _path_without_stage(self, path: str) -> str:
        """Serve the API both at the root and under its stage (`/v1/items`), as the deployed URL has it:
        documents the API generates (Swagger's server) name the stage."""
        for stage in {route.stage for route in self.routes}:
            prefix = f"/{stage}"
            if path == prefix or path.startswith(f"{prefix}/"):
                return path[len(prefix):] or "/"
        return path

    def _invoke(self, route: Route, request: HttpRequest, path_parameters: dict[str, str],
                claims: Mapping[str, Any] | None = None) -> HttpResponse:
        request_id = str(uuid.uuid4())
        event = proxy_event(route, request, path_parameters, request_id, claims)
        started = time.monotonic()
        try:
            result = route.function.invoke(event)
            response = http_response(result)
        except Exception:
            logger.exception(
                "%s <- %s %s: the function failed", route.function.logical_id, request.method, request.path
            )
            response = error_response(502, "internal_error", "Internal server error")
        logger.info(
            "%s <- %s %s: %d, %.0f ms",
            route.function.logical_id,
            request.method,
            request.path,
            response.status,
            (time.monotonic() - started) * 1000,
        )
        return HttpResponse(response.status, [*response.headers, ("x-amzn-RequestId", request_id)], response.body)


def _payload_rejection(request_headers: HttpRequest) -> HttpResponse | None:
    """API Gateway's payload limit, from the Content-Length header alone."""
    length = request_headers.header("Content-Length") or "0"
    if not length.isdigit():
        return error_response(400, "bad_request", "the Content-Length header is not a number")
    if int(length) > MAX_PAYLOAD_BYTES:
        return error_response(413, "payload_too_large", f"request bodies are limited to {MAX_PAYLOAD_BYTES} bytes")
    return None


def proxy_event(
    route: Route, request: HttpRequest, path_parameters: Mapping[str, str], request_id: str,
    claims: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The REST API Lambda proxy event (payload format 1.0) for a request; a Cognito authorizer's
    `claims` go in `requestContext.authorizer.claims`, as strings, as API Gateway puts them."""
    headers = dict(request.headers)
    multi_headers = _group(request.headers)
    query = parse_qsl(request.query, keep_blank_values=True)
    body, is_base64 = _event_body(request.body)
    now = datetime.now(UTC)
    return {
        "resource": route.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": _group(query) or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": route.resource,
            "httpMethod": request.method,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{route.stage}{request.path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": route.stage,
            "domainPrefix": "127",
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": request.header("User-Agent"),
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "accessKey": None,
                "apiKey": None,
                "cognitoIdentityPoolId": None,
                "cognitoIdentityId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "principalOrgId": None,
            },
            "domainName": request.header("Host") or "127.0.0.1",
            "apiId": route.api_id,
            **({"authorizer": {"claims": {name: _claim_text(value) for name, value in claims.items()}}}
               if claims is not None else {}),
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _claim_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _group(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def _event_body(body: bytes) -> tuple[str | None, bool]:
    """The event's (body, isBase64Encoded): UTF-8 text as is, other bytes base64, no body None."""
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode(), True


def http_response(result: Any) -> HttpResponse:
    """The HTTP response API Gateway makes of a proxy result; a malformed result is a 502."""
    if not isinstance(result, Mapping) or not isinstance(result.get("statusCode"), int):
        logger.error("malformed Lambda proxy response: %.200r", result)
        return error_response(502, "internal_error", "Internal server error (malformed Lambda proxy response)")
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    headers = _response_headers(result.get("headers") or {}, result.get("multiValueHeaders") or {})
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(int(result["statusCode"]), headers, payload)


def _response_headers(single: Mapping[str, Any], multi: Mapping[str, Sequence[Any]]) -> list[tuple[str, str]]:
    """Both header maps merged; a name present in multiValueHeaders takes its values from there."""
    headers = [(name, str(value)) for name, values in multi.items() for value in values]
    in_multi = {name.lower() for name in multi}
    headers += [(name, str(value)) for name, value in single.items() if name.lower() not in in_multi]
    return [(name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP_HEADERS]


# --------------------------------------------------------------------------- the HTTP server


class ApiServer(ThreadingHTTPServer):
    """A threaded HTTP server whose request handlers ask `gateway` what to answer."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: ApiGateway) -> None:
        super().__init__(address, _RequestHandler)
        self.gateway = gateway


class _RequestHandler(OneRequestHandler):
    """Reads one request and writes the gateway's answer."""

    server: ApiServer
    server_version = "stocksync-local-apigateway"

    def serve(self) -> None:
        url = urlsplit(self.path)
        request = HttpRequest(
            method=self.command,
            path=unquote(url.path) or "/",
            query=url.query,
            headers=list(self.headers.items()),
            body=b"",
            source_ip=self.client_address[0],
        )
        gateway = self.server.gateway
        response = gateway.reject_early(request.method, request.path, request)
        if response is None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            response = gateway.handle(replace(request, body=body))
        else:
            self._discard_body()
        self.write(response.status, response.headers, response.body)

    def _discard_body(self) -> None:
        """Read a rejected body away, so the client gets our answer rather than a reset connection."""
        length = self.headers.get("Content-Length") or "0"
        remaining = int(length) if length.isdigit() and int(length) <= _MAX_DISCARDED_BYTES else 0
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1024 * 1024))
            if not chunk:
                break
            remaining -= len(chunk)
