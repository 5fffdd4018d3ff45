"""What every handler does first: point the table model at the deployed table."""

from __future__ import annotations

from functools import cache

from stocksync.core import db
from stocksync.core.settings import Settings, get_settings


@cache
def bind_table_from_settings() -> Settings:
    settings = get_settings()
    db.bind_table(settings.table_name)
    return settings
