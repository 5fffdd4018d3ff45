"""The local console server: the built files with CloudFront's security headers, /config.json, the API
proxied same-origin under /v1, index.html for the console's own routes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from infrastructure.local.console_server import ConsoleNotBuilt, ConsoleServer

CONFIG = {"apiBase": "/v1", "signIn": {"region": "eu-west-1", "userPoolId": "eu-west-1_pool", "clientId": "client",
                                       "endpoint": "http://127.0.0.1:4566/"}}


class _EchoApi(BaseHTTPRequestHandler):
    """Answers every request with what it received, as JSON."""

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps({"method": self.command, "path": self.path,
                           "authorization": self.headers.get("Authorization"),
                           "body": self.rfile.read(length).decode() if length else ""}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # BaseHTTPRequestHandler's naming
        self._echo()

    def do_PATCH(self) -> None:
        self._echo()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>console</title>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('hi')")
    (tmp_path.parent / "secret.txt").write_text("not for the browser")
    return tmp_path


@pytest.fixture
def console(dist: Path, api: str) -> Iterator[str]:
    server = ConsoleServer(CONFIG, api, ["http://127.0.0.1:4566/", "https://bucket.s3.amazonaws.com"], dist=dist)
    server.start()
    yield server.url
    server.stop()


def test_given_the_console_when_its_config_is_asked_then_it_says_where_the_api_is_and_how_to_sign_in(
        console: str) -> None:
    response = requests.get(f"{console}/config.json", timeout=5)

    assert response.status_code == 200
    assert response.json() == CONFIG
    assert response.headers["Cache-Control"] == "no-store"


def test_given_any_answer_then_it_carries_the_distributions_security_headers(console: str) -> None:
    for path in ("/", "/config.json", "/assets/index-abc123.js", "/v1/items", "/nothing.png"):
        headers = requests.get(f"{console}{path}", timeout=5).headers

        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "connect-src 'self' http://127.0.0.1:4566 https://bucket.s3.amazonaws.com" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_given_a_built_asset_then_it_is_served_with_its_type_and_kept_by_browsers(console: str) -> None:
    response = requests.get(f"{console}/assets/index-abc123.js", timeout=5)

    assert response.text == "console.log('hi')"
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in response.headers["Cache-Control"]


def test_given_a_console_route_without_a_file_then_index_html_answers(console: str) -> None:
    response = requests.get(f"{console}/channels/abc?channel=1", timeout=5)

    assert response.status_code == 200
    assert "<title>console</title>" in response.text
    assert response.headers["Cache-Control"] == "no-cache"


def test_given_a_missing_asset_or_a_path_out_of_the_build_then_404(console: str) -> None:
    assert requests.get(f"{console}/assets/gone.js", timeout=5).status_code == 404
    assert requests.get(f"{console}/favicon.ico", timeout=5).status_code == 404
    assert requests.get(f"{console}/%2e%2e/secret.txt", timeout=5).status_code == 404


def test_given_an_api_call_under_v1_then_it_reaches_the_api_as_sent(console: str) -> None:
    response = requests.patch(f"{console}/v1/channels/c1/listings/A%252FB?x=1", json={"ignore_sync": True},
                              headers={"Authorization": "Bearer token"}, timeout=5)

    assert response.status_code == 201
    echoed = response.json()
    assert echoed == {"method": "PATCH", "path": "/v1/channels/c1/listings/A%252FB?x=1",
                      "authorization": "Bearer token", "body": '{"ignore_sync": true}'}


def test_given_the_api_down_then_the_console_answers_502_in_the_apis_error_shape(dist: Path) -> None:
    server = ConsoleServer(CONFIG, "http://127.0.0.1:9", [], dist=dist)
    server.start()
    try:
        response = requests.get(f"{server.url}/v1/items", timeout=5)
    finally:
        server.stop()

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "api_unreachable"


def test_given_no_build_then_the_server_refuses_to_start_and_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(ConsoleNotBuilt, match="run make console"):
        ConsoleServer(CONFIG, "http://127.0.0.1:9", [], dist=tmp_path / "dist")
