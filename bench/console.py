"""The console's mapping screen at scale: a 100,000-listing channel's first rows in a real browser.

Figures:
  console_mapping_first_rows_ms      from the start of navigating to the channel's mapping screen
                                     (signed in) to its first listing row visible, median of RUNS
                                     (goal <= 1,500)
  console_mapping_first_rows_max_ms  the slowest of those runs

How it runs: in a fresh process (`measure_apart`), the embedded AWS with template.yaml provisioned
(moto in this process, made quicker as bench.mapping describes), one channel with 100,000 listings
and their items seeded straight into the table (bench.seeding.items_and_listings, not measured), the
local API gateway (the API function as `make run` serves it) and the console server with the demo
seller's Cognito sign-in. Debian's chromium, driven by Playwright, signs in once; each run is then a
fresh navigation to `/?channel=<id>`: the page loads, reads its config, lists the channels, asks
for the first page of listings with their totals, and draws the virtualised grid. The clock stops
when the first row is visible.

Set BENCH_CONSOLE_N to seed a smaller channel (the figure names keep "100k" out of them: they are
the mapping screen's, whatever its size).
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import sys
import time

from bench import HANDLER_ENVIRONMENT, measure_apart, paced, print_figures
from bench.seeding import items_and_listings, moto_table

N = int(os.environ.get("BENCH_CONSOLE_N", "100000"))
RUNS = 5
TIMEOUT_S = 1200
FIRST_ROW = '[role="grid"] [role="row"][aria-rowindex="2"]'
NAVIGATION_TIMEOUT_MS = 60_000


def measure() -> dict[str, float]:
    """The figures, measured in a fresh process (see the module docstring)."""
    return measure_apart("bench.console", TIMEOUT_S)


def _first_rows_ms(console_url: str, channel_id: str, username: str, password: str) -> list[float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("Debian's chromium is needed: apt-get install chromium (or make chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(paced(NAVIGATION_TIMEOUT_MS))
            page.goto(f"{console_url}/?channel={channel_id}")  # signed in there: the console opens on Home
            page.get_by_label("User name").fill(username)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector(FIRST_ROW, state="visible")
            runs = []
            for _ in range(RUNS):
                started = time.perf_counter()
                page.goto(f"{console_url}/?channel={channel_id}")
                page.wait_for_selector(FIRST_ROW, state="visible")
                runs.append((time.perf_counter() - started) * 1000)
            return runs
        finally:
            browser.close()


def _measure_here() -> dict[str, float]:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from infrastructure.local.console_server import API_PREFIX, ConsoleServer
    from infrastructure.local.harness import embedded_stack
    from infrastructure.local.runner import Runner
    from infrastructure.local.sign_in import demo_sign_in

    with embedded_stack(HANDLER_ENVIRONMENT, quicker=True) as stack:
        from stocksync.channels.store import ChannelInput
        from stocksync.channels.types import ChannelType
        from stocksync.core.settings import ApiSettings
        from stocksync.wiring import wiring

        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        wiring.cache_clear()
        app = wiring(ApiSettings)
        channel = app.mapping.channels.create(ChannelInput(name="Bench", type=ChannelType.EBAY))
        seeding = time.perf_counter()
        items_and_listings(moto_table(app.settings.table_name), channel.channel_id, N)
        seeding = time.perf_counter() - seeding
        aws_endpoint = os.environ["AWS_ENDPOINT_URL"]
        sign_in = demo_sign_in(stack, aws_endpoint)
        runner = Runner(stack.template, stack, api_port=0, api_key="bench")
        runner.start()
        console = ConsoleServer({"apiBase": API_PREFIX, "signIn": sign_in.console_config()}, runner.api_url,
                                [sign_in.endpoint, aws_endpoint])
        console.start()
        try:
            runs = _first_rows_ms(console.url, channel.channel_id, sign_in.username, sign_in.password)
        finally:
            console.stop()
            runner.stop()
    print(f"console mapping screen, {N} listings seeded in {seeding:.1f} s: first rows in "
          f"{', '.join(f'{ms:.0f}' for ms in runs)} ms", file=sys.stderr)
    return {"console_mapping_first_rows_ms": round(statistics.median(runs), 1),
            "console_mapping_first_rows_max_ms": round(max(runs), 1)}


if __name__ == "__main__":
    print_figures(_measure_here())
