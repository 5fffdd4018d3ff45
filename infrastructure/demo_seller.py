"""The demo seller `make run` starts with: two locations, 50 items with stock, a kit, a channel on each
running marketplace stand-in and a PIM profile on the Akeneo one (`seed_demo_seller`), and what makes
it ready to sell before the banner (`DemoReadiness`): every channel's catalogue loaded, its listings
linked and their quantities on the stand-ins."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from infrastructure.demo.products import COLOURS, PRODUCTS
from infrastructure.standins.base import StandIn
from stocksync.channels.store import ChannelInput
from stocksync.channels.types import ChannelType
from stocksync.core.settings import ApiSettings
from stocksync.inventory.items import ComponentInput, ItemInput
from stocksync.inventory.locations import LocationInput, LocationPatch
from stocksync.inventory.stock import StockSet
from stocksync.wiring import Wiring, wiring

logger = logging.getLogger(__name__)
SEED_THREADS = 4


def seed_demo_seller(standins: Mapping[str, StandIn] | None = None, seed: int = 7) -> str:
    """Create the demo seller unless it is already there. Returns a one-line summary.

    `standins` are the running marketplace/PIM stand-ins by name: demo channels point at them."""
    app = wiring(ApiSettings)  # the seller's set-up, done through the API's objects
    if app.inventory.list(limit=1, cursor=None)[0]:
        return "already seeded"
    chance = random.Random(seed)  # noqa: S311 - demo data, not security
    main = app.locations.default()
    app.locations.update(main.location_id, LocationPatch(name="Main warehouse"))
    overflow = app.locations.create(LocationInput(name="Overflow store"))

    # Drawn in one order, so the demo's stock is the same on every start; written a few items at once
    # (each is a handful of DynamoDB calls, and the start waits for all 50).
    opening = [(f"{code}-{colour.upper()}", f"{title}, {colour.lower()}", price, chance.randint(0, 40),
                chance.randint(1, 15) if chance.random() < 0.3 else None)
               for code, title, price in PRODUCTS for colour in COLOURS]

    def create(sku: str, title: str, price: float, main_level: int, overflow_level: int | None) -> str:
        item = app.inventory.create(ItemInput(sku=sku, title=title, retail_price=price,
                                              purchase_price=round(price * 0.4, 2), weight=0.3))
        app.stock.set_level(item.item_id, main.location_id, StockSet(level=main_level, reason="demo opening stock"))
        if overflow_level is not None:
            app.stock.set_level(item.item_id, overflow.location_id,
                                StockSet(level=overflow_level, reason="demo opening stock"))
        return item.item_id

    with ThreadPoolExecutor(max_workers=SEED_THREADS) as pool:
        created = dict(zip((row[0] for row in opening), pool.map(lambda row: create(*row), opening), strict=True))

    gift = app.inventory.create(
        ItemInput(sku="GIFT-SET-BLUE", title="Gift set: blue mug and navy socks", retail_price=19.0)
    )
    app.inventory.set_components(
        gift.item_id,
        [
            ComponentInput(item_id=created["MUG-BLUE"], quantity=1),
            ComponentInput(item_id=created["SOCKS-NAVY"], quantity=2),
        ],
    )

    urls = {name: standin.url for name, standin in (standins or {}).items()}
    app.channels.create(
        ChannelInput(name="Web shop", type=ChannelType.GENERIC,
                     settings={"base_url": urls.get("website", "http://127.0.0.1:9000")},
                     credentials=demo_credentials("website"))
    )
    app.channels.create(
        ChannelInput(
            name="eBay UK", type=ChannelType.EBAY, location_ids=[main.location_id, overflow.location_id],
            settings={"api_base_url": urls["ebay"]} if "ebay" in urls else {}, credentials=demo_credentials("ebay"),
        )
    )
    marketplaces = _demo_marketplace_channels(urls, main.location_id, overflow.location_id)
    for channel in marketplaces:
        app.channels.create(channel)
    pim = _seed_pim(app, standins or {})
    return f"{len(created) + 1} items (1 kit), 2 locations, {2 + len(marketplaces)} channels{pim}"


def demo_credentials(standin: str) -> dict[str, str] | None:
    """The credentials each marketplace stand-in accepts (its demo values, never real ones)."""
    from infrastructure.standins import amazon, ebay, generic, magento, mirakl, rakuten

    return {
        "website": {"api_key": generic.API_KEY},
        "ebay": {"client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET, "refresh_token": ebay.REFRESH_TOKEN},
        "amazon": {"lwa_client_id": amazon.CLIENT_ID, "lwa_client_secret": amazon.CLIENT_SECRET,
                   "refresh_token": amazon.REFRESH_TOKEN},
        "magento": {"access_token": magento.ACCESS_TOKEN},
        "mirakl": {"api_key": mirakl.API_KEY},
        "rakuten": {"api_key": rakuten.API_KEY},
    }.get(standin)


def _demo_marketplace_channels(urls: Mapping[str, str], main: str, overflow: str) -> list[ChannelInput]:
    """Amazon, Magento, Pixmania (Mirakl) and Rakuten channels, for each stand-in that runs.

    Magento sells from both locations, each mapped to the stand-in's MSI source of that name: a
    buyer sees the sum over sources, so a source left unmapped would keep selling stale stock."""
    from infrastructure.standins import amazon, magento, rakuten

    settings = {
        "amazon": ("Amazon UK", ChannelType.AMAZON,
                   lambda url: {"sp_api_endpoint": url, "lwa_endpoint": f"{url}/auth/o2/token",
                                "seller_id": amazon.SELLER_ID}),
        "magento": ("Magento store", ChannelType.MAGENTO,
                    lambda url: {"base_url": url, "source_codes": dict(zip((main, overflow), magento.SOURCES,
                                                                              strict=True))}),
        "mirakl": ("Pixmania", ChannelType.PIXMANIA, lambda url: {"base_url": url}),
        "rakuten": ("Rakuten UK", ChannelType.RAKUTEN, lambda url: {"base_url": url, "shop_id": rakuten.SHOP_ID}),
    }
    locations = {"magento": [main, overflow]}
    return [
        ChannelInput(name=name, type=channel_type, settings=build(urls[standin]),
                     credentials=demo_credentials(standin), location_ids=locations.get(standin))
        for standin, (name, channel_type, build) in settings.items()
        if standin in urls
    ]


def _seed_pim(app: Wiring[ApiSettings], standins: Mapping[str, StandIn]) -> str:
    """A PIM connection to the Akeneo stand-in and a demo profile (Run Now it, or wait for the schedule)."""
    akeneo = standins.get("akeneo")
    if akeneo is None:
        return ""
    from infrastructure.standins import akeneo as demo
    from stocksync.pim.model import (
        DescriptionMapping,
        ExtendedPropertiesSettings,
        MetricSetting,
        PriceMapping,
        ProductSettings,
        ProfileInput,
        TitleMapping,
    )
    from stocksync.pim.profiles import ConnectionInput

    app.pim.connections.save(ConnectionInput(url=akeneo.url, client_id=demo.CLIENT_ID,
                                             client_secret=demo.CLIENT_SECRET, username=demo.USERNAME,
                                             password=demo.PASSWORD))
    app.pim.connections.test()
    web_shop = next(channel for channel in app.channels.list() if channel.name == "Web shop")
    app.pim.profiles.create(ProfileInput(
        name="Akeneo demo (ecommerce, en_US)", scope="ecommerce", locale="en_US", categories=["master"],
        price_mappings=[PriceMapping(attribute="price", target="retail_price", currency="EUR"),
                        PriceMapping(attribute="cost", target="purchase_price", currency="EUR"),
                        PriceMapping(attribute="price", target="channel", channel_id=web_shop.channel_id,
                                     currency="USD")],
        title_mappings=[TitleMapping(attribute="name", target="item_title"),
                        TitleMapping(attribute="marketplace_title", target="channel", channel_id=web_shop.channel_id)],
        description_mappings=[DescriptionMapping(attribute="description", target="metadata")],
        product_settings=ProductSettings(
            product_creation=True, upload_images=True, main_image_attribute="main_image", barcode_attribute="ean",
            width=MetricSetting(attribute="width", unit="CENTIMETER"),
            height=MetricSetting(attribute="height", unit="CENTIMETER"),
            depth=MetricSetting(attribute="depth", unit="CENTIMETER"),
            weight=MetricSetting(attribute="weight", unit="KILOGRAM")),
        extended_properties=ExtendedPropertiesSettings(map_all_attributes=True, prefix="akeneo_"),
    ))
    return ", 1 PIM profile (Akeneo stand-in)"


# --- ready to sell -------------------------------------------------------------------------------

# Under the harness's start timeout. An idle machine is ready in under a minute; one whose two cores a
# test run shares took three (it may also wait out a Mirakl minute twice).
READY_TIMEOUT_S = 330.0
POLL_EVERY_S = 0.5
SYNC_EVERY_S = 5.0  # the scheduled stock sync, run at most this often while a channel's result is awaited
# Waiting for it, the scheduled sync is run too: it settles submissions still processing (Mirakl's
# OF24 imports) and sends listings whose throttled first try has not come back from its queue yet.
STOCK_NOT_ON_CHANNEL = "stock not on the channel yet"
REPORT_EVERY_S = 10.0  # how often the wait says what it is still waiting for
# The schedules (template.yaml) the wait runs now rather than waiting for EventBridge.
REPORT_POLLER = ("ReportPollerFunction", "Frequent")  # every 5 minutes: request / poll / download catalogues
SCHEDULED_SYNC = ("StockSubmitterFunction", "ScheduledSync")  # every 15 minutes: settles feeds still processing
ORDER_POLLER = ("OrderPollerFunction", "Tick")  # every minute: subscribes Amazon's ORDER_CHANGE, polls orders


class DemoNotReady(RuntimeError):
    """The demo seller's channels did not all become ready to sell in time; the message names each one
    that was not and what it was still waiting for."""


class DemoReadiness:
    """Makes the demo seller ready to sell as a seller would, over the stack's API: ask every demo
    channel for a catalogue refresh (Amazon confirmed, Rakuten's Force Mapping Refresh), run the report
    poller while the channels prepare their reports, then wait until each catalogue is loaded, its
    listings auto-linked and every linked listing's quantity on the stand-in (running the scheduled
    stock sync, which reads the outcome of submissions still processing: Mirakl's OF24 imports). The
    order poller's first tick is run too: it subscribes to Amazon's ORDER_CHANGE notifications, so a
    sale right after the banner is imported at once rather than at the next poll.

    `fire_schedule(function_id, event_name)` runs one of the template's schedules now
    (`Runner.fire_schedule`): what EventBridge would do within 5 or 15 minutes, done at once."""

    def __init__(self, api_url: str, api_key: str, fire_schedule: Callable[[str, str], Any], *,
                 timeout_s: float = READY_TIMEOUT_S, stop: threading.Event | None = None) -> None:
        self.api_url = api_url
        self.fire_schedule = fire_schedule
        self.timeout_s = timeout_s
        self.stop = stop or threading.Event()  # set (Ctrl-C): stop waiting
        self.http = requests.Session()
        self.http.headers["x-api-key"] = api_key

    def wait(self) -> dict[str, str]:
        """Block until every enabled channel can sell; answers channel name -> id. Raises DemoNotReady."""
        channels = {row["name"]: row["channel_id"] for row in self._get("/channels")["channels"] if row["enabled"]}
        for channel_id in channels.values():
            self._refresh(channel_id)
        started = time.monotonic()
        synced = reported = started
        names = {channel_id: name for name, channel_id in channels.items()}
        orders_waiting = self._poll_orders(names)
        waiting = {**self._not_ready(channels), **orders_waiting}
        while waiting:
            now = time.monotonic()
            if now > started + self.timeout_s or self.stop.is_set():
                raise DemoNotReady(f"the demo seller is not ready to sell after {now - started:.0f} s "
                                   f"(STOCKSYNC_SEED=0 starts empty):\n  {_listed(waiting)}")
            if now >= reported + REPORT_EVERY_S:
                logger.info("demo seller: %.0f s, waiting for\n  %s", now - started, _listed(waiting))
                reported = now
            if any(why.startswith("catalogue") for why in waiting.values()):
                self.fire_schedule(*REPORT_POLLER)
            if any(why.startswith(STOCK_NOT_ON_CHANNEL) for why in waiting.values()) and now >= synced + SYNC_EVERY_S:
                self.fire_schedule(*SCHEDULED_SYNC)
                synced = now
            self.stop.wait(POLL_EVERY_S)
            if orders_waiting:
                orders_waiting = self._poll_orders(names)
            waiting = {**self._not_ready(channels), **orders_waiting}
        logger.info("demo seller ready to sell on %d channels after %.1f s", len(channels), time.monotonic() - started)
        return channels

    def item(self, sku: str) -> str | None:
        """The id of the seller's item with this SKU, if there is one."""
        found = self._get(f"/items?sku={sku}")["items"]
        return found[0]["item_id"] if found else None

    def default_location(self) -> str | None:
        locations = self._get("/locations")["locations"]
        return next((row["location_id"] for row in locations if row["is_default"]), None)

    def _poll_orders(self, names: Mapping[str, str]) -> dict[str, str]:
        """Run the order poller's tick; the channels whose orders could not be polled, and why."""
        outcomes = (self.fire_schedule(*ORDER_POLLER) or {}).get("channels", {})
        return {names[channel_id]: f"orders not polled yet: {outcome}"
                for channel_id, outcome in outcomes.items() if channel_id in names and outcome == "failed"}

    def _refresh(self, channel_id: str) -> None:
        answer = self.http.post(f"{self.api_url}/channels/{channel_id}/catalogue/refresh", json={"confirm": True},
                                timeout=30)
        if answer.status_code == 409 and answer.json()["error"]["code"] == "upload_only":
            return  # nothing to fetch: its catalogue comes as an upload
        if answer.status_code not in (200, 202):
            raise DemoNotReady(f"catalogue refresh of channel {channel_id}: {answer.status_code} {answer.text[:300]}")

    def _not_ready(self, channels: Mapping[str, str]) -> dict[str, str]:
        """What each channel not yet ready is waiting for."""
        waiting = {}
        for name, channel_id in channels.items():
            why = self._waiting_for(channel_id)
            if why:
                waiting[name] = why
        return waiting

    def _waiting_for(self, channel_id: str) -> str:
        catalogue = self._get(f"/channels/{channel_id}/catalogue")
        report, load = catalogue["report"], catalogue["last_load"]
        if load["status"] != "succeeded":
            return (f"catalogue not loaded yet (report {report.get('status', 'none')}, "
                    f"load {load['status'] or 'none'}: {load['message'] or report.get('message') or ''})")
        sync = self._get(f"/channels/{channel_id}/sync")
        if not sync["linked"]:
            return f"no listing linked yet ({catalogue['totals']['active']} active listings loaded)"
        if sync["pending"] or sync["processing"] or sync["errors"]:
            return (f"{STOCK_NOT_ON_CHANNEL}: {sync['pending']} pending, {sync['processing']} processing, "
                    f"{sync['errors']} refused of {sync['linked']} linked")
        return ""

    def _get(self, path: str) -> Any:
        answer = self.http.get(f"{self.api_url}{path}", timeout=30)
        if answer.status_code != 200:
            raise DemoNotReady(f"GET {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()


def _listed(waiting: Mapping[str, str]) -> str:
    return "\n  ".join(f"{name}: {why}" for name, why in sorted(waiting.items()))
