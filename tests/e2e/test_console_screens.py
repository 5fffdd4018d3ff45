"""The console's other screens (navigation, Inventory, Orders, Channels) in Debian's chromium against the
shared local stack, worked as a seller would. The module makes its own items and a web shop channel on a
website stand-in of its own (every name carries RUN), so the other e2e modules sharing the stack see no change.

One browser page serves the whole module, signed in once, so the tests run in file order on it."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from console_support import (
    WAIT_MS,
    axe_violations,
    creator,
    screenshot,
    signed_in_page,
    standin_listings,
    wait_until,
    website_of_its_own,
)
from playwright.sync_api import Browser, Locator, Page, expect

from infrastructure.demo.listings import DemoListing
from infrastructure.local.harness import StackProcess
from infrastructure.standins import akeneo, generic
from infrastructure.standins.generic import GenericStandIn

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:5].upper()
SECRET = f"never-shown-{RUN}"
expect.set_options(timeout=WAIT_MS)


def _sku(name: str) -> str:
    return f"SCR{RUN}-{name}"


@dataclass
class Shop:
    http: requests.Session
    api: str
    channel: str  # a web shop channel on this module's stand-in
    items: dict[str, str]  # name -> item id

    def listing(self, sku: str) -> dict[str, Any] | None:
        answer = self.http.get(f"{self.api}/channels/{self.channel}/listings/{sku}", timeout=10)
        return answer.json() if answer.status_code == 200 else None


@pytest.fixture(scope="module")
def website() -> Iterator[GenericStandIn]:
    # MUG has an item of its SKU (linked by the channel's auto-link); LOOSE has none (its orders are unmapped:
    # the stand-in sells its 5 units, which nothing of ours sends while it is unlinked).
    listings = [DemoListing(sku=_sku(name), title=f"Screens {name}", price=8.0, quantity=quantity,
                            listing_id=f"L-{name}") for name, quantity in (("MUG", 0), ("LOOSE", 5))]
    with website_of_its_own(listings) as standin:
        yield standin


@pytest.fixture(scope="module")
def shop(local_stack: StackProcess, website: GenericStandIn) -> Shop:
    http, api, created = local_stack.session(), local_stack.api_url, creator(local_stack)
    items = {name: created("/items", {"sku": _sku(name), "title": f"Screens item {name}", "retail_price": 8})["item_id"]
             for name in ("MUG", "KIT", "PART", "SPARE")}
    channel = created("/channels", {"name": f"Screens shop {RUN}", "type": "generic",
                                    "settings": {"base_url": website.url},
                                    "credentials": {"api_key": generic.API_KEY}})["channel_id"]
    shop = Shop(http, api, channel, items)
    # The channel's catalogue loads and auto-links on its own schedule: MUG linked, LOOSE listed unlinked.
    wait_until("the shop's listings loaded and MUG linked", lambda: (mug := shop.listing(_sku("MUG")))
               and mug["linked_item"] and shop.listing(_sku("LOOSE")))
    return shop


@pytest.fixture(scope="module")
def page(browser: Browser, local_stack: StackProcess, shop: Shop) -> Iterator[Page]:
    with signed_in_page(browser, local_stack, "/",
                        ready=lambda opened: opened.get_by_role("navigation", name="Screens")) as opened:
        yield opened


def go(page: Page, screen: str, heading: str | None = None) -> None:
    page.get_by_role("navigation", name="Screens").get_by_role("link", name=screen, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading or screen)


def open_item(page: Page, name: str) -> None:
    go(page, "Inventory")
    page.get_by_label("Search items").fill(_sku(name))
    page.get_by_role("table", name="Items").get_by_role("button", name=_sku(name), exact=True).click()
    expect(page.get_by_role("heading", level=2)).to_contain_text(_sku(name))


def standin_quantity(website: GenericStandIn, sku: str) -> int | None:
    return next((listing["quantity"] for listing in standin_listings(website.url) if listing["sku"] == sku), None)


def heading_at(level: int) -> Callable[[Page], Locator]:
    return lambda opened: opened.get_by_role("heading", level=level)


def test_given_the_console_when_a_screen_is_chosen_then_the_url_keeps_it_through_reload_and_back(page):
    go(page, "Inventory")
    assert "screen=inventory" in page.url
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inventory")
    expect(page.get_by_role("link", name="Inventory", exact=True)).to_have_attribute("aria-current", "page")

    go(page, "Orders")
    page.go_back()

    expect(page.get_by_role("heading", level=1)).to_have_text("Inventory")


def test_given_an_item_when_its_stock_is_adjusted_with_a_reason_then_history_and_the_standin_follow(
        page, shop, website):
    open_item(page, "MUG")
    form = page.get_by_role("form", name="Change stock")

    form.get_by_label("Quantity").fill("7")
    form.get_by_label("Reason").fill(f"counted {RUN}")
    form.get_by_role("button", name="Adjust").click()

    expect(form.get_by_role("status")).to_contain_text("level 7, available 7")
    stock = page.get_by_role("table", name="Stock per location")
    expect(stock.get_by_role("row").filter(has_text="(default)")).to_contain_text("7")
    expect(page.get_by_role("table", name="Stock history").get_by_role("row").nth(1)).to_contain_text(f"counted {RUN}")
    shop_row = page.get_by_role("table", name="Available per channel").get_by_role("row").filter(
        has_text=f"Screens shop {RUN}")
    expect(shop_row.get_by_role("cell").last).to_have_text("7")
    wait_until("the stand-in shows 7 of MUG", lambda: standin_quantity(website, _sku("MUG")) == 7)

    form.get_by_label("Set level to").check()
    form.get_by_label("Quantity").fill("5")
    form.get_by_role("button", name="Set").click()

    expect(form.get_by_role("status")).to_contain_text("level 5")
    wait_until("the stand-in shows 5 of MUG", lambda: standin_quantity(website, _sku("MUG")) == 5)


def test_given_a_kit_when_its_component_is_made_to_contain_it_then_the_cycle_is_refused_as_the_api_says(page, shop):
    open_item(page, "KIT")
    editor = page.get_by_role("region", name="Kit components")
    editor.get_by_label("Component SKU").fill(_sku("PART"))
    editor.get_by_role("button", name="Add", exact=True).click()
    editor.get_by_label(f"Quantity of {_sku('PART')}").fill("2")
    editor.get_by_role("button", name="Save components").click()
    expect(editor.get_by_role("status")).to_have_text("Components saved.")
    assert shop.http.get(f"{shop.api}/items/{shop.items['KIT']}", timeout=10).json()["components"] == [
        {"item_id": shop.items["PART"], "quantity": 2}]

    editor.get_by_role("button", name=_sku("PART"), exact=True).click()  # to the component's own page
    expect(page.get_by_role("heading", level=2)).to_contain_text(_sku("PART"))
    editor.get_by_label("Component SKU").fill(_sku("KIT"))
    editor.get_by_role("button", name="Add", exact=True).click()
    expect(editor.get_by_label(f"Quantity of {_sku('KIT')}")).to_have_value("1")
    editor.get_by_role("button", name="Save components").click()

    expect(editor.get_by_role("alert")).to_have_text(
        f"A composite item cannot contain itself ({_sku('PART')} → {_sku('KIT')} → {_sku('PART')})")
    assert shop.http.get(f"{shop.api}/items/{shop.items['PART']}", timeout=10).json()["components"] == []


def test_screenshot_and_axe_of_the_inventory_screen(page, browser):
    open_item(page, "MUG")
    expect(page.get_by_role("table", name="Stock history").get_by_role("row").nth(1)).to_be_visible()
    screenshot(page, "inventory-screen")
    assert axe_violations(page, browser, heading_at(2)) == []


def _ordered(website: GenericStandIn, name: str, quantity: int) -> str:
    answer = requests.post(f"{website.url}/_standin/orders", json={"sku": _sku(name), "quantity": quantity}, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["order_id"])


def _filter_shop(page: Page) -> None:
    go(page, "Orders")
    page.get_by_label("Channel").select_option(label=f"Screens shop {RUN}")


def _order(page: Page, order_id: str) -> Locator:
    """The order's button in the list: stand-ins number their orders alike, so the channel tells them apart."""
    return (page.get_by_role("table", name="Orders").get_by_role("row").filter(has_text=f"Screens shop {RUN}")
            .get_by_role("button", name=order_id, exact=True))


