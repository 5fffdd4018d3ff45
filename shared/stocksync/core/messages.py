"""What our queues carry, and the one way we put messages on them.

Stock-queue messages name what to reconcile, never quantities: the stock submitter reads current
availability when it runs, so late, duplicated or reordered messages do no harm. The other queues'
messages are just as idempotent: a mapping message names a channel (and the load that asked), a job
message a job and where to resume it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, Field

from stocksync.core.aws import client
from stocksync.core.chunks import batched

MAX_IDS_PER_MESSAGE = 100
SQS_BATCH = 10  # SendMessageBatch / ChangeMessageVisibilityBatch take at most 10 entries
SQS_MAX_DELAY_S = 900


class StockChange(BaseModel):
    """Reconcile these items on these channels. Empty `channel_ids` = every channel;
    `all_items` = every item of the named channels (a channel's locations changed, or it was enabled)."""

    reason: str
    item_ids: list[str] = Field(default_factory=list)
    channel_ids: list[str] = Field(default_factory=list)
    all_items: bool = False


class MappingMessage(BaseModel):
    """What the mapping queue carries: auto-link this channel (after a load, or asked by the seller)."""

    channel_id: str = Field(min_length=1)
    load_id: str | None = None
    reason: str = "requested"
    job_id: str | None = None
    # After a load: the channel's unlinked listings the load counted. None when not known (the seller's
    # own request reads the listings whatever the totals say).
    unlinked: int | None = Field(default=None, ge=0)


class JobMessage(BaseModel):
    """What the jobs queue carries: which job to (continue to) run. `payload` says where to resume."""

    job_id: str
    kind: str
    payload: dict[str, Any] = Field(default_factory=dict)


def parse_stock_change(body: str) -> StockChange:
    return StockChange.model_validate(json.loads(body))


def parse_mapping_message(body: str) -> MappingMessage:
    return MappingMessage.model_validate(json.loads(body))


def parse_job_message(body: str) -> JobMessage:
    return JobMessage.model_validate(json.loads(body))


class SqsSender:
    """Puts messages on one queue, ten to a request; a message the queue refuses raises, naming the queue."""

    def __init__(self, queue_url: str, name: str) -> None:
        self.queue_url, self.name = queue_url, name

    def send(self, bodies: Iterable[BaseModel], *, delay_seconds: int = 0) -> None:
        delay = min(max(delay_seconds, 0), SQS_MAX_DELAY_S)
        for batch in batched(bodies, SQS_BATCH):
            entries = [{"Id": str(n), "MessageBody": body.model_dump_json(exclude_none=True), "DelaySeconds": delay}
                       for n, body in enumerate(batch)]
            answer = client("sqs").send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if answer.get("Failed"):
                raise RuntimeError(f"the {self.name} refused {len(answer['Failed'])} messages: {answer['Failed']}")


class StockChangePublisher(Protocol):
    def publish(self, changes: Iterable[StockChange]) -> None: ...


class SqsStockQueue:
    def __init__(self, queue_url: str) -> None:
        self.sender = SqsSender(queue_url, "stock queue")

    def publish(self, changes: Iterable[StockChange]) -> None:
        self.sender.send(_split(changes))


class RecordingQueue:
    """A publisher that keeps what it was given: for tests and for callers that batch messages."""

    def __init__(self) -> None:
        self.changes: list[StockChange] = []

    def publish(self, changes: Iterable[StockChange]) -> None:
        self.changes.extend(changes)


class MappingQueue(Protocol):
    def send(self, message: MappingMessage) -> None: ...


class SqsMappingQueue:
    def __init__(self, queue_url: str) -> None:
        self.sender = SqsSender(queue_url, "mapping queue")

    def send(self, message: MappingMessage) -> None:
        self.sender.send([message])


class JobQueue:
    """Sends job messages; a worker may send its own job again with a new payload to continue it."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        self.sender = SqsSender(queue_url, "jobs queue")

    def send(self, message: JobMessage, *, delay_seconds: int = 0) -> None:
        self.sender.send([message], delay_seconds=delay_seconds)


def _split(changes: Iterable[StockChange]) -> Iterator[StockChange]:
    for change in changes:
        for ids in batched(sorted(set(change.item_ids)), MAX_IDS_PER_MESSAGE) if change.item_ids else [[]]:
            yield change.model_copy(update={"item_ids": ids})


# --- poison messages fail fast, transient ones retry ---------------------------------------------

# The queues' maxReceiveCount in template.yaml (tests/integration/test_jobs_worker.py reads it back):
# the receive that reaches it is the message's last before the dead-letter queue.
INGEST_MAX_RECEIVES = 5
JOBS_MAX_RECEIVES = 3
MAPPING_MAX_RECEIVES = 5
RETRY_FIRST_DELAY_S = 30  # a transient failure comes back after 30 s, then 60, 120... (the queues' own
RETRY_MAX_DELAY_S = 900  # visibility is 5,400 s: far too long to wait out a throttled call)
SQS_MAX_VISIBILITY_S = 43_200

# What AWS (and the HTTP clients) say when trying again later may work.
_TRANSIENT_CODES = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
    "ProvisionedThroughputExceededException", "RequestThrottled", "RequestThrottledException", "SlowDown",
    "LimitExceededException", "TransactionInProgressException", "TransactionConflictException",
    "InternalServerError", "InternalError", "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException",
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "EC2ThrottledException",
})
_TRANSIENT_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded",
                                      "RequestLimitExceeded"})
_TRANSIENT_TYPE_NAMES = frozenset({  # by name: core must not import every HTTP library to test against them
    "ConnectionError", "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError",
    "HTTPClientError", "ProxyConnectionError", "Timeout", "ReadTimeout", "ConnectTimeout", "ChunkedEncodingError",
    "TimeoutException", "ConnectError", "ReadError", "RemoteProtocolError", "IncompleteRead", "ProtocolError",
    "NewConnectionError", "MaxRetryError",
})


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may pass by itself (throttling, a timeout, a 5xx, a dropped connection, a
    ChannelError that says it is retryable); anything else (bad input, a refused request, a bug) is
    permanent: trying the same message again would fail the same way."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        retryable = getattr(current, "retryable", None)
        if isinstance(retryable, bool):  # our ChannelError decides, whatever it was raised from
            return retryable
        if _transient_itself(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _transient_itself(exc: BaseException) -> bool:
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    if any(kind.__name__ in _TRANSIENT_TYPE_NAMES for kind in type(exc).__mro__):
        return True
    code = getattr(exc, "cause_response_code", None)  # pynamodb's errors wrap botocore's
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore's ClientError
        error = response.get("Error") or {}
        code = code or error.get("Code")
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if isinstance(status, int) and (status >= 500 or status == 429):
            return True
    status_code = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status_code, int) and (status_code >= 500 or status_code == 429):
        return True
    if code == "TransactionCanceledException":  # transient when a reason is: a conflict or throttling
        reasons = getattr(exc, "cancellation_reasons", None) or []
        return any(getattr(reason, "code", None) in _TRANSIENT_CANCELLATIONS for reason in reasons)
    return code in _TRANSIENT_CODES


def failure_reason(exc: BaseException) -> str:
    """A failure as a job message says it, short: our own errors by their message, anything else (a
    bug, a library's error) with its type too, since the message alone may not say what failed."""
    own = getattr(exc, "message", None)
    text = str(own).strip() if own else f"{type(exc).__name__}: {str(exc).strip()}".rstrip(": ")
    return text if len(text) <= 500 else f"{text[:497]}..."


@dataclass(frozen=True)
class Delivery:
    """One delivery of a queue message: which receive this is, of the queue's maxReceiveCount."""

    receive_count: int
    max_receives: int

    @classmethod
    def of(cls, attributes: Any, max_receives: int) -> Delivery:
        """From an SQS record's attributes (ApproximateReceiveCount; 1 when it is missing)."""
        try:
            count = int(attributes["ApproximateReceiveCount"])
        except (KeyError, TypeError, ValueError):
            count = 1
        return cls(receive_count=max(count, 1), max_receives=max_receives)

    @property
    def last(self) -> bool:
        return self.receive_count >= self.max_receives

    @property
    def retry_delay(self) -> int:
        return min(RETRY_FIRST_DELAY_S * 2 ** (self.receive_count - 1), RETRY_MAX_DELAY_S)


class MessageFailedForGood(Exception):
    """Raised (for Powertools' partial batch response) after the last attempt of a transient failure:
    the job has been failed, and the message goes on to the dead-letter queue for a person to see."""


def deliver(work: Callable[[], Any], delivery: Delivery, *, give_up: Callable[[str], None],
            retry_later: Callable[[int], None]) -> None:
    """Run one message's work. A permanent failure ends its job at once (`give_up` with the reason) and
    the message is done with (returns: Powertools reports it processed, SQS deletes it). A transient
    one returns the message to the queue after a back-off (`retry_later`, seconds) and raises; on the
    queue's last receive it ends the job too, so no job stays "running" behind a dead-letter message."""
    try:
        work()
    except Exception as exc:
        # Imported here: the local stack imports this module before it sets the functions' environment,
        # and observability builds its Metrics from that environment when first imported.
        from stocksync.core.observability import logger

        reason = failure_reason(exc)
        if not is_transient(exc):
            logger.exception("Message failed for good: not retried", extra={"reason": reason})
            give_up(reason)
            return
        if delivery.last:
            give_up(f"Gave up after {delivery.receive_count} attempts: {reason}")
            raise MessageFailedForGood(reason) from exc
        retry_later(delivery.retry_delay)
        raise


def visibility_changer(queue_url: str, receipt_handle: str) -> Callable[[int], None]:
    """`deliver`'s retry_later for one received message: it comes back after that many seconds."""

    def retry_later(seconds: int) -> None:
        try:
            client("sqs").change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle,
                                                    VisibilityTimeout=min(max(seconds, 0), SQS_MAX_VISIBILITY_S))
        except Exception:  # the message still comes back, at the queue's own visibility
            from stocksync.core.observability import logger  # see deliver

            logger.warning("Visibility change refused", exc_info=True)

    return retry_later
