"""The demo seller of the local stack: its products (`products`), the listings the marketplace
stand-ins start with (`listings`), and the seeding of its items, stock and channels (`seed`).

`products` and `listings` import nothing else of the project: the stand-ins take their starting
listings from here, and only `seed`, which connects the seller to the running stand-ins, reads them.
"""
