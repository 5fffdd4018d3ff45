"""The demo seller's products: each code in every colour is one of the seller's SKUs ("MUG-BLACK").

The seeding creates them as items; the stand-ins list some of the same SKUs, so that auto-link finds
matches on every demo channel."""

from __future__ import annotations

PRODUCTS = [
    ("MUG", "Ceramic mug", 8.5),
    ("TEE", "Cotton T-shirt", 14.0),
    ("CAP", "Baseball cap", 11.0),
    ("BOTTLE", "Steel water bottle", 17.5),
    ("SOCKS", "Wool socks", 6.0),
]
COLOURS = ["Black", "White", "Red", "Blue", "Green", "Grey", "Navy", "Olive", "Sand", "Pink"]
