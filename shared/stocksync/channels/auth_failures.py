"""A channel that refuses the seller's credentials: shown on the channel until the seller reconnects.

A refused token (a revoked refresh token, a deleted API key) fails every call of that channel the
same way, so one failure is recorded per episode: the channel shows it, the automation log says it
once, and the workers keep running their other channels. Saving new credentials ends the episode
(a failure older than them no longer counts); so does a later call the channel accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from stocksync.channels.base import ChannelAuthFailed
from stocksync.core import db
from stocksync.core.automation_log import AutomationLog
from stocksync.core.db import ChannelAuthFailureRecord, ChannelRecord

AUTH_FAILED_EVENT = "CHANNEL_AUTH_FAILED"
RECONNECT = "Reconnect the account: enter the channel's credentials again"


class AuthFailures:
    def __init__(self, log: AutomationLog, *, clock: Callable[[], datetime] = db.now) -> None:
        self.log = log
        self.clock = clock

    @contextmanager
    def watch(self, channel: ChannelRecord, operation: str) -> Iterator[None]:
        """Record a refusal of the credentials inside the block, then let it go on."""
        try:
            yield
        except ChannelAuthFailed as exc:
            self.record(channel, operation, exc.message)
            raise

    def record(self, channel: ChannelRecord, operation: str, message: str) -> None:
        if self.current(channel) is not None:
            return  # the same episode: the seller has been told
        now = self.clock()
        ChannelAuthFailureRecord(**ChannelAuthFailureRecord.keys(channel.channel_id), channel_id=channel.channel_id,
                                 failed_at=now, operation=operation, message=message[:500]).save()
        self.log.record(channel.channel_id, AUTH_FAILED_EVENT, f"{message[:300]}. {RECONNECT}.",
                        {"operation": operation})

    def clear(self, channel_id: str) -> None:
        """A call the channel accepted: whatever refused the credentials before has passed."""
        ChannelAuthFailureRecord(**ChannelAuthFailureRecord.keys(channel_id)).delete()

    def current(self, channel: ChannelRecord) -> ChannelAuthFailureRecord | None:
        record = db.get_or_none(ChannelAuthFailureRecord, ChannelAuthFailureRecord.keys(channel.channel_id))
        return record if record is not None and _counts(record, channel) else None

    def of_channels(self, channels: Iterable[ChannelRecord]) -> dict[str, ChannelAuthFailureRecord]:
        """The failures that count, by channel id, in one batch read."""
        by_id = {c.channel_id: c for c in channels}
        keys = [(k["PK"], k["SK"]) for k in (ChannelAuthFailureRecord.keys(i) for i in by_id)]
        found = ChannelAuthFailureRecord.batch_get(keys) if keys else []
        return {r.channel_id: r for r in found if _counts(r, by_id[r.channel_id])}


def _counts(failure: ChannelAuthFailureRecord, channel: ChannelRecord) -> bool:
    renewed = channel.credentials_updated_at
    return renewed is None or failure.failed_at > renewed
