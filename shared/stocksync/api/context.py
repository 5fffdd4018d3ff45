"""What every router asks for: the API function's objects (stocksync.wiring), built on first use."""

from __future__ import annotations

from stocksync.core.settings import ApiSettings
from stocksync.wiring import Wiring, wiring


def services() -> Wiring[ApiSettings]:
    return wiring(ApiSettings)
