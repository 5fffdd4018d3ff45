"""The console's mapping screen on a channel of 100,000 listings, in Debian's chromium.

console_mapping_first_rows_ms  from the start of the navigation to the mapping screen (signed in, channel in
                               the URL) to its first listing rows in the page, by the page's own clock; median
                               of 5 navigations, each in a fresh browser context (nothing cached)

The stack is in this process (embedded AWS, the runner with only the catalogue ingest queue and the API, as
`bench/ingest.py` runs it), the console served by `infrastructure/local/console_server.py` from console/dist
(`make console` first), the demo seller's sign-in made a user of the template's pool. BENCH_CONSOLE_N
sets the listings (100,000); BENCH_CONSOLE_TRACE=1 also prints the screen's first API calls' times.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from typing import TYPE_CHECKING

from bench.ingest import amazon_report

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROWS = int(os.environ.get("BENCH_CONSOLE_N", "100000"))
NAVIGATIONS = 5
LOAD_TIMEOUT_S = 900
# Records when the first listing row is in the page, by the page's clock (0 = the navigation's start).
FIRST_ROWS_PROBE = """
new MutationObserver((_, observer) => {
  if (document.querySelector('[role=row][data-sku]')) {
    window.__firstRowsAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def measure() -> dict[str, float]:
    import boto3
    import requests
    from playwright.sync_api import sync_playwright

    from bench import HANDLER_ENVIRONMENT
    from infrastructure.local.console_server import API_PREFIX, ConsoleServer
    from infrastructure.local.harness import embedded_stack
    from infrastructure.local.runner import Runner
    from infrastructure.local.sign_in import demo_sign_in

    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("no chromium on PATH: apt-get install -y chromium")
    # moto made quicker as for the other 100,000-record benchmarks: its own Query sorts the whole table
    # with a Python comparison per pair for every page (20,000 listings: 13 s a page), which is moto's
    # cost, not DynamoDB's nor the console's.
    with embedded_stack(HANDLER_ENVIRONMENT | {"AWS_DEFAULT_REGION": "eu-west-1"}, quicker=True) as stack:
        from stocksync.wiring import wiring

        wiring.cache_clear()  # built again from this stack's environment
        sign_in = demo_sign_in(stack, os.environ["AWS_ENDPOINT_URL"])
        runner = Runner(stack.template, stack, api_port=0, api_key="bench")
        runner.sqs_sources = [source for source in runner.sqs_sources
                              if source.function.logical_id == "CatalogueIngestFunction"]
        runner.schedules = []
        with runner:
            api, key = runner.api_url, {"x-api-key": "bench"}
            channel = requests.post(f"{api}/channels", json={"name": "Bench 100k", "type": "amazon", "settings": {}},
                                    headers=key, timeout=30).json()["channel_id"]
            boto3.client("s3").put_object(Bucket=stack.ref("CatalogueBucket"),
                                          Key=f"catalogues/{channel}/amazon_merchant_listings/bench.tsv.gz",
                                          Body=amazon_report(ROWS))
            _wait_for_listings(api, key, channel)
            if os.environ.get("BENCH_CONSOLE_TRACE"):
                for path in ("/channels", f"/channels/{channel}/listings?limit=100",
                             f"/channels/{channel}/catalogue/report"):
                    started = time.perf_counter()
                    status = requests.get(f"{api}{path}", headers=key, timeout=120).status_code
                    print(f"TRACE {path}: {status} {time.perf_counter() - started:.2f} s", flush=True)
            console = ConsoleServer({"apiBase": API_PREFIX, "signIn": sign_in.console_config()}, api,
                                    [sign_in.endpoint], 0)
            console.start()
            try:
                tokens = boto3.client("cognito-idp").initiate_auth(
                    ClientId=sign_in.client_id, AuthFlow="USER_PASSWORD_AUTH",
                    AuthParameters={"USERNAME": sign_in.username, "PASSWORD": sign_in.password},
                )["AuthenticationResult"]
                session = {"username": sign_in.username, "accessToken": tokens["AccessToken"],
                           "refreshToken": tokens.get("RefreshToken", ""),
                           "expiresAt": int((time.time() + tokens["ExpiresIn"]) * 1000)}
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                    try:
                        times = [_first_rows_ms(browser, f"{console.url}/?channel={channel}", session)
                                 for _ in range(NAVIGATIONS)]
                    finally:
                        browser.close()
            finally:
                console.stop()
    return {"console_mapping_first_rows_ms": round(statistics.median(times), 1)}


def _wait_for_listings(api: str, key: dict[str, str], channel: str) -> None:
    import requests

    started = time.monotonic()
    while time.monotonic() - started < LOAD_TIMEOUT_S:
        load = requests.get(f"{api}/channels/{channel}/catalogue", headers=key, timeout=30).json()["last_load"]
        if load.get("status") == "succeeded":
            return
        if load.get("status") == "failed":
            raise RuntimeError(f"the bench catalogue did not load: {load}")
        time.sleep(1)
    raise TimeoutError(f"the bench catalogue did not load within {LOAD_TIMEOUT_S} s")


def _first_rows_ms(browser: Browser, url: str, session: dict[str, object]) -> float:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        context.add_init_script(f"sessionStorage.setItem('stocksync.session', {json.dumps(json.dumps(session))})")
        context.add_init_script(FIRST_ROWS_PROBE)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("() => window.__firstRowsAt !== undefined", timeout=60_000)
        return float(page.evaluate("() => window.__firstRowsAt"))
    finally:
        context.close()
