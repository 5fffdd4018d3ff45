"""Catalogue files in: streaming parsing (pure), staging in sorted runs, diffing against listings.

`formats` names the sources and their header aliases, `reader` turns a byte stream into rows or
row errors, `staging` keeps parsed rows as sorted runs and merges them, `diff` compares a sorted
load with the sorted current listings. None of these touch AWS. `load` runs a load from the
uploaded file to the listings, `listing_writes` reads and writes the listings a load changes,
`ingest_messages` reads what the ingest queue carries, `s3_storage` holds the loader's S3.
`retrieval` asks the channels for their catalogue reports and `documents` puts them in the bucket.
"""
