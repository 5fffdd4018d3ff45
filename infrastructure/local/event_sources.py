"""Lambda's event sources played locally: SQS event source mappings and EventBridge schedules.

moto stores queues and schedules but never runs code, so these threads do what the Lambda
service does: poll queues and invoke with batches (deleting what succeeded, leaving the rest to
the visibility timeout and the queue's redrive policy), and fire `rate(...)` schedules.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infrastructure.local.lambda_runtime import LocalFunction
from infrastructure.local.provision import ProvisionedStack
from infrastructure.local.template import ACCOUNT_ID, EventSpec, TemplateError

logger = logging.getLogger(__name__)

_SQS_MAX_MESSAGES_PER_RECEIVE = 10
_SQS_WAIT_SECONDS = 1  # long-poll slice: also how long a poller takes to notice stop()
_MAXIMUM_CONCURRENCY_RANGE = range(2, 1001)  # what Lambda accepts for an SQS event source's ScalingConfig


# --------------------------------------------------------------------------- SQS


LOCAL_CONCURRENCY = 2  # invocations at once per source with a maximum: Lambda's least, on a 2-core machine


@dataclass(frozen=True)
class SqsEventSource:
    """An `SQS` event of a function: an event source mapping from a queue to the function.

    `maximum_concurrency` is its `ScalingConfig.MaximumConcurrency` (None: Lambda scales it freely).
    Locally a source with a maximum has `pollers` (2, the least Lambda allows) invoking at once, so an
    invocation held by a slow channel does not hold back the next batch, as on AWS; one without has
    one. The value is checked here as Lambda would refuse it.
    """

    function: LocalFunction
    event_name: str
    queue_url: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: float
    report_batch_item_failures: bool
    enabled: bool
    region: str
    maximum_concurrency: int | None = None

    @property
    def pollers(self) -> int:
        return 1 if self.maximum_concurrency is None else min(self.maximum_concurrency, LOCAL_CONCURRENCY)

    @classmethod
    def from_event(cls, function: LocalFunction, event: EventSpec, stack: ProvisionedStack) -> SqsEventSource:
        properties = stack.resolve(event.properties)
        queue_arn = str(properties["Queue"])
        where = f"{function.logical_id} event {event.name}"
        batch_size, window = batching(properties, where)
        return cls(
            function=function,
            event_name=event.name,
            queue_url=stack.queue_url(queue_arn),
            queue_arn=queue_arn,
            batch_size=batch_size,
            batching_window_seconds=window,
            report_batch_item_failures="ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or []),
            enabled=properties.get("Enabled", True) is not False,
            region=stack.region,
            maximum_concurrency=maximum_concurrency(properties.get("ScalingConfig"), where),
        )


def batching(properties: Mapping[str, Any], where: str) -> tuple[int, float]:
    """An SQS event's BatchSize and MaximumBatchingWindowInSeconds (absent: 10 and no window), refused
    as Lambda refuses them: a standard queue's batch of more than 10 needs a window of at least 1 s."""
    batch_size = int(properties.get("BatchSize", 10))
    window = float(properties.get("MaximumBatchingWindowInSeconds", 0))
    if not 1 <= batch_size <= 10_000:
        raise TemplateError(f"{where}: BatchSize {batch_size} is not from 1 to 10,000")
    if not 0 <= window <= 300:
        raise TemplateError(f"{where}: MaximumBatchingWindowInSeconds {window:g} is not from 0 to 300")
    if batch_size > _SQS_MAX_MESSAGES_PER_RECEIVE and window < 1:
        raise TemplateError(f"{where}: BatchSize {batch_size} needs MaximumBatchingWindowInSeconds of at least 1 "
                            f"(without a window SQS hands over at most {_SQS_MAX_MESSAGES_PER_RECEIVE})")
    return batch_size, window