def _order_row_shown(page: Page, order_id: str) -> bool:
    if _order(page, order_id).count():
        return True
    page.get_by_role("button", name="Refresh").click()
    return False


def test_given_a_sale_on_the_standin_when_polled_then_the_order_shows_its_line_allocated(page, shop, website):
    order_id = _ordered(website, "MUG", 2)
    _filter_shop(page)

    wait_until("the order listed", lambda: _order_row_shown(page, order_id))
    _order(page, order_id).click()

    expect(page.get_by_role("heading", level=2)).to_contain_text(order_id)
    line = page.get_by_role("table", name="Order lines").locator(f'tr[data-sku="{_sku("MUG")}"]')
    expect(line.get_by_role("cell").nth(6)).to_have_text("2")  # allocated
    expect(line.get_by_role("link", name="Open item")).to_be_visible()


def test_given_an_unmapped_order_line_when_its_sku_is_linked_then_the_line_allocates(page, shop, website):
    order_id = _ordered(website, "LOOSE", 1)
    page.get_by_label("Unmapped").check()
    wait_until("the unmapped order listed", lambda: _order_row_shown(page, order_id))
    _order(page, order_id).click()
    line = page.get_by_role("table", name="Order lines").locator(f'tr[data-sku="{_sku("LOOSE")}"]')
    expect(line).to_contain_text("unmapped")

    line.get_by_role("button", name="Link SKU…").click()
    dialog = page.get_by_role("dialog", name=f"Link {_sku('LOOSE')}")
    dialog.get_by_label("Find an item").fill(_sku("SPARE"))
    dialog.get_by_role("button", name="Search", exact=True).click()
    dialog.get_by_role("option", name=_sku("SPARE")).dblclick()

    expect(page.get_by_role("status")).to_contain_text(f"Linked {_sku('LOOSE')} to {_sku('SPARE')}")
    assert shop.listing(_sku("LOOSE"))["linked_item"]["sku"] == _sku("SPARE")  # type: ignore[index]

    def linked() -> bool:
        if line.get_by_role("link", name="Open item").count():
            return True
        page.get_by_role("button", name="Reload order").click()
        return False

    wait_until("the order's line linked to SPARE", linked)
    expect(line.get_by_role("cell").nth(6)).to_have_text("1")
    screenshot(page, "orders-screen")


