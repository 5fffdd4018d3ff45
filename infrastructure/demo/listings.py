"""Demo listings for the channel stand-ins: some of the demo seller's SKUs (infrastructure/demo/products.py),
so auto-link finds matches, plus listings the seller has no item for."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from infrastructure.demo.products import COLOURS, PRODUCTS


@dataclass
class DemoListing:
    sku: str
    title: str
    price: float
    quantity: int
    listing_id: str
    barcode: str = ""
    fba: bool = False
    active: bool = True
    backorders: bool = False  # websites keeping quantity 0 with back-orders allowed
    # A variation of a listing with variations: its parent (an eBay ItemID or inventory item group key,
    # an Amazon parent SKU, a Magento configurable SKU) and what sets it apart ({"Size": "M"}).
    parent: str = ""
    variation: dict[str, str] = field(default_factory=dict)


def demo_listings(prefix: str, *, products: int = 3, colours: int = 6, extras: int = 4,
                  id_base: int = 100000) -> list[DemoListing]:
    """`products` x `colours` of the seller's SKUs, then `extras` SKUs the seller does not stock."""
    listings: list[DemoListing] = []
    for code, title, price in PRODUCTS[:products]:
        for colour in COLOURS[:colours]:
            n = len(listings)
            listings.append(DemoListing(
                sku=f"{code}-{colour.upper()}", title=f"{title} ({colour})", price=round(price * 1.2, 2),
                quantity=(n * 7) % 23, listing_id=str(id_base + n), barcode=f"50123456{n:05d}",
            ))
    for index in range(extras):
        n = len(listings)
        listings.append(DemoListing(
            sku=f"{prefix}-ONLY-{index + 1:03d}", title=f"Café clearance lot {index + 1} \u2013 boxed",
            price=4.99 + index, quantity=index * 3, listing_id=str(id_base + n),
        ))
    return listings


def with_fba(listings: list[DemoListing], count: int) -> list[DemoListing]:
    """Amazon: the last `count` listings fulfilled by Amazon (no merchant quantity)."""
    return [*listings, *(replace(item, sku=f"{item.sku}-FBA", fba=True, listing_id=f"{item.listing_id}9")
                         for item in listings[:count])]