def maximum_concurrency(scaling_config: Any, where: str) -> int | None:
    """An SQS event's `ScalingConfig.MaximumConcurrency`, refused as Lambda refuses it (2 to 1000)."""
    if scaling_config is None:
        return None
    if not isinstance(scaling_config, Mapping) or set(scaling_config) - {"MaximumConcurrency"}:
        raise TemplateError(f"{where}: ScalingConfig takes MaximumConcurrency only, not {scaling_config!r}")
    value = scaling_config.get("MaximumConcurrency")
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():  # a Number parameter resolves to its text
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in _MAXIMUM_CONCURRENCY_RANGE:
        raise TemplateError(f"{where}: MaximumConcurrency {value!r} is not a whole number from 2 to 1000")
    return value


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's SQS event, from a ReceiveMessage message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def succeeded_messages(
    messages: Sequence[Mapping[str, Any]], result: Any, report_batch_item_failures: bool
) -> list[Mapping[str, Any]]:
    """The messages Lambda deletes after the handler returned `result`.

    With ReportBatchItemFailures, all but the reported `itemIdentifier`s; a malformed response
    (an unknown or empty identifier, a non-object) fails the whole batch, as on AWS.
    """
    if not report_batch_item_failures or result is None:
        return list(messages)
    if not isinstance(result, Mapping):
        return []
    failures = result.get("batchItemFailures") or []
    known_ids = {message["MessageId"] for message in messages}
    failed_ids = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier or identifier not in known_ids:
            return []
        failed_ids.add(identifier)
    return [message for message in messages if message["MessageId"] not in failed_ids]


class SqsPoller(threading.Thread):
    """Polls one queue for one function, as Lambda's event source mapping does."""

    def __init__(self, source: SqsEventSource, sqs: Any, stop: threading.Event, *, number: int = 0) -> None:
        super().__init__(name=f"sqs-{source.function.logical_id}-{source.event_name}-{number}", daemon=True)
        self.source = source
        self._sqs = sqs
        self._stop_requested = stop

    def run(self) -> None:
        while not self._stop_requested.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as exc:
                logger.warning("%s: polling %s failed: %s", self.name, self.source.queue_url, exc)
                self._stop_requested.wait(1)

    def poll_once(self) -> None:
        messages = self._receive_batch()
        if messages:
            self._invoke(messages)

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Long-poll until a message arrives, then gather up to BatchSize within the batching window.

        Without a window (BatchSize 10 at most) the batch is what that first receive hands over: as
        on AWS, the function is invoked as soon as a message is visible, with up to BatchSize of them."""
        source = self.source
        messages = self._receive(source.batch_size)
        deadline = time.monotonic() + source.batching_window_seconds
        while messages and len(messages) < source.batch_size and not self._stop_requested.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            received = self._receive(source.batch_size - len(messages), wait_seconds=min(1, int(remaining)))
            if not received:  # a short poll came back empty: do not spin until the window closes
                self._stop_requested.wait(min(remaining, 0.1))
            messages += received
        return messages

    def _receive(self, wanted: int, wait_seconds: int = _SQS_WAIT_SECONDS) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=min(wanted, _SQS_MAX_MESSAGES_PER_RECEIVE),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        source = self.source
        event = {"Records": [sqs_record(message, source.queue_arn, source.region) for message in messages]}
        started = time.monotonic()
        try:
            result = source.function.invoke(event)
        except Exception as exc:  # any handler error fails the batch, as on Lambda
            logger.warning(
                "%s <- %s: %d records, handler raised %s: %s (all stay on the queue)",
                source.function.logical_id,
                source.event_name,
                len(messages),
                type(exc).__name__,
                exc,
            )
            return
        done = succeeded_messages(messages, result, source.report_batch_item_failures)
        self._delete_messages(done)
        logger.info(
            "%s <- %s: %d records, %d failed, %.0f ms",
            source.function.logical_id,
            source.event_name,
            len(messages),
            len(messages) - len(done),
            (time.monotonic() - started) * 1000,
        )

    def _delete_messages(self, messages: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(messages), _SQS_MAX_MESSAGES_PER_RECEIVE):
            chunk = messages[start : start + _SQS_MAX_MESSAGES_PER_RECEIVE]
            self._sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(chunk)
                ],
            )


# --------------------------------------------------------------------------- schedules

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    """Seconds between runs of an EventBridge `rate(N unit)` expression."""
    match = _RATE.match(expression.strip())
    if match is None:
        if expression.strip().startswith("cron("):
            raise TemplateError(
                f"schedule {expression!r}: cron() schedules are not played locally (no cron parser "
                "is installed); use rate(), or fire it from a test with Runner.fire_schedule"
            )
        raise TemplateError(f"schedule {expression!r} is not a rate(N minute|hour|day) expression")
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    return count * _UNIT_SECONDS[unit]


@dataclass(frozen=True)
class ScheduleSource:
    """A `Schedule` (EventBridge rule) or `ScheduleV2` (EventBridge Scheduler) event of a function."""

    function: LocalFunction
    event_name: str
    expression: str
    interval_seconds: int
    enabled: bool
    input: Any  # the parsed `Input`, or None for the default "Scheduled Event" payload
    resource_arn: str
    region: str

    @classmethod
    def from_event(cls, function: LocalFunction, event: EventSpec, stack: ProvisionedStack) -> ScheduleSource:
        properties = stack.resolve(event.properties)
        v2 = event.type == "ScheduleV2"
        expression = str(properties["ScheduleExpression" if v2 else "Schedule"])
        raw_input = properties.get("Input")
        name = f"{function.name}-{event.name}"
        resource = (
            f"arn:aws:scheduler:{stack.region}:{ACCOUNT_ID}:schedule/default/{name}"
            if v2
            else (f"arn:aws:events:{stack.region}:{ACCOUNT_ID}:rule/{name}")
        )
        return cls(
            function=function,
            event_name=event.name,
            expression=expression,
            interval_seconds=rate_seconds(expression),
            enabled=_schedule_enabled(properties),
            input=json.loads(raw_input) if raw_input is not None else None,
            resource_arn=resource,
            region=stack.region,
        )

    def event(self) -> Any:
        """What the function receives: the parsed Input, or EventBridge's Scheduled Event."""
        if self.input is not None:
            return self.input
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [self.resource_arn],
            "detail": {},
        }

    def fire(self) -> Any:
        return self.function.invoke(self.event())


