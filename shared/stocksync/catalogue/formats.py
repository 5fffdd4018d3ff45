"""The catalogue sources we read and how their headers map onto listing fields. Pure data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from stocksync.channels.pixmania import OF52_OFFER_COLUMNS


class Source(StrEnum):
    AMAZON_MERCHANT_LISTINGS = "amazon_merchant_listings"
    MIRAKL_OFFERS = "mirakl_offers"
    MIRAKL_OFFER_CHANGES = "mirakl_offer_changes"  # OF52's differential export: the offers changed since a date
    PIXMANIA_EXTRACT = "pixmania_extract"
    GENERIC = "generic"
    STOCKSYNC_LISTINGS = "stocksync_listings"


# The columns the report poller writes for API channels (docs/catalogue-formats.md).
STOCKSYNC_COLUMNS = ("sku", "title", "price", "quantity", "currency", "barcode", "asin", "fba", "listing_id",
                     "listing_kind", "state")

# An optional column of theirs: `true` when the channel does not track the listing's stock (Rakuten's
# `unlimited`): the load sets Ignore Sync when a listing becomes so (and never clears it).
UNLIMITED = "unlimited"

# Optional columns of a variation child (a size or colour of one listing): `parent` is its parent's
# or group's key as the channel names it (an Amazon parent SKU, an eBay ItemID or inventory item
# group key, a Magento configurable SKU), `variation` its attributes as a JSON object of text
# (`{"Size": "M"}`). Rows without them are listings of their own.
PARENT = "parent"
VARIATION = "variation"
_VARIATION_COLUMNS = {PARENT: (PARENT, "parentsku", "groupkey"), VARIATION: (VARIATION, "variationattributes")}

# Fields a row may carry, in the order of the staged row tuple after its three leading keys.
FIELDS = ("sku", "title", "price", "quantity", "currency", "barcode", "asin", "fba", "listing_id", "listing_kind",
          "state", PARENT, VARIATION)
STATES = frozenset({"active", "ended", "disabled", "removed", "backorders"})  # backorders: Magento, enabled at 0


@dataclass(frozen=True)
class Layout:
    """How one source names its columns: field -> accepted header names (normalised, see header_key)."""

    source: Source
    aliases: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    quoting: bool = True  # False: no quote processing (Amazon flat files carry bare `"` in titles)
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)  # helper columns (fulfilment, id type)
    # Columns kept as they are, the non-empty ones, on the listing's `exported_offer` (the offer as
    # exported, which the channel's stock update sends back whole), by these names.
    offer: tuple[str, ...] = ()
    # True: the file lists every listing (one absent is removed). False: only those that changed, a
    # `deleted` column marking the ones gone; nothing absent is removed.
    complete: bool = True


def header_key(name: str) -> str:
    """Header names compared case-, space-, dash- and underscore-insensitively."""
    return re.sub(r"[\s_\-]+", "", name.strip().strip('"').casefold())


_BARCODE = ("barcode", "ean", "upc", "gtin", "ean13", "isbn")

_MIRAKL = Layout(
    Source.MIRAKL_OFFERS,
    aliases={"sku": ("offersku", "shopsku"), "title": ("producttitle", "productname"), "price": ("price",),
             "quantity": ("quantity",), "currency": ("currencyisocode", "currency"), "barcode": ("ean",),
             "listing_id": ("offerid",), "state": ("active",)},
    required=("sku", "price", "quantity"),
    extra={"product_id": ("productid",), "product_id_type": ("productidtype",), "deleted": ("deleted",)},
    offer=tuple(OF52_OFFER_COLUMNS),
)

LAYOUTS: dict[Source, Layout] = {
    Source.AMAZON_MERCHANT_LISTINGS: Layout(
        Source.AMAZON_MERCHANT_LISTINGS,
        aliases={"sku": ("sellersku",), "title": ("itemname",), "price": ("price",), "quantity": ("quantity",),
                 "asin": ("asin1",), "listing_id": ("listingid",), "state": ("status",), "currency": ("currency",),
                 # ours: the Amazon adapter adds them from Listings Items' variation relationships
                 PARENT: (PARENT,), VARIATION: (VARIATION,)},
        required=("sku", "title", "price", "quantity"),
        quoting=False,
        extra={"fulfillment_channel": ("fulfillmentchannel",), "product_id": ("productid",),
               "product_id_type": ("productidtype",)},
    ),
    Source.MIRAKL_OFFERS: _MIRAKL,
    Source.MIRAKL_OFFER_CHANGES: replace(_MIRAKL, source=Source.MIRAKL_OFFER_CHANGES, complete=False),
    Source.PIXMANIA_EXTRACT: Layout(
        Source.PIXMANIA_EXTRACT,
        aliases={"sku": ("sku", "merchantsku", "sellersku", "skumerchant"),
                 "title": ("title", "producttitle", "libelle", "designation", "name"),
                 "price": ("price", "prix", "sellingprice"), "quantity": ("quantity", "stock", "qty", "quantite"),
                 "barcode": _BARCODE, "currency": ("currency",), "listing_id": ("segmentid", "pixmaniaid", "id")},
        required=("sku", "title", "price", "quantity"),
    ),
    Source.GENERIC: Layout(
        Source.GENERIC,
        aliases={"sku": ("sku", "channelsku", "sellersku", "merchantsku", "itemsku"),
                 "title": ("title", "itemtitle", "name", "itemname", "producttitle"),
                 "price": ("price", "retailprice"), "quantity": ("quantity", "qty", "stock", "stocklevel"),
                 "currency": ("currency",), "barcode": _BARCODE, "asin": ("asin", "asin1"),
                 "fba": ("fba", "isfba"), "listing_id": ("listingid", "itemid"), "state": ("state", "status"),
                 **_VARIATION_COLUMNS},
        required=("sku", "title", "price", "quantity"),
    ),
    Source.STOCKSYNC_LISTINGS: Layout(
        Source.STOCKSYNC_LISTINGS,
        aliases={**{name: (header_key(name),) for name in STOCKSYNC_COLUMNS}, PARENT: (PARENT,),
                 VARIATION: (VARIATION,)},
        required=STOCKSYNC_COLUMNS,
        offer=(UNLIMITED,),
    ),
}


def sniff_source(headers: list[str], fallback: Source = Source.GENERIC) -> Source:
    """The source a header row most likely belongs to (for plain uploads with no source in the key)."""
    keys = {header_key(name) for name in headers}
    if set(STOCKSYNC_COLUMNS) <= keys:
        return Source.STOCKSYNC_LISTINGS
    if {"sellersku", "itemname"} <= keys:
        return Source.AMAZON_MERCHANT_LISTINGS
    if keys & {"offersku", "shopsku", "offerid"}:
        return Source.MIRAKL_OFFERS
    if keys & {"segmentid", "libelle", "prix", "skumerchant"}:
        return Source.PIXMANIA_EXTRACT
    return fallback
