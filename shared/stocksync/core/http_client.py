"""HTTP to outside APIs (channels, the PIM): one pooled session, retries with backoff and jitter,
Retry-After honoured (or, for services whose throttles say it otherwise, what their `throttle_wait`
reads), cached bearer tokens, and every failure turned into a typed error.

Channel adapters and the PIM client build on this; none of them handles retries on its own.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from stocksync.core.observability import logger

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = (5.0, 60.0)  # connect, read
UNSAID_THROTTLE_WAIT_S = 60.0  # a throttle that says no wait at all is tried again in a minute

ThrottleWait = Callable[[requests.Response], float | None]


class RemoteError(Exception):
    """A call to an outside API failed. `retryable` says whether trying again later may help."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, body: str = "", url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body[:2000]
        self.url = url


class RemoteUnreachable(RemoteError):
    """DNS, connection refused, TLS or timeout: the service could not be reached at all."""

    retryable = True


class RemoteAuthError(RemoteError):
    """401/403: the credentials are wrong, expired or lack a permission."""


class RemoteThrottled(RemoteError):
    """429 after every retry; `retry_after` is the seconds the service asked us to wait."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RemoteServerError(RemoteError):
    """5xx after every retry."""

    retryable = True


class RemoteRequestError(RemoteError):
    """Any other 4xx: our request was refused as it stands; the body says why."""


@dataclass
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter on an exponential backoff, but never sooner than the service asked."""
        backoff = random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))  # noqa: S311
        return max(backoff, retry_after or 0.0)


@dataclass
class CachedToken:
    value: str
    expires_at: float  # time.monotonic()
    refresh_token: str | None = None


@dataclass
class TokenCache:
    """Bearer tokens per credential set, kept for the container's life and renewed a minute early."""

    margin_s: float = 60.0
    _tokens: dict[str, CachedToken] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: str, fetch: Callable[[CachedToken | None], CachedToken]) -> str:
        """The cached token for `key`, or a new one from `fetch(previous)` (previous may hold a refresh token)."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached.expires_at - self.margin_s > time.monotonic():
                return cached.value
            fresh = fetch(cached)
            self._tokens[key] = fresh
            return fresh.value

    def forget(self, key: str) -> CachedToken | None:
        """Drop a token the service refused (keeping its refresh token for the next fetch)."""
        with self._lock:
            stale = self._tokens.get(key)
            if stale:
                self._tokens[key] = CachedToken("", 0.0, stale.refresh_token)
            return stale


class LimitedSession(requests.Session):
    """A session that lets at most `max_concurrent` requests be in flight at once (a service's
    concurrency limit, e.g. Akeneo's 4 calls per connection). Waits between retries hold no slot."""

    def __init__(self, max_concurrent: int) -> None:
        super().__init__()
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.max_concurrent = max_concurrent
        self._slots = threading.BoundedSemaphore(max_concurrent)

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        with self._slots:
            return super().request(method, url, *args, **kwargs)


class HttpClient:
    """Calls one service. Retries what is worth retrying; raises a RemoteError for the rest.

    `max_concurrent` caps the requests this client has in flight at once (threads share it).
    `throttle_wait` reads the seconds a 429 without Retry-After asks for, from the service's own
    headers (None when it names none); the adapter of such a service sets it."""

    def __init__(self, base_url: str, *, policy: RetryPolicy | None = None,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT, session: requests.Session | None = None,
                 headers: dict[str, str] | None = None, max_concurrent: int | None = None,
                 throttle_wait: ThrottleWait | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.throttle_wait = throttle_wait
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.session = session or (LimitedSession(max_concurrent) if max_concurrent else requests.Session())
        if headers:
            self.session.headers.update(headers)

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, ok: Iterable[int] = (), idempotent: bool = True,
                **kwargs: Any) -> requests.Response:
        """Send with retries. 2xx (and any status in `ok`) is returned; anything else raises.

        `idempotent=False` (a POST that creates something, e.g. a report) is retried only when the
        service cannot have acted on it: a 429, or a connection that timed out being made."""
        url = self.url(path)
        accepted = set(ok)
        retry_statuses = RETRY_STATUSES if idempotent else frozenset({429})
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(self.policy.max_attempts):
            last_attempt = attempt == self.policy.max_attempts - 1
            try:
                response = self.session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                never_sent = isinstance(exc, requests.ConnectTimeout)
                if last_attempt or not (idempotent or never_sent):
                    raise RemoteUnreachable(f"{method} {url} could not be reached: {exc}", url=url) from exc
                self.policy.sleep(self.policy.delay(attempt, None))
                continue
            if response.ok or response.status_code in accepted:
                return response
            asked = self.asked_wait(response)
            # A wait longer than the policy's longest is the caller's to schedule (a message back on its
            # queue with that delay, the next tick): sleeping it would hold a Lambda doing nothing.
            if response.status_code in retry_statuses and not last_attempt and (asked or 0) <= self.policy.max_delay:
                wait = self.policy.delay(attempt, asked)
                logger.info("Retrying", extra={"url": url, "status": response.status_code, "wait_s": round(wait, 2)})
                self.policy.sleep(wait)
                continue
            raise error_for(method, url, response, asked)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def asked_wait(self, response: requests.Response) -> float | None:
        """The seconds the service asked us to wait: Retry-After, else for a throttle what `throttle_wait`
        reads from the service's own headers; None when it said nothing."""
        asked = retry_after_seconds(response)
        if asked is None and response.status_code == 429 and self.throttle_wait is not None:
            asked = self.throttle_wait(response)
        return asked


def retry_after_seconds(response: requests.Response) -> float | None:
    """Retry-After as seconds (it may be a number of seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            return None


def error_for(method: str, url: str, response: requests.Response, asked: float | None = None) -> RemoteError:
    """The typed error of a refused call; `asked` is the wait the service asked for (by default its
    Retry-After), a throttle that asks none being retried after UNSAID_THROTTLE_WAIT_S."""
    status = response.status_code
    text = response.text
    message = f"{method} {url} answered {status}"
    if status in (401, 403):
        return RemoteAuthError(message, status=status, body=text, url=url)
    if status == 429:
        wait = asked if asked is not None else retry_after_seconds(response)
        return RemoteThrottled(message, retry_after=wait or UNSAID_THROTTLE_WAIT_S, status=status, body=text, url=url)
    if status >= 500:
        return RemoteServerError(message, status=status, body=text, url=url)
    return RemoteRequestError(message, status=status, body=text, url=url)