def test_axe_of_the_orders_screen(page, browser):
    assert axe_violations(page, browser, heading_at(2)) == []


def test_given_the_oversold_order_when_home_is_opened_then_its_warning_leads_to_it_and_the_log_filters_by_kind(
        page, shop, browser):
    go(page, "Home", heading="Channel health")
    card = page.get_by_role("region", name=f"Screens shop {RUN} health")
    expect(card).to_contain_text("enabled")
    expect(card).to_contain_text("Last catalogue load")
    expect(card).to_contain_text("In sync")
    warnings = page.get_by_role("region", name="Orders that need you")
    oversold = warnings.get_by_role("listitem").filter(has_text="oversold").filter(has_text=f"Screens shop {RUN}")

    oversold.get_by_role("button").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Orders")
    expect(page.get_by_role("heading", level=2)).to_contain_text(f"Screens shop {RUN}")
    expect(page.get_by_role("table", name="Order lines")).to_contain_text(_sku("LOOSE"))
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Channel health")

    page.get_by_label("Log of channel").select_option(label=f"Screens shop {RUN}")
    log = page.get_by_role("table", name="Automation events")
    expect(log).to_contain_text("CATALOGUE_LOADED")
    page.get_by_label("Kind").select_option("AUTO_LINK")
    kinds = log.locator("tbody tr td:nth-child(2)")
    expect(kinds.filter(has_not_text="AUTO_LINK")).to_have_count(0)
    expect(kinds.first).to_have_text("AUTO_LINK")
    screenshot(page, "home-screen")
    assert axe_violations(page, browser, heading_at(1)) == []


