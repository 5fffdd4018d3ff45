"""What the browser tests of the console share: a page signed in to the shared stack's console, a website
stand-in of a module's own, axe-core run on a screen, screenshots, and waiting for the stack."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Locator, Page, expect

from infrastructure.demo.listings import DemoListing
from infrastructure.local.harness import StackProcess
from infrastructure.standins.generic import GenericStandIn

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
WAIT_MS = 30_000  # what a catalogue load, an order poll, a job or a sync pass may take on the sped-up stack
VIEWPORT = {"width": 1440, "height": 900}
SESSION_KEY = "stocksync.session"  # where the console keeps its sign-in (sessionStorage)


def wait_until(describe: str, check: Callable[[], Any], timeout_s: float = WAIT_MS / 1000) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        seen = check()
        if seen:
            return seen
        if time.monotonic() > deadline:
            pytest.fail(f"{describe}: not within {timeout_s} s")
        time.sleep(0.25)


@contextmanager
def website_of_its_own(listings: list[DemoListing]) -> Iterator[GenericStandIn]:
    """A website stand-in listing these: a module's stock updates land there, never on the demo's."""
    standin = GenericStandIn(listings=listings, port=0)
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


def creator(stack: StackProcess) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """POST to the stack's API, expecting 201; the created resource."""
    http = stack.session()

    def created(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = http.post(f"{stack.api_url}{path}", json=body, timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()

    return created


@contextmanager
def signed_in_page(browser: Browser, stack: StackProcess, path: str, ready: Callable[[Page], Locator],
                   **context_options: Any) -> Iterator[Page]:
    """The console at `path`, signed in as the demo seller, once `ready(page)` shows."""
    assert stack.console_url, "the READY line names no console_url"
    context = browser.new_context(viewport=VIEWPORT, **context_options)
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    opened.goto(f"{stack.console_url}{path}")
    opened.get_by_label("User name").fill(stack.sign_in["username"])
    opened.get_by_label("Password").fill(stack.sign_in["password"])
    opened.get_by_role("button", name="Sign in").click()
    expect(ready(opened)).to_be_visible()
    try:
        yield opened
    finally:
        context.close()


def axe_violations(page: Page, browser: Browser, ready: Callable[[Page], Locator]) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page's screen. axe runs in a second page that
    ignores the console's CSP (which rightly refuses the injected script), signed in with the first
    page's session, on the first page's URL (screen, channel, item, order), once `ready` shows."""
    session = page.evaluate(f"() => sessionStorage.getItem('{SESSION_KEY}')")
    checked = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    checked.add_init_script(f"sessionStorage.setItem('{SESSION_KEY}', {json.dumps(session)})")
    audited = checked.new_page()
    try:
        audited.goto(page.url)
        expect(ready(audited)).to_be_visible()
        audited.add_script_tag(path=str(AXE))
        result = audited.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    finally:
        checked.close()
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:5]]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def standin_listings(url: str) -> list[dict[str, Any]]:
    return requests.get(f"{url}/_standin/listings", timeout=10).json()["listings"]
