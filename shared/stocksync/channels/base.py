"""What every channel adapter shares: one HttpClient per account, auth hooks with cached tokens,
error mapping to domain errors, and the catalogue interface the report poller drives.

The catalogue side of an adapter is three calls:
  request_catalogue_after(last)  -> CatalogueProgress  (asks the channel for its listings, knowing the
                                                        details the last request ended with)
  poll_catalogue(report_id, ..)  -> CatalogueProgress  (requested / in progress / done / failed)
  open_catalogue(progress)       -> CatalogueDocument  (a byte stream, never the whole file in memory)
`catalogue_source(progress)` names the document's source (a differential export is not a snapshot)
and `catalogue_lists_active_only` says the channel leaves out the listings we ended.
Channels whose API answers listings page by page (no report to wait for) derive from
PagedListingsAdapter: their "report" is done at once and the document is our normalized CSV.
The stock side (submit_quantities) and the order side (channels/order_side.py) are on the same
classes, so each channel is one module.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import requests

from stocksync.channels.order_side import OrderSide, is_not_found
from stocksync.core.chunks import batched, mapped_in_order
from stocksync.core.errors import ChannelError
from stocksync.core.http_client import (
    CachedToken,
    HttpClient,
    RemoteAuthError,
    RemoteError,
    RemoteRequestError,
    RemoteThrottled,
    RetryPolicy,
    TokenCache,
)
from stocksync.core.observability import METRIC_CHANNEL_AUTH_FAILURES, METRIC_CHANNEL_THROTTLED, publish

CHUNK_BYTES = 1024 * 1024

# The documents the ingestion reads (docs/catalogue-formats.md): the S3 key names the source.
SOURCE_AMAZON = "amazon_merchant_listings"
SOURCE_MIRAKL = "mirakl_offers"
SOURCE_MIRAKL_CHANGES = "mirakl_offer_changes"  # OF52's differential export: only the offers changed since
SOURCE_STOCKSYNC = "stocksync_listings"

NORMALIZED_HEADER = ("sku", "title", "price", "quantity", "currency", "barcode", "asin", "fba", "listing_id",
                     "listing_kind", "state", "unlimited", "parent", "variation")
NORMALIZED_CONTENT_TYPE = "text/csv; charset=utf-8"


# --- domain errors ---------------------------------------------------------------------------


class ChannelUnavailable(ChannelError):
    """The channel could not be reached or answered 5xx: try again later."""

    code = "channel_unavailable"
    retryable = True


class ChannelThrottled(ChannelError):
    """The channel throttled the account; `retry_after` seconds is what it asked for."""

    code = "channel_throttled"
    retryable = True

    def __init__(self, message: str, *, retry_after: float, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class ChannelAuthFailed(ChannelError):
    """The channel refused the credentials: the seller has to renew them."""

    code = "channel_auth_failed"


class ChannelRejected(ChannelError):
    """The channel refused the request as it stands (4xx), or answered something we cannot read."""

    code = "channel_rejected"


class ChannelNotConfigured(ChannelError):
    """Settings or credentials the call needs are missing."""

    code = "channel_not_configured"


def channel_error(exc: RemoteError, channel: str, channel_type: str = "unknown") -> ChannelError:
    """The domain error for a refused call; throttling and refused credentials are counted per channel
    type (the alarms of a channel stuck throttled or locked out read them)."""
    details = {"status": exc.status, "url": exc.url, "body": exc.body[:500]}
    if isinstance(exc, RemoteThrottled):
        publish(METRIC_CHANNEL_THROTTLED, 1, channel_type=channel_type)
        return ChannelThrottled(f"{channel} throttled the account", retry_after=exc.retry_after, details=details)
    if isinstance(exc, RemoteAuthError):
        publish(METRIC_CHANNEL_AUTH_FAILURES, 1, channel_type=channel_type)
        return ChannelAuthFailed(f"{channel} refused the credentials ({exc.status})", details=details)
    if isinstance(exc, RemoteRequestError):
        return ChannelRejected(f"{channel} refused the request ({exc.status})", details=details)
    return ChannelUnavailable(f"{channel} is unavailable: {exc.message}", details=details)


def _oauth_error(body: str) -> str:
    """The `error` code of an OAuth 2 token endpoint's JSON error answer, or ""."""
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    return str(answer.get("error") or "") if isinstance(answer, dict) else ""


