"""The automation event log of a channel or a PIM profile: what ran on its own, and what it did."""

from __future__ import annotations

from typing import Any

from stocksync.core import db
from stocksync.core.db import AutomationEventRecord


class AutomationLog:
    def record(self, subject: str, kind: str, message: str, details: dict[str, Any] | None = None) -> None:
        """Append an event, e.g. record(channel_id, "RAKUTEN_MAPPING_SYNC", "Listings report fetched", {...})."""
        at = db.now()
        AutomationEventRecord(
            **AutomationEventRecord.keys(subject, at, db.new_id()), subject=subject, kind=kind, message=message,
            details=details or {}, at=at, expires_at=at + db.RETENTION,
        ).save()

    def list(self, subject: str, *, limit: int, cursor: str | None,
             kind: str | None = None) -> tuple[list[AutomationEventRecord], str | None]:
        """Newest first."""
        return db.newest_first(AutomationEventRecord, db.events_pk(subject), limit=limit, cursor=cursor,
                               filter_condition=(AutomationEventRecord.kind == kind) if kind else None)
