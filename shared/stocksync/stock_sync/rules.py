"""Pure quantity rules of the stock sync: what quantity a linked listing should show. No AWS here.

available -> Percentage (floor of that share) -> Max Listed (cap) -> 0 when available <= End When
-> never below 0. A listing's own limits win; a limit it lacks falls back to the channel's default.
FBA listings and Ignore Sync listings are never submitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Limits:
    """Max Listed, End When, Percentage; None = no limit of that kind."""

    max_listed: int | None = None
    end_when: int | None = None
    percentage: float | None = None

    def over(self, defaults: Limits) -> Limits:
        """These limits, each missing one taken from `defaults` (the channel's)."""
        return Limits(
            max_listed=self.max_listed if self.max_listed is not None else defaults.max_listed,
            end_when=self.end_when if self.end_when is not None else defaults.end_when,
            percentage=self.percentage if self.percentage is not None else defaults.percentage,
        )


def target_quantity(available: int, limits: Limits) -> int:
    """The quantity to submit for a listing whose item has `available` for its channel."""
    quantity = max(int(available), 0)
    if limits.end_when is not None and available <= limits.end_when:
        return 0
    if limits.percentage is not None:
        # Decimal keeps e.g. 10 * 33.3 % exact before the floor (binary floats would round 3.33 oddly).
        share = Decimal(quantity) * Decimal(str(limits.percentage)) / Decimal(100)
        quantity = math.floor(share)
    if limits.max_listed is not None:
        quantity = min(quantity, int(limits.max_listed))
    return max(quantity, 0)


def is_synced(*, fba: bool, ignore_sync: bool, linked: bool, removed: bool = False) -> bool:
    """Whether a listing takes part in the stock sync at all."""
    return linked and not (fba or ignore_sync or removed)


def needs_submission(target: int, submitted: int | None, *, status: str | None, forced: bool) -> bool:
    """Send when the channel may show something else than the target: a new target, a listing never
    sent, one whose last submission failed, or a forced resubmission."""
    return forced or submitted is None or int(submitted) != target or status in ("error", "retrying")