def test_given_a_new_channel_when_its_settings_are_wrong_then_the_field_says_why_and_credentials_are_never_shown(
        page, shop, website):
    name = f"Screens added {RUN}"
    go(page, "Channels")
    page.get_by_role("button", name="Add channel…").click()
    dialog = page.get_by_role("dialog", name="Add a channel")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Type").select_option("generic")
    dialog.get_by_label("Enabled").uncheck()
    dialog.get_by_label("Base URL").fill("not a url")
    dialog.get_by_label("api_key").fill(SECRET)
    dialog.get_by_label("Default Max Listed").fill("4")

    dialog.get_by_role("button", name="Add channel").click()

    base_url = dialog.get_by_label("Base URL")
    expect(base_url).to_have_attribute("aria-invalid", "true")
    error_id = base_url.get_attribute("aria-describedby")
    expect(dialog.locator(f"[id='{error_id}']")).not_to_be_empty()
    screenshot(page, "channel-form")

    base_url.fill("http://127.0.0.1:9")  # nothing there: enabled a moment, it sends no stand-in anything
    dialog.get_by_role("button", name="Add channel").click()

    expect(dialog).to_be_hidden()
    row = page.get_by_role("table", name="Channels").get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("stored")
    expect(row).to_contain_text("disabled")
    expect(row).to_contain_text("Max Listed 4")
    channel = next(c for c in shop.http.get(f"{shop.api}/channels", timeout=10).json()["channels"] if c["name"] == name)
    assert channel["has_credentials"] and "credentials" not in channel and SECRET not in json.dumps(channel)

    row.get_by_role("button", name=f"Edit {name}").click()
    edit = page.get_by_role("dialog", name=f"Edit {name}")
    expect(edit.get_by_label("api_key")).to_have_value("")
    expect(edit).to_contain_text("They are never shown")
    assert SECRET not in page.content()
    edit.get_by_role("button", name="Cancel").click()

    row.get_by_role("button", name=f"Enable {name}").click()
    expect(row).to_contain_text("enabled")
    row.get_by_role("button", name=f"Disable {name}").click()
    expect(row.get_by_role("cell").nth(1)).to_contain_text("disabled")


def test_screenshot_and_axe_of_the_channels_screen(page, browser):
    go(page, "Channels")
    expect(page.get_by_role("table", name="Channels").get_by_role("row").nth(1)).to_be_visible()
    screenshot(page, "channels-screen")
    assert axe_violations(page, browser, heading_at(1)) == []


def test_given_the_shops_catalogue_load_when_its_jobs_are_listed_then_it_shows_done_with_its_result(page, browser):
    go(page, "Jobs")
    page.get_by_label("Jobs of").select_option(label=f"Screens shop {RUN}")

    load = page.get_by_role("table", name="Jobs").get_by_role("row").filter(has_text="catalogue load").last

    expect(load.get_by_role("cell").nth(2)).to_have_text("succeeded")
    expect(load.get_by_role("progressbar")).to_have_attribute("value", "1")
    expect(load).to_contain_text("2 listings")
    screenshot(page, "jobs-screen")
    assert axe_violations(page, browser, heading_at(1)) == []


@pytest.fixture
def akeneo_connection(local_stack: StackProcess) -> Iterator[dict[str, Any]]:
    """The seller's one Akeneo connection, put back as the demo had it whatever the test left (it is shared)."""
    right = {"url": local_stack.standins["akeneo"], "client_id": akeneo.CLIENT_ID,
             "client_secret": akeneo.CLIENT_SECRET, "username": akeneo.USERNAME, "password": akeneo.PASSWORD,
             "enabled": True}
    yield right
    answer = local_stack.session().put(f"{local_stack.api_url}/pim/connection", json=right, timeout=10)
    assert answer.status_code == 200, answer.text


def _save_connection(page: Page, secret: str, password: str) -> None:
    form = page.get_by_role("form", name="Akeneo connection")
    form.get_by_label("Client id").fill(akeneo.CLIENT_ID)
    form.get_by_label("Client secret").fill(secret)
    form.get_by_label("Username").fill(akeneo.USERNAME)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Save connection").click()
    expect(page.get_by_role("status").filter(has_text="Connection saved")).to_be_visible()


def test_given_a_wrong_akeneo_secret_when_tested_then_the_exact_failure_shows_and_the_right_one_connects(
        page, akeneo_connection):
    go(page, "Akeneo")
    _save_connection(page, f"wrong-{RUN}", akeneo.PASSWORD)

    page.get_by_role("button", name="Test Connection").click()

    failure = page.get_by_role("alert").filter(has_text="Test failed")
    expect(failure).to_contain_text("bad_credentials")
    _save_connection(page, akeneo.CLIENT_SECRET, akeneo.PASSWORD)
    page.get_by_role("button", name="Test Connection").click()
    expect(page.get_by_role("status").filter(has_text="Connected: Akeneo")).to_be_visible()


