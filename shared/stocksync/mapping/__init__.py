"""The mapping screen: links between a channel's listings and inventory items.

`rules` and `csv_io` are pure (no AWS); `store` reads and writes listings and totals; `service`
is what the API calls; `bulk` runs auto-link, create-all and imports as jobs.
"""
