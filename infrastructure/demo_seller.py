"""The demo seller `make run` starts with: two locations, 50 items with stock, a kit, a channel on each
running marketplace stand-in and a PIM profile on the Akeneo one."""

from __future__ import annotations

import random
from collections.abc import Mapping

from infrastructure.demo.products import COLOURS, PRODUCTS
from infrastructure.standins.base import StandIn
from stocksync.channels.store import ChannelInput
from stocksync.channels.types import ChannelType
from stocksync.core.settings import ApiSettings
from stocksync.inventory.items import ComponentInput, ItemInput
from stocksync.inventory.locations import LocationInput, LocationPatch
from stocksync.inventory.stock import StockSet
from stocksync.wiring import Wiring, wiring


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

    created = {}
    for code, title, price in PRODUCTS:
        for colour in COLOURS:
            sku = f"{code}-{colour.upper()}"
            item = app.inventory.create(
                ItemInput(
                    sku=sku,
                    title=f"{title}, {colour.lower()}",
                    retail_price=price,
                    purchase_price=round(price * 0.4, 2),
                    weight=0.3,
                )
            )
            created[sku] = item.item_id
            app.stock.set_level(
                item.item_id,
                main.location_id,
                StockSet(level=chance.randint(0, 40), reason="demo opening stock"),
            )
            if chance.random() < 0.3:
                app.stock.set_level(
                    item.item_id,
                    overflow.location_id,
                    StockSet(level=chance.randint(1, 15), reason="demo opening stock"),
                )

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