def test_given_a_profile_with_a_category_when_built_then_the_counter_counts_it_and_run_now_runs_to_its_end(
        page, shop, browser):
    name = f"Screens profile {RUN}"
    go(page, "Akeneo")
    page.get_by_label("Profile", exact=True).select_option(label="New profile…")
    form = page.get_by_role("form", name="Sync profile")
    form.get_by_label("Profile name").fill(name)
    form.get_by_label("Enabled (periodic runs)").uncheck()  # Run Now only: no periodic runs of a test's profile
    form.get_by_label("Scope (Akeneo channel)").select_option("ecommerce")
    form.get_by_label("Locale").select_option("en_US")
    form.get_by_role("checkbox", name="Mugs").check()
    wanted = {"scope": "ecommerce", "locale": "en_US", "categories": ["mugs"]}
    expected = shop.http.post(f"{shop.api}/pim/profiles/count", json=wanted, timeout=10).json()["count"]

    expect(form.get_by_role("status", name="Product counter")).to_have_text(
        f"{expected} product{'' if expected == 1 else 's'} selected")
    form.get_by_label("Prefix").fill("pim_")
    form.get_by_role("button", name="Create profile").click()

    expect(page.get_by_label("Profile", exact=True).locator("option:checked")).to_have_text(name)
    profile = next(p for p in shop.http.get(f"{shop.api}/pim/profiles", timeout=10).json()["profiles"]
                   if p["name"] == name)
    try:
        assert profile["settings"]["categories"] == ["mugs"]
        assert profile["settings"]["extended_properties"]["prefix"] == "pim_"
        page.get_by_role("button", name="Run Now").click()
        run = page.get_by_role("region", name=f"Runs of {name}").locator("section.job").first
        expect(run).to_have_attribute("aria-label", re.compile(r": succeeded$"))
        expect(run.get_by_role("progressbar")).to_have_attribute("value", "1")
        page.get_by_role("heading", name="Sync profiles").evaluate("heading => heading.scrollIntoView()")
        screenshot(page, "akeneo-screen")
        assert axe_violations(page, browser, heading_at(1)) == []
    finally:
        shop.http.delete(f"{shop.api}/pim/profiles/{profile['profile_id']}", timeout=10)


def _chart_total(page: Page, chart: Locator, http: requests.Session, history_url: str) -> bool:
    """The chart's summary names as many sent as the API's tallies (Refresh when a later sync moved them)."""
    sent = sum(hour["sent"] for hour in http.get(history_url, timeout=10).json()["hours"])
    if sent and f": {sent} sent, " in (chart.locator("title").first.text_content() or ""):
        return True
    page.get_by_role("button", name="Refresh").click()
    return False


def test_given_the_shops_stock_sent_when_home_is_opened_then_its_chart_shows_the_hours_sent_and_throttled_is_shown(
        page, shop, browser):
    go(page, "Home", heading="Channel health")
    card = page.get_by_role("region", name=f"Screens shop {RUN} health")
    summary = re.compile(r"^Listings synced per hour, last 72 hours: [1-9]\d* sent, \d+ errors")
    chart = card.get_by_role("img", name=summary)

    expect(chart).to_be_visible()  # MUG's 7 and 5 were sent to the shop, then what its orders left
    wait_until("the chart's summary says what the API counted", lambda: _chart_total(
        page, chart, shop.http, f"{shop.api}/channels/{shop.channel}/sync/history?hours=72"))
    bars = chart.locator("rect.bar.sent")
    expect(bars.first).to_be_visible()
    assert float(bars.first.get_attribute("height") or 0) > 0
    legend = card.locator(".sync-chart .legend")
    expect(legend).to_contain_text("Sent")
    expect(legend).to_contain_text("Errors")
    expect(card.locator(".sync-counts")).to_contain_text(re.compile(r"Throttled\s*\d+"))
    card.scroll_into_view_if_needed()
    screenshot(page, "home-screen")
    assert axe_violations(page, browser, heading_at(1)) == []
