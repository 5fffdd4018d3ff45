"""The web console in Debian's chromium against the shared local stack: a seller signs in once and works on
the mapping screen as they would (channels and items of this module's own making, so the other e2e modules
sharing the stack see no change: a website stand-in of its own takes this module's stock updates).

One browser page serves the whole module, signed in once, so the tests run in file order on it."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
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
from infrastructure.standins import generic
from infrastructure.standins.generic import GenericStandIn

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:5].upper()
expect.set_options(timeout=WAIT_MS)


@dataclass
class Shop:
    """This module's own channels and items."""

    http: requests.Session
    api: str
    uploads: str  # a generic channel fed by catalogue uploads (no API of its own)
    shop: str  # a generic channel on this module's website stand-in: its stock updates land there
    disabled_rakuten: str
    sku: Callable[[str], str]

    def listing(self, channel: str, sku: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.api}/channels/{channel}/listings/{sku}", timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def item(self, sku: str) -> dict[str, Any] | None:
        found = self.http.get(f"{self.api}/items", params={"sku": sku}, timeout=10).json()["items"]
        return found[0] if found else None


def _sku(name: str) -> str:
    return f"CON{RUN}-{name}"


@pytest.fixture(scope="module")
def website() -> Iterator[GenericStandIn]:
    with website_of_its_own([DemoListing(sku=_sku(name), title=f"Console lamp {name}", price=20.0, quantity=0,
                                         listing_id=f"L-{name}") for name in ("LAMP-1", "LAMP-2")]) as standin:
        yield standin


@pytest.fixture(scope="module")
def shop(local_stack: StackProcess, website: GenericStandIn) -> Shop:
    http, api, created = local_stack.session(), local_stack.api_url, creator(local_stack)
    for name in ("A1", "A2", "HAND", "LAMP-1", "LAMP-2"):
        created("/items", {"sku": _sku(name), "title": f"Console item {name}", "retail_price": 12.5})
    uploads = created("/channels", {"name": f"Console uploads {RUN}", "type": "generic"})["channel_id"]
    shop_channel = created("/channels", {"name": f"Console shop {RUN}", "type": "generic",
                                         "settings": {"base_url": website.url},
                                         "credentials": {"api_key": generic.API_KEY}})["channel_id"]
    rakuten = created("/channels", {"name": f"Console Rakuten {RUN}", "type": "rakuten", "enabled": False})
    return Shop(http, api, uploads, shop_channel, rakuten["channel_id"], _sku)


@pytest.fixture(scope="module")
def page(browser: Browser, local_stack: StackProcess, shop: Shop) -> Iterator[Page]:
    """Signed in once, after this module's channels exist (the console lists channels as it opens)."""
    with signed_in_page(browser, local_stack, "/?screen=mapping", accept_downloads=True,  # the console opens on Home
                        ready=lambda opened: opened.get_by_role("combobox", name="Channel")) as opened:
        yield opened


def choose_channel(page: Page, name: str) -> None:
    picker = page.get_by_role("combobox", name="Channel")
    labels = picker.locator("option").all_inner_texts()
    picker.select_option(label=next(text for text in labels if text.startswith(name)))
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def row(page: Page, sku: str) -> Locator:
    return page.locator(f'[role=row][data-sku="{sku}"]')


def select(page: Page, sku: str) -> None:
    row(page, sku).get_by_role("gridcell").first.click()
    expect(page.get_by_text("Selected:")).to_contain_text(sku)


def totals(page: Page) -> dict[str, str]:
    return {name: page.get_by_test_id(f"total-{name}").inner_text() for name in ("active", "linked", "unlinked")}


def refreshed_until(page: Page, describe: str, shown: Callable[[], bool]) -> None:
    """Press Refresh until `shown` (what the stack does in the background reaches the screen when asked)."""
    def check() -> bool:
        if shown():
            return True
        page.get_by_role("button", name="Refresh").click()
        return False

    wait_until(describe, check)


def job_done(page: Page, label: str) -> Locator:
    bar = page.get_by_role("region", name=f"{label}: succeeded")
    expect(bar).to_be_visible()
    return bar


