"""The web console on 127.0.0.1, served as CloudFront serves it on AWS: the built files of console/dist at the
root of their own origin, with the distribution's security headers, `/config.json` (where the API is and how
people sign in), `/v1/*` passed to the local API gateway (same origin, so the page needs no CORS for the
API), and any other path without a file of its own answered with index.html (the console's own routes).
"""

from __future__ import annotations

import http.client
import json
import logging
import mimetypes
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infrastructure.local.http_handler import OneRequestHandler

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_DIST = ROOT / "console" / "dist"
API_PREFIX = "/v1"
PROXY_TIMEOUT_S = 120  # a large import or export keeps the API working a while
# Headers one hop owns (RFC 9110 7.6.1): never passed through the proxy.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                         "trailer", "transfer-encoding", "upgrade", "host", "content-length"})
_MAX_BODY_BYTES = 8 * 1024 * 1024  # the API refuses bodies over 1 MB itself; this only bounds what is read


class ConsoleNotBuilt(RuntimeError):
    """console/dist has no index.html: the front-end has not been built."""


def security_headers(connect_origins: Sequence[str]) -> list[tuple[str, str]]:
    """The headers the CloudFront distribution adds to every answer (its response headers policy): nothing
    loads from elsewhere, scripts and styles included; the page may call its own origin and `connect_origins`
    (Cognito's endpoint, the bucket a catalogue is uploaded to) and no one may frame it."""
    connect = " ".join(["'self'", *dict.fromkeys(origin.rstrip("/") for origin in connect_origins)])
    policy = "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
        f"connect-src {connect}", "object-src 'none'", "base-uri 'self'", "form-action 'self'",
        "frame-ancestors 'none'",
    ])
    return [("Content-Security-Policy", policy), ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"), ("Referrer-Policy", "strict-origin-when-cross-origin")]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class ConsoleServer:
    """Serves `dist` on 127.0.0.1:`port` (0 = a free port) until stop(). `config` is /config.json's body;
    `api_url` the local API gateway's base URL; `connect_origins` the other origins the page calls."""

    def __init__(self, config: Mapping[str, Any], api_url: str, connect_origins: Sequence[str], port: int = 0,
                 dist: Path = CONSOLE_DIST) -> None:
        index = dist / "index.html"
        if not index.is_file():
            raise ConsoleNotBuilt(f"the console is not built ({index} is missing): run make console")
        self.dist = dist.resolve()
        self.config_body = json.dumps(config).encode()
        api = urlsplit(api_url)
        self.api_host, self.api_port = api.hostname or "127.0.0.1", api.port or 80
        self.headers = security_headers(connect_origins)
        self._server = _Server(("127.0.0.1", port), self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="console-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def static(self, path: str) -> Answer:
        """A built file; /config.json; index.html for a path with no file that is not an asset's."""
        if path == "/config.json":
            return Answer(200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                          self.config_body)
        wanted = (self.dist / path.lstrip("/")).resolve()
        inside = wanted.is_relative_to(self.dist)
        if inside and wanted.is_file():
            kind = mimetypes.guess_type(wanted.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind in {"application/javascript", "text/javascript"}:
                kind += "; charset=utf-8"
            # Vite names each asset by its content's hash: it never changes under the same name.
            cache = "public, max-age=31536000, immutable" if wanted.parent.name == "assets" else "no-cache"
            return Answer(200, [("Content-Type", kind), ("Cache-Control", cache)], wanted.read_bytes())
        if not inside or path.startswith("/assets/") or Path(path).suffix:
            return Answer(404, [("Content-Type", "text/plain; charset=utf-8")], b"Not found")
        return Answer(200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache")],
                      (self.dist / "index.html").read_bytes())

    def proxied(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        """The request passed to the API gateway as it came (path still percent-encoded), and its answer."""
        connection = http.client.HTTPConnection(self.api_host, self.api_port, timeout=PROXY_TIMEOUT_S)
        try:
            sent = {name: value for name, value in headers if name.lower() not in _HOP_BY_HOP}
            connection.request(method, target, body=body or None, headers=sent)
            response = connection.getresponse()
            payload = response.read()
            ours = {name.lower() for name, _ in self.headers}
            kept = [(name, value) for name, value in response.getheaders()
                    if name.lower() not in _HOP_BY_HOP and name.lower() not in ours]
            return Answer(response.status, kept, payload)
        except OSError as exc:
            logger.warning("console proxy: the API did not answer %s %s: %s", method, target, exc)
            body_out = json.dumps({"error": {"code": "api_unreachable", "message": "The API did not answer",
                                             "details": None}}).encode()
            return Answer(502, [("Content-Type", "application/json")], body_out)
        finally:
            connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], console: ConsoleServer) -> None:
        super().__init__(address, _Handler)
        self.console = console


class _Handler(OneRequestHandler):
    """`/v1/...` to the API gateway, everything else from the build."""

    server: _Server
    server_version = "stocksync-local-console"

    def serve(self) -> None:
        console = self.server.console
        path = urlsplit(self.path).path
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY_BYTES:
                answer = Answer(413, [("Content-Type", "application/json")], json.dumps(
                    {"error": {"code": "too_large", "message": "The body is too large", "details": None}}).encode())
            else:
                body = self.rfile.read(length) if length else b""
                answer = console.proxied(self.command, self.path, list(self.headers.items()), body)
        elif self.command in {"GET", "HEAD"}:
            answer = console.static(path)
        else:
            answer = Answer(405, [("Content-Type", "text/plain; charset=utf-8"), ("Allow", "GET, HEAD")],
                            b"Method not allowed")
        self.write(answer.status, [*answer.headers, *console.headers], answer.body)
