"""Local stand-ins of the outside APIs stocksync talks to (marketplaces, the PIM), for `make run` and tests."""