def test_given_the_demo_seller_when_signed_in_then_a_channel_shows_its_listings_and_totals(page, local_stack):
    demo = local_stack.session().get(f"{local_stack.api_url}/channels", timeout=10).json()["channels"]
    amazon = next(channel for channel in demo if channel["name"] == "Amazon UK")
    listed = local_stack.session().get(f"{local_stack.api_url}/channels/{amazon['channel_id']}/listings",
                                       timeout=10).json()

    choose_channel(page, "Amazon UK")

    expect(page.get_by_test_id("total-active")).to_have_text(str(listed["totals"]["active"]))
    expect(page.get_by_test_id("total-linked")).to_have_text(str(listed["totals"]["linked"]))
    first = listed["listings"][0]
    expect(row(page, first["sku"])).to_contain_text(first["title"])
    expect(page.get_by_text("Signed in as")).to_contain_text(local_stack.sign_in["username"])


def test_given_a_catalogue_file_when_uploaded_then_its_load_shows_progress_and_its_listings(page, shop, tmp_path):
    catalogue = tmp_path / "catalogue.csv"
    rows = [(shop.sku("A1"), "Lamp A1"), (shop.sku("A2"), "Lamp A2"), (shop.sku("HANDLISTING"), "Hand linked"),
            (shop.sku("NEW"), "A brand new listing"), (shop.sku("CSV"), "Listing for the import")]
    catalogue.write_text("sku,title,price,quantity\n" + "".join(f"{sku},{title},9.99,4\n" for sku, title in rows))
    choose_channel(page, f"Console uploads {RUN}")

    page.get_by_role("button", name="Load Catalogue…").click()
    page.get_by_label("Choose a file").set_input_files(catalogue)

    bar = job_done(page, "Catalogue catalogue.csv")
    expect(bar.get_by_role("progressbar")).to_have_attribute("value", "1")
    # The totals are counted once the load has written its listings, a moment after its job ends.
    refreshed_until(page, "5 listings active", lambda: totals(page)["active"] == "5")
    for sku, title in rows:
        expect(row(page, sku)).to_contain_text(title)


def test_given_a_channels_listings_when_the_sku_column_is_sorted_then_the_server_gives_them_in_that_order(page, shop):
    first_row = page.locator('[role=grid] [role=row][aria-rowindex="2"]')
    skus = sorted((shop.sku(name) for name in ("A1", "A2", "HANDLISTING", "NEW", "CSV")), key=str.casefold)
    sort = page.get_by_role("columnheader", name="Channel SKU")

    sort.get_by_role("button").click()
    expect(sort).to_have_attribute("aria-sort", "descending")
    expect(first_row).to_have_attribute("data-sku", skus[-1])
    sort.get_by_role("button").click()
    expect(sort).to_have_attribute("aria-sort", "ascending")
    expect(first_row).to_have_attribute("data-sku", skus[0])


def test_given_listings_with_item_skus_when_link_all_by_sku_then_they_are_linked_and_totals_follow(page, shop):
    # The load itself queues an auto-link run: both may link; the totals are what counts.
    page.get_by_role("button", name="Link All by SKU").click()

    job_done(page, "Link All by SKU")
    refreshed_until(page, "2 linked, 3 unlinked",
                    lambda: totals(page) == {"active": "5", "linked": "2", "unlinked": "3"})
    expect(row(page, shop.sku("A1"))).to_contain_text(shop.sku("A1"))


def test_given_an_unlinked_listing_when_linked_by_hand_then_unlinked_the_row_and_totals_follow(page, shop):
    listing = shop.sku("HANDLISTING")
    select(page, listing)
    page.get_by_role("button", name="Link to item…").click()
    dialog = page.get_by_role("dialog", name=f"Link {listing}")
    dialog.get_by_label("Find an item").fill(shop.sku("HAND"))
    dialog.get_by_role("button", name="Search", exact=True).click()

    dialog.get_by_role("option", name=shop.sku("HAND")).dblclick()

    expect(dialog).to_be_hidden()
    expect(row(page, listing).get_by_role("gridcell").nth(2)).to_have_text(shop.sku("HAND"))
    expect(page.get_by_test_id("total-linked")).to_have_text("3")
    assert shop.listing(shop.uploads, listing)["linked_item"]["sku"] == shop.sku("HAND")

    page.get_by_role("button", name="Unlink").click()

    expect(row(page, listing).get_by_role("gridcell").nth(2)).to_have_text("unlinked")
    expect(page.get_by_test_id("total-linked")).to_have_text("2")
    assert shop.listing(shop.uploads, listing)["linked_item"] is None


def test_given_an_unlinked_listing_when_create_new_stock_item_then_an_item_of_its_sku_is_linked(page, shop):
    listing = shop.sku("NEW")
    select(page, listing)

    page.get_by_role("button", name="Create New Stock Item").click()

    expect(page.get_by_role("status").filter(has_text="Created item")).to_contain_text(listing)
    expect(row(page, listing).get_by_role("gridcell").nth(2)).to_have_text(listing)
    item = shop.item(listing)
    assert item is not None and item["title"] == "A brand new listing" and item["retail_price"] == 9.99


