"""Channels: one adapter module per channel behind the interface of base.py (registry.py picks one
by type), the channel records (store.py) and what each type needs (types.py)."""
