"""The demo seller `make run` starts with: two locations, about 50 items with stock, a kit, two channels."""

from __future__ import annotations

import random
from collections.abc import Mapping

from infrastructure.standins.base import StandIn
from stocksync.api.services import services
from stocksync.channel_store import ChannelInput
from stocksync.channel_types import ChannelType
from stocksync.inventory import ComponentInput, ItemInput
from stocksync.locations import LocationInput, LocationPatch
from stocksync.stock import StockSet

PRODUCTS = [
    ("MUG", "Ceramic mug", 8.5),
    ("TEE", "Cotton T-shirt", 14.0),
    ("CAP", "Baseball cap", 11.0),
    ("BOTTLE", "Steel water bottle", 17.5),
    ("SOCKS", "Wool socks", 6.0),
]
COLOURS = ["Black", "White", "Red", "Blue", "Green", "Grey", "Navy", "Olive", "Sand", "Pink"]


def seed_demo_seller(standins: Mapping[str, StandIn] | None = None, seed: int = 7) -> str:
    """Create the demo seller unless it is already there. Returns a one-line summary.

    `standins` are the running marketplace/PIM stand-ins by name: demo channels point at them."""
    app = services()
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

    app.channels.create(
        ChannelInput(
            name="Web shop", type=ChannelType.GENERIC, settings={"base_url": "http://127.0.0.1:9000"}
        )
    )
    app.channels.create(
        ChannelInput(
            name="eBay UK", type=ChannelType.EBAY, location_ids=[main.location_id, overflow.location_id]
        )
    )
    return f"{len(created) + 1} items (1 kit), 2 locations, 2 channels"