def _exported(page: Page) -> str:
    page.get_by_role("button", name="Export Mapping…").click()
    dialog = page.get_by_role("dialog", name="Export Mapping")
    dialog.get_by_label("Percentage").uncheck()
    with page.expect_download() as download:
        dialog.get_by_role("button", name="Export CSV").click()
    return Path(download.value.path()).read_text(encoding="utf-8-sig")


def test_given_an_exported_mapping_with_one_bad_row_when_dry_run_then_the_row_is_shown_and_nothing_applied(
        page, shop, tmp_path):
    exported = list(csv.DictReader(io.StringIO(_exported(page))))
    assert "Percentage" not in exported[0] and "Linked SKU" in exported[0]
    by_sku = {line["Channel SKU"]: line for line in exported}
    by_sku[shop.sku("CSV")]["Linked SKU"] = shop.sku("HAND")  # a good change
    by_sku[shop.sku("A2")]["Linked SKU"] = shop.sku("NO-SUCH-ITEM")  # the bad row
    bad_row = 2 + [line["Channel SKU"] for line in exported].index(shop.sku("A2"))  # the header is row 1
    edited = tmp_path / "mapping.csv"
    with edited.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(exported[0]))
        writer.writeheader()
        writer.writerows(exported)
    page.get_by_role("button", name="Import Mapping…").click()
    dialog = page.get_by_role("dialog", name="Import Mapping")
    dialog.get_by_label("CSV file").set_input_files(edited)
    expect(dialog.get_by_label("Linked SKU")).to_have_value("Linked SKU")  # columns mapped by their headers

    dialog.get_by_role("button", name="Check file (dry run)").click()

    preview = dialog.get_by_role("region", name="Import preview")
    expect(preview.get_by_role("alert")).to_contain_text("1 problem in the file: nothing will be applied")
    bad = preview.get_by_role("row").filter(has_text=shop.sku("NO-SUCH-ITEM"))
    expect(bad.get_by_role("cell").nth(0)).to_have_text(str(bad_row))
    expect(bad.get_by_role("cell").nth(1)).to_have_text("Linked SKU")
    expect(dialog.get_by_role("button", name="Apply all")).to_be_disabled()
    assert shop.listing(shop.uploads, shop.sku("CSV"))["linked_item"] is None  # the good row was not applied
    assert shop.listing(shop.uploads, shop.sku("A2"))["linked_item"]["sku"] == shop.sku("A2")
    dialog.get_by_role("button", name="Cancel").click()


def test_given_ignore_sync_and_a_max_listed_when_stock_changes_then_only_the_capped_listing_is_sent_its_cap(
        page, shop, website):
    lamp1, lamp2 = shop.sku("LAMP-1"), shop.sku("LAMP-2")
    locations = shop.http.get(f"{shop.api}/locations", timeout=10).json()["locations"]
    main = next(location["location_id"] for location in locations if location["is_default"])

    def set_stock(sku: str, level: int) -> None:
        item = shop.item(sku)
        assert item is not None
        answer = shop.http.put(f"{shop.api}/items/{item['item_id']}/stock/{main}", json={"level": level}, timeout=10)
        assert answer.status_code == 200, answer.text

    set_stock(lamp1, 10)
    set_stock(lamp2, 10)
    wait_until("the shop's lamps linked and sent 10", lambda: all(
        (shop.listing(shop.shop, sku)["sync"]["submitted_quantity"] == 10) for sku in (lamp1, lamp2)))
    choose_channel(page, f"Console shop {RUN}")
    expect(row(page, lamp1).get_by_role("gridcell").nth(10)).to_have_text("10")

    page.get_by_label(f"Max Listed for {lamp1}").fill("3")
    page.get_by_label(f"Max Listed for {lamp1}").press("Enter")
    page.get_by_label(f"Ignore Sync for {lamp2}").check()
    wait_until("the listings' new settings saved", lambda: shop.listing(shop.shop, lamp1)["limits"]["max_listed"] == 3
               and shop.listing(shop.shop, lamp2)["ignore_sync"])
    set_stock(lamp1, 12)
    set_stock(lamp2, 12)

    refreshed_until(page, "Submitted Qty of the capped listing shows its Max Listed",
                    lambda: row(page, lamp1).get_by_role("gridcell").nth(10).inner_text() == "3")
    expect(row(page, lamp2).get_by_role("gridcell").nth(10)).to_have_text("10")  # Ignore Sync: not sent
    expect(row(page, lamp2)).to_contain_text("not sent: Ignore Sync")
    shown_to_buyers = standin_listings(website.url)
    quantities = {listing["sku"]: listing["quantity"] for listing in shown_to_buyers}
    assert quantities[lamp1] == 3 and quantities[lamp2] == 10


