"""Product information in from an Akeneo PIM: the connection, sync profiles and runs.

- `model`    the profile's settings and what the PIM tells us about its attributes (plain data)
- `units`    metric conversion (pure)
- `product_fields`  an Akeneo product's values -> the changes to an item's fields (pure)
- `akeneo`   the Akeneo REST client on the shared HttpClient
- `profiles` connection and profile records, and profile validation against the PIM
- `runs`     a run as a job: read, map, write in batches, continue when time runs short
"""