# --- catalogue interface ---------------------------------------------------------------------


class CatalogueStatus(StrEnum):
    REQUESTED = "requested"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class CatalogueProgress:
    status: CatalogueStatus
    report_id: str
    message: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)  # what open_catalogue needs (JSON-able)


@dataclass
class CatalogueDocument:
    """A finished catalogue as a byte stream. `close()` releases the connection behind it."""

    source: str
    extension: str  # "tsv", "tsv.gz", "csv"
    content_type: str
    chunks: Iterator[bytes]
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in self.closers:
            close()

    def __enter__(self) -> CatalogueDocument:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Listing:
    """One row of the normalized listings CSV (source `stocksync_listings`)."""

    sku: str
    title: str = ""
    price: str = ""
    quantity: str = ""
    currency: str = ""
    barcode: str = ""
    asin: str = ""
    fba: bool = False
    listing_id: str = ""
    listing_kind: str = ""
    state: str = "active"  # active | ended | disabled
    unlimited: bool = False  # the channel does not track this listing's stock (Rakuten): Ignore Sync is set
    # a variation child: its parent's or group's key on the channel, and its attributes ({"Size": "M"})
    parent: str = ""
    variation: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Listing:
        """A listing as our own contracts (Rakuten, the generic website) spell it in JSON."""
        state = str(item.get("state") or item.get("status") or "active").lower()
        return cls(
            sku=str(item.get("sku") or ""), title=str(item.get("title") or ""), price=decimal_text(item.get("price")),
            quantity=decimal_text(item.get("quantity")), currency=str(item.get("currency") or ""),
            barcode=str(item.get("barcode") or item.get("ean") or ""), listing_id=str(item.get("listing_id") or ""),
            state=state if state in ("active", "ended", "disabled") else "active",
            unlimited=item.get("unlimited") is True, parent=str(item.get("variation_listing_id") or ""),
            variation=_text_map(item.get("variation")),
        )

    def row(self) -> list[str]:
        return [self.sku, self.title, self.price, self.quantity, self.currency, self.barcode, self.asin,
                "true" if self.fba else "false", self.listing_id, self.listing_kind, self.state,
                "true" if self.unlimited else "", self.parent,
                json.dumps(dict(self.variation), ensure_ascii=False, separators=(",", ":")) if self.variation else ""]


