"""The demo seller's data: its products (`products`) and the listings the marketplace stand-ins start
with (`listings`). Nothing here imports the rest of the project: the stand-ins take their starting
listings from here, and `infrastructure/demo_seller.py` connects the seller to the running stand-ins.
"""
