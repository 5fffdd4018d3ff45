"""Domain errors. Each carries a stable code; the API maps the type to an HTTP status in one place."""

from __future__ import annotations

from typing import Any


class StockSyncError(Exception):
    code = "error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class NotFound(StockSyncError):
    code = "not_found"


class Conflict(StockSyncError):
    code = "conflict"


class InvalidInput(StockSyncError):
    """Input that is well-formed but breaks a rule (unknown reference, cycle, bad cursor...)."""

    code = "invalid_input"


class TooManyRequests(StockSyncError):
    """Refused for now: allowed again after `retry_after` seconds (e.g. a refresh run too soon)."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, details: Any = None, code: str | None = None) -> None:
        super().__init__(message, details=details, code=code)
        self.retry_after = max(int(retry_after), 1)


class ChannelError(StockSyncError):
    """A channel's API failed us. `retryable` says whether trying again later may help."""

    code = "channel_error"
    retryable = False


class PimError(StockSyncError):
    """The PIM could not be used: unreachable, refused our credentials, or is not an Akeneo API."""

    code = "pim_error"

    def __init__(self, message: str, *, problem: str, details: Any = None) -> None:
        super().__init__(message, details={"problem": problem, **(details or {})}, code=f"pim_{problem}")
        self.problem = problem
