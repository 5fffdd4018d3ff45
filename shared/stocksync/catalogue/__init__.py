"""Catalogue files in: streaming parsing (pure), staging in sorted runs, diffing against listings.

`formats` names the sources and their header aliases, `reader` turns a byte stream into rows or
row errors, `staging` keeps parsed rows as sorted runs and merges them, `diff` compares a sorted
load with the sorted current listings. None of these touch AWS; `loader` does.
"""