def test_given_a_force_update_when_pressed_again_then_the_15_minute_guard_is_explained(page, shop):
    choose_channel(page, f"Console shop {RUN}")
    page.get_by_role("button", name="Force Update").click()
    job_done(page, "Force Update")

    page.get_by_role("button", name="Force Update").click()

    guard = page.get_by_role("dialog", name="Force Update ran less than 15 minutes ago")
    expect(guard).to_contain_text("can get the account throttled")
    expect(guard.get_by_role("button", name="Force Update anyway")).to_be_visible()
    guard.get_by_role("button", name="Cancel").click()
    expect(guard).to_be_hidden()


def test_given_a_disabled_rakuten_channel_when_force_mapping_refresh_then_it_is_refused_with_the_reason(page, shop):
    choose_channel(page, f"Console Rakuten {RUN}")
    expect(page.get_by_role("button", name="Create all")).to_be_disabled()

    page.get_by_role("button", name="Force Mapping Refresh").click()

    expect(page.get_by_role("alert").filter(has_text="Force Mapping Refresh")).to_contain_text(
        "works only while the channel is enabled")


def test_given_the_mapping_screen_when_axe_checks_it_then_no_serious_or_critical_violation(
        page, browser, local_stack):
    choose_channel(page, "Amazon UK")

    serious = axe_violations(page, browser, ready=lambda audited: audited.locator("[role=row][data-sku]").first)

    assert serious == [], json.dumps(serious, indent=1)


def test_screenshots_of_the_mapping_screen_the_link_dialog_and_the_import_preview(page, shop, tmp_path):
    choose_channel(page, "Amazon UK")
    expect(page.locator("[role=row][data-sku]").first).to_be_visible()
    screenshot(page, "mapping-screen")

    unlinked = page.locator("[role=row][data-sku]").filter(has_text="unlinked").first
    unlinked.get_by_role("gridcell").first.click()
    page.get_by_role("button", name="Link to item…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Find an item").fill("mug")
    dialog.get_by_role("button", name="Search", exact=True).click()
    expect(dialog.get_by_role("option").first).to_be_visible()
    screenshot(page, "link-dialog")
    dialog.get_by_role("button", name="Cancel").click()

    choose_channel(page, f"Console uploads {RUN}")
    expect(row(page, shop.sku("CSV"))).to_be_visible()
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Channel SKU,Linked SKU,Max Listed\n"
                       f"{shop.sku('CSV')},{shop.sku('HAND')},5\n"
                       f"{shop.sku('A1')},{shop.sku('A1')},many\n"
                       f"{shop.sku('GONE')},{shop.sku('A2')},\n")
    page.get_by_role("button", name="Import Mapping…").click()
    dialog = page.get_by_role("dialog", name="Import Mapping")
    dialog.get_by_label("CSV file").set_input_files(mapping)
    dialog.get_by_role("button", name="Check file (dry run)").click()
    expect(dialog.get_by_role("region", name="Import preview").get_by_role("row").nth(1)).to_be_visible()
    screenshot(page, "import-preview")
    dialog.get_by_role("button", name="Cancel").click()


def test_given_a_token_the_api_refuses_when_the_screen_calls_then_sign_in_comes_back_and_refuses_a_wrong_password(
        page, local_stack):
    # Last in the module: it ends the session, then signs in again.
    page.evaluate("""() => {
        const session = JSON.parse(sessionStorage.getItem('stocksync.session'));
        sessionStorage.setItem('stocksync.session', JSON.stringify({...session, accessToken: 'not-a-token'}));
    }""")

    page.get_by_role("button", name="Refresh").click()

    expect(page.get_by_role("status")).to_have_text("Your session has ended: sign in again.")
    page.get_by_label("User name").fill(local_stack.sign_in["username"])
    page.get_by_label("Password").fill("Not-The-Password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That user name and password do not match.")
    page.get_by_label("Password").fill(local_stack.sign_in["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("combobox", name="Channel")).to_be_visible()
    assert f"Console     {local_stack.console_url}" in "\n".join(local_stack.output)