def _schedule_enabled(properties: Mapping[str, Any]) -> bool:
    if properties.get("Enabled") is False:
        return False
    return str(properties.get("State", "ENABLED")).upper() != "DISABLED"


# A sped-up schedule never fires more often than this: the one-minute order poller at a speed-up of 240
# would tick every 0.25 s, each tick reading every channel, and keep a core busy while nothing is due
# (each channel's order cadence has its own floor, `order_poll_floor_s`, far above it).
MIN_PERIOD_S = 2.0


class ScheduleTimer(threading.Thread):
    """Fires one schedule every interval / speedup seconds, at most every MIN_PERIOD_S unless the
    schedule's own rate is faster (first run one period after start)."""

    def __init__(self, source: ScheduleSource, speedup: float, stop: threading.Event) -> None:
        super().__init__(name=f"schedule-{source.function.logical_id}-{source.event_name}", daemon=True)
        self.source = source
        self.period = max(source.interval_seconds / speedup, min(MIN_PERIOD_S, source.interval_seconds))
        self._stop_requested = stop

    def run(self) -> None:
        while not self._stop_requested.wait(self.period):
            started = time.monotonic()
            try:
                self.source.fire()
            except Exception as exc:  # a failed run is logged; the schedule goes on
                logger.warning("%s: scheduled run raised %s: %s", self.name, type(exc).__name__, exc)
                continue
            logger.info(
                "%s <- %s (%s): ok, %.0f ms",
                self.source.function.logical_id,
                self.source.event_name,
                self.source.expression,
                (time.monotonic() - started) * 1000,
            )
