"""The request handler both local HTTP servers (the API gateway, the console) build on."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

logger = logging.getLogger(__name__)


class OneRequestHandler(BaseHTTPRequestHandler):
    """Answers every method with `serve()`, one request per connection (HTTP/1.0 style, so a server's
    stop never waits on idle keep-alive connections)."""

    timeout = 30  # seconds a silent client may hold a thread

    def serve(self) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:  # BaseHTTPRequestHandler's naming
        self.serve()

    def do_HEAD(self) -> None:
        self.serve()

    def do_POST(self) -> None:
        self.serve()

    def do_PUT(self) -> None:
        self.serve()

    def do_PATCH(self) -> None:
        self.serve()

    def do_DELETE(self) -> None:
        self.serve()

    def do_OPTIONS(self) -> None:
        self.serve()

    def write(self, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # the base class's signature
        logger.debug("%s " + format, self.client_address[0], *args)