def _text_map(value: Any) -> dict[str, str]:
    """A JSON object of attributes as names to text ({} for anything else)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(name): decimal_text(text) if isinstance(text, int | float) else str(text)
            for name, text in value.items() if str(name).strip() and text is not None}


def normalized_csv(listings: Iterable[Listing], rows_per_chunk: int = 2000) -> Iterator[bytes]:
    """The normalized CSV (UTF-8, comma, RFC 4180 quoting, CRLF), a few thousand rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(NORMALIZED_HEADER)
    for count, listing in enumerate((item for item in listings if item.sku.strip()), start=1):
        writer.writerow(listing.row())  # a row without SKU would fail the whole load: it is not a listing
        if count % rows_per_chunk == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def decimal_text(value: Any) -> str:
    """A number as the CSV carries it ("" for none), without float noise."""
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def stream_response(response: requests.Response, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The body exactly as sent (no transparent gunzip), chunk by chunk."""
    try:
        yield from response.raw.stream(chunk_bytes, decode_content=False)
    finally:
        response.close()


# --- stock side --------------------------------------------------------------------------------


class RateLimiter(Protocol):
    """Takes `cost` tokens from an account's bucket for `operation`, waiting for them if need be.
    Raises ChannelThrottled when waiting would take longer than the caller can."""

    def acquire(self, account: str, operation: str, rate: float, burst: int, cost: int = 1) -> None: ...


class NoRateLimit:
    def acquire(self, account: str, operation: str, rate: float, burst: int, cost: int = 1) -> None:
        return None


@dataclass(frozen=True)
class QuantityUpdate:
    """Show `quantity` on this listing. `state` is what we last knew of it (active / ended /
    disabled); `price` is the last loaded catalogue's (Mirakl resubmits it); `locations` the
    quantity per location of the channel's, for channels that keep stock per source (Magento MSI);
    `offer` the offer as the last catalogue load exported it (`ListingRecord.offer_as_exported()`:
    Mirakl's OF24 resets every field it is not sent, so the whole offer goes back with the quantity);
    `parent` the listing's variation parent (a variation of a listing with variations), None else."""

    sku: str
    quantity: int
    state: str = "active"
    listing_id: str | None = None
    listing_kind: str | None = None
    price: float | None = None
    locations: Mapping[str, int] = field(default_factory=dict)
    offer: Mapping[str, str] = field(default_factory=dict)
    parent: str | None = None


class QuantityStatus(StrEnum):
    OK = "ok"  # the channel shows the quantity
    PENDING = "pending"  # accepted for later processing (an Amazon feed): the result comes later
    ERROR = "error"  # the channel refused this listing; `message` says why
    RETRY = "retrying"  # the call was throttled or failed on the channel's side: send again later


@dataclass(frozen=True)
class QuantityResult:
    sku: str
    status: QuantityStatus
    message: str = ""
    state: str | None = None  # the listing's state on the channel after the call
    listing_id: str | None = None  # a new listing id (an eBay relist)
    retry_after: float | None = None
    reference: str | None = None  # e.g. the Amazon feed id


def ends_listing(update: QuantityUpdate) -> bool:
    """Out of stock on a listing still showing: the channel ends / disables it."""
    return update.quantity <= 0 and update.state == "active"


def restores_listing(update: QuantityUpdate) -> bool:
    """Back in stock on a listing we ended or disabled: the channel relists / enables it."""
    return update.quantity > 0 and update.state != "active"


def shown_state(update: QuantityUpdate, at_zero: str = "disabled") -> str:
    """The listing's state once the channel shows `update`: active, or `at_zero` when out of stock."""
    return "active" if update.quantity > 0 else at_zero


@dataclass(frozen=True)
class ItemReply:
    """A channel's verdict on one listing of a bulk call."""

    ok: bool
    message: str = ""


def batch_results(batch: Sequence[QuantityUpdate], replies: Mapping[str, ItemReply], label: str,
                  state: Callable[[QuantityUpdate], str | None] = lambda _u: None) -> list[QuantityResult]:
    """One result per listing of a bulk call from the channel's per-SKU replies; a listing the reply
    does not name is an error (a bulk answer that skips an item never counts as success)."""
    results = []
    for update in batch:
        reply = replies.get(update.sku)
        if reply is None:
            results.append(QuantityResult(update.sku, QuantityStatus.ERROR, f"{label} gave no result for this listing"))
        elif reply.ok:
            results.append(QuantityResult(update.sku, QuantityStatus.OK, state=state(update)))
        else:
            results.append(QuantityResult(update.sku, QuantityStatus.ERROR, reply.message or f"{label} refused it"))
    return results


class StockSide:
    """The stock half of an adapter, mixed into ChannelAdapter: batching by the channel's bulk size,
    the shared rate limit, and one retryable failure of a call turned into RETRY results for its
    listings (the others of the run still go). Adapters implement `send_quantity_batch`."""

    bulk_size: ClassVar[int] = 1
    # Bulk calls in flight at once, for channels whose batches are independent of one another (each
    # listing in one batch, no order between them): a big submission then waits for a quarter of its
    # calls in turn, within the account's rate.
    batches_at_once: ClassVar[int] = 1
    rate: ClassVar[tuple[float, int]] = (5.0, 10)  # requests per second, burst, per account
    rate_limiter: RateLimiter = NoRateLimit()

    def submit_quantities(self, updates: Sequence[QuantityUpdate]) -> list[QuantityResult]:
        return self.sent(self.quantity_batches(updates), self.batches_at_once)

    def sent(self, batches: Iterable[list[QuantityUpdate]], at_once: int) -> list[QuantityResult]:
        """Every batch sent (`at_once` of them at a time), its results or its failure on its listings."""
        def send(batch: list[QuantityUpdate]) -> list[QuantityResult]:
            return self.guarded(batch, self.send_quantity_batch)

        sent = (send(batch) for batch in batches) if at_once == 1 else mapped_in_order(send, batches, at_once=at_once)
        return [result for results in sent for result in results]

    @staticmethod
    def guarded(batch: list[QuantityUpdate],
                send: Callable[[list[QuantityUpdate]], list[QuantityResult]]) -> list[QuantityResult]:
        """`send(batch)`, a failure of the call becoming a result on each of its listings: RETRY when
        throttled or unavailable, ERROR when refused. Refused credentials fail every call alike, so
        they stop the submission: the caller shows the seller that the account needs reconnecting.
        Also for per-listing follow-up calls."""
        try:
            return send(batch)
        except ChannelAuthFailed:
            raise
        except (ChannelThrottled, ChannelUnavailable) as exc:
            retry_after = getattr(exc, "retry_after", None)
            return [QuantityResult(u.sku, QuantityStatus.RETRY, exc.message, retry_after=retry_after) for u in batch]
        except ChannelError as exc:
            return [QuantityResult(u.sku, QuantityStatus.ERROR, exc.message) for u in batch]

    def quantity_batches(self, updates: Sequence[QuantityUpdate]) -> Iterator[list[QuantityUpdate]]:
        return batched(updates, self.bulk_size)

    def then_transitions(self, batch: list[QuantityUpdate], results: list[QuantityResult],
                         transition: Callable[[list[QuantityUpdate]], list[QuantityResult]]) -> list[QuantityResult]:
        """After a quantity call: each listing it showed that must now end (out of stock) or come back
        (restock) goes through the channel's `transition([update])`, one listing per call, its own
        failure on its own listing."""
        return [self.guarded([u], transition)[0]
                if r.status == QuantityStatus.OK and (ends_listing(u) or restores_listing(u)) else r
                for u, r in zip(batch, results, strict=True)]

    def send_quantity_batch(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        """One bulk call. Channels without a stock side yet say so on each listing (never a crash)."""
        label = getattr(self, "label", "this channel")
        raise ChannelNotConfigured(f"Stock updates to {label} are not available yet")

    def place_split(self, update: QuantityUpdate) -> dict[str, int] | None:
        """For channels keeping a listing's stock per place (Magento MSI sources): the quantity each
        place is sent. None: the channel shows one figure, and only the total matters."""
        return None

    def pending_outcome(self, reference: str) -> dict[str, str] | None:
        """For a submission the channel processes later (`PENDING` results carrying `reference`):
        None while it is still processing, else the error text per SKU ("*" = every SKU of it)."""
        return {}

    def limited(self, operation: str, rate: tuple[float, int] | None = None, cost: int = 1) -> None:
        """Wait for the account's token bucket of `operation` before a call."""
        per_second, burst = rate or self.rate
        account = self.account.channel_id  # type: ignore[attr-defined]
        self.rate_limiter.acquire(account, operation, per_second, burst, cost)

    def calls_for(self, changed: int) -> int:
        """The fewest calls `changed` listings take (the benchmark's floor)."""
        return -(-changed // self.bulk_size)

    def calls_for_updates(self, updates: Sequence[QuantityUpdate]) -> int:
        """The fewest calls these updates take when none ends or restores a listing: one per bulk
        batch (channels batching by listing kind, like eBay, count each kind's batches)."""
        return sum(1 for _batch in self.quantity_batches(updates))


# --- the adapter base ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelAccount:
    """What an adapter is built from: the channel record's fields and its credentials."""

    channel_id: str
    channel_type: str
    settings: Mapping[str, Any]
    credentials: Mapping[str, str]

    def credentials_key(self) -> str:
        """Identifies this credential set in the token cache without holding the secret itself."""
        digest = hashlib.sha256(repr(sorted(self.credentials.items())).encode()).hexdigest()[:16]
        return f"{self.channel_id}:{digest}"


_TOKENS = TokenCache()  # bearer tokens live for the container's life, shared by every adapter


class ChannelAdapter(StockSide, OrderSide):
    """One channel account. Subclasses set `label`, `source`, and implement the hooks they need."""

    label: ClassVar[str] = "channel"
    source: ClassVar[str] = SOURCE_STOCKSYNC
    uses_bearer_token: ClassVar[bool] = False
    # True when the channel's catalogue lists active listings only: a listing we ended or disabled at
    # 0 is then absent from the next load, which keeps it (so a restock relists it) instead of removing it.
    catalogue_lists_active_only: ClassVar[bool] = False

    def __init__(self, account: ChannelAccount, *, session: requests.Session | None = None,
                 policy: RetryPolicy | None = None, tokens: TokenCache | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 rate_limiter: RateLimiter | None = None) -> None:
        self.account = account
        self.rate_limiter = rate_limiter or NoRateLimit()
        self.settings = account.settings
        self.credentials = account.credentials
        self.tokens = tokens or _TOKENS
        self.clock = clock
        self.http = HttpClient(self.base_url(), session=session, policy=policy)

    # --- hooks ---------------------------------------------------------------------------

    def base_url(self) -> str:
        raise NotImplementedError

    def fetch_token(self, previous: CachedToken | None) -> CachedToken:
        """Exchange the account's long-lived credentials for a bearer token (token-based channels)."""
        raise NotImplementedError

    def auth_headers(self, token: str | None) -> dict[str, str]:
        """Headers that authenticate a call (the cached bearer token, when the channel uses one)."""
        return {}

    def sign(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        """Per-request signatures (HMAC, OAuth 1.0a): extra headers computed from the request itself."""
        return {}

    # --- calls ---------------------------------------------------------------------------

    def call(self, method: str, path: str, *, idempotent: bool = True, authenticated: bool = True,
             headers: Mapping[str, str] | None = None, **kwargs: Any) -> requests.Response:
        """One API call with auth, retries and error mapping; a refused bearer token is renewed once.

        `json=` is serialized here (signatures cover the exact bytes sent)."""
        base_headers = dict(headers or {})
        if "json" in kwargs:
            kwargs["data"] = json.dumps(kwargs.pop("json")).encode()
            base_headers.setdefault("Content-Type", "application/json")
        body = kwargs.get("data")
        for attempt in (1, 2):
            sent = dict(base_headers)
            if authenticated:
                sent.update(self.auth_headers(self._token() if self.uses_bearer_token else None))
                sent.update(self.sign(method, self._full_url(path, kwargs.get("params")), sent,
                                      body if isinstance(body, bytes) else None))
            try:
                return self.http.request(method, path, headers=sent, idempotent=idempotent, **kwargs)
            except RemoteAuthError as exc:
                if attempt == 1 and authenticated and self.uses_bearer_token:
                    self.tokens.forget(self.account.credentials_key())
                    continue
                raise channel_error(exc, self.label, self.account.channel_type) from exc
            except RemoteError as exc:
                raise channel_error(exc, self.label, self.account.channel_type) from exc
        raise AssertionError("unreachable: the second attempt returns or raises")  # pragma: no cover

    def call_json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        try:
            return response.json() if response.content else None
        except ValueError as exc:
            raise ChannelRejected(f"{self.label} answered {method} {path} with something that is not JSON",
                                  details={"body": response.text[:300]}) from exc

    def call_json_or_none(self, method: str, path: str, **kwargs: Any) -> Any:
        """`call_json`, or None when the channel answers 404 (a lookup that finds nothing)."""
        try:
            return self.call_json(method, path, **kwargs)
        except ChannelRejected as exc:
            if is_not_found(exc):
                return None
            raise

    def _token(self) -> str:
        return self.tokens.get(self.account.credentials_key(), self._fetch_token_mapped)

    def _fetch_token_mapped(self, previous: CachedToken | None) -> CachedToken:
        try:
            return self.fetch_token(previous)
        except RemoteError as exc:
            if isinstance(exc, RemoteRequestError) and _oauth_error(exc.body) == "invalid_grant":
                # The refresh token was revoked or expired (RFC 6749 5.2): only the seller can renew it.
                publish(METRIC_CHANNEL_AUTH_FAILURES, 1, channel_type=self.account.channel_type)
                raise ChannelAuthFailed(
                    f"{self.label} no longer accepts this account's authorization (invalid_grant): the seller "
                    f"must reconnect the {self.label} account in stocksync",
                    details={"status": exc.status, "body": exc.body[:500]}) from exc
            raise channel_error(exc, f"{self.label} (token)", self.account.channel_type) from exc

    def _full_url(self, path: str, params: Any) -> str:
        url = self.http.url(path)
        if params:
            url = requests.Request("GET", url, params=params).prepare().url or url
        return url

    def require(self, *names: str) -> None:
        missing = [n for n in names if not (self.settings.get(n) or self.credentials.get(n))]
        if missing:
            raise ChannelNotConfigured(f"The {self.label} channel lacks {', '.join(missing)}",
                                       details={"missing": missing})

    # --- catalogue -----------------------------------------------------------------------

    def catalogue_configured(self) -> bool:
        """False when the channel can only receive catalogues as seller uploads."""
        return True

    def request_catalogue(self) -> CatalogueProgress:
        raise NotImplementedError

    def request_catalogue_after(self, previous: Mapping[str, Any]) -> CatalogueProgress:
        """`request_catalogue`, knowing the details the last request of this channel ended with (a
        channel allowing a full export once a day asks only what changed since, in between)."""
        return self.request_catalogue()

    def catalogue_source(self, progress: CatalogueProgress) -> str:
        """The source of this request's document (the key names it; the load reads it by it)."""
        return self.source

    def poll_catalogue(self, report_id: str, details: Mapping[str, Any]) -> CatalogueProgress:
        raise NotImplementedError

    def find_catalogue_request(self, since: datetime) -> CatalogueProgress | None:
        """A report this account requested since `since` (to adopt after a crash), when the API can tell."""
        return None

    def open_catalogue(self, progress: CatalogueProgress) -> CatalogueDocument:
        raise NotImplementedError


class PagedListingsAdapter(ChannelAdapter):
    """Channels that answer listings page by page: nothing to wait for, the document is our CSV."""

    source: ClassVar[str] = SOURCE_STOCKSYNC

    def request_catalogue(self) -> CatalogueProgress:
        report_id = f"{self.clock().strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"
        return CatalogueProgress(CatalogueStatus.DONE, report_id)

    def poll_catalogue(self, report_id: str, details: Mapping[str, Any]) -> CatalogueProgress:
        return CatalogueProgress(CatalogueStatus.DONE, report_id, details=details)

    def open_catalogue(self, progress: CatalogueProgress) -> CatalogueDocument:
        return CatalogueDocument(self.source, "csv", NORMALIZED_CONTENT_TYPE, normalized_csv(self.listings()))

    def listings(self) -> Iterator[Listing]:
        raise NotImplementedError


def expires_in(seconds: Any, default: int = 3600) -> float:
    """A token lifetime from a token endpoint's `expires_in`, as a monotonic deadline."""
    try:
        lifetime = float(seconds)
    except (TypeError, ValueError):
        lifetime = float(default)
    return time.monotonic() + lifetime


