"""The runner plays Lambda's event sources (SQS, schedules) for the small fixture template."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from infrastructure.local.provision import ProvisionedStack
from infrastructure.local.runner import Runner

FUNCTION_PREFIX = "stocksync-local-"


def batches_of(observations: list[dict[str, Any]], function_id: str) -> list[list[dict[str, Any]]]:
    return [o["event"]["Records"] for o in observations if o["function"] == FUNCTION_PREFIX + function_id]


def received_count(observations: list[dict[str, Any]], function_id: str) -> int:
    return sum(len(batch) for batch in batches_of(observations, function_id))


# --------------------------------------------------------------------------- SQS


def test_given_failed_record_when_received_max_times_then_lands_in_dlq(
    runner: Runner, runner_stack: ProvisionedStack, sqs: Any, observations: Any
) -> None:
    # Given a batch with one record the consumer fails and one it handles
    queue = runner_stack.ref("WorkQueue")
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"fail": True}))
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"fail": False}))

    # When the failing record has been received maxReceiveCount (2) times
    seen = observations(lambda seen: received_count(seen, "ConsumerFunction") >= 3)
    dead = sqs.receive_message(QueueUrl=runner_stack.ref("WorkDeadLetterQueue"), WaitTimeSeconds=5)

    # Then it is in the dead-letter queue, and the handled record was delivered once
    assert [json.loads(m["Body"]) for m in dead["Messages"]] == [{"fail": True}]
    bodies = [json.loads(r["body"]) for batch in batches_of(seen, "ConsumerFunction") for r in batch]
    assert bodies.count({"fail": False}) == 1
    assert bodies.count({"fail": True}) == 2


def test_given_sqs_event_when_consumer_invoked_then_records_have_lambda_shape(
    runner: Runner, runner_stack: ProvisionedStack, sqs: Any, observations: Any
) -> None:
    sqs.send_message(
        QueueUrl=runner_stack.ref("WorkQueue"),
        MessageBody='{"fail": false}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
    )

    seen = observations(lambda seen: received_count(seen, "ConsumerFunction") >= 1)

    (record,) = batches_of(seen, "ConsumerFunction")[0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == runner_stack.attribute("WorkQueue", "Arn")
    assert record["awsRegion"] == "eu-west-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in record["attributes"]
    assert record["messageAttributes"]["kind"]["stringValue"] == "test"
    assert record["md5OfBody"] and record["receiptHandle"] and record["messageId"]


def test_given_more_messages_than_batch_size_when_polled_then_batches_respect_batch_size(
    api_key: str, runner_stack: ProvisionedStack, sqs: Any, observations: Any
) -> None:
    # Given seven messages waiting before the runner starts
    queue = runner_stack.ref("BatchQueue")
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(7)])

    # When the runner polls with BatchSize 3
    with Runner(runner_stack.template, runner_stack, api_port=0, api_key=api_key):
        seen = observations(lambda seen: received_count(seen, "BatchFunction") >= 7)

    # Then no batch holds more than three, and all seven were delivered and deleted
    sizes = [len(batch) for batch in batches_of(seen, "BatchFunction")]
    assert max(sizes) == 3
    assert sum(sizes) == 7
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_given_raising_handler_when_batch_fails_then_nothing_is_deleted(
    api_key: str, runner_stack: ProvisionedStack, sqs: Any, observations: Any
) -> None:
    queue = runner_stack.ref("BrokenQueue")
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(2)])

    with Runner(runner_stack.template, runner_stack, api_port=0, api_key=api_key):
        observations(lambda seen: received_count(seen, "BrokenFunction") >= 2)

    redelivered = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=3)["Messages"]
    assert sorted(m["Body"] for m in redelivered) == ["0", "1"]


# --------------------------------------------------------------------------- schedules


def test_given_rate_schedule_when_sped_up_then_fires_scheduled_event(runner: Runner, observations: Any) -> None:
    seen = observations(lambda seen: any(o["function"] == FUNCTION_PREFIX + "ScheduledFunction" for o in seen))

    event = next(o["event"] for o in seen if o["function"] == FUNCTION_PREFIX + "ScheduledFunction")
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["detail"] == {}
    assert event["account"] == "123456789012"
    assert event["resources"][0].startswith("arn:aws:events:eu-west-1:123456789012:rule/")


def test_given_schedule_with_input_when_fired_then_handler_gets_the_input(
    api_key: str, runner_stack: ProvisionedStack, observations: Any
) -> None:
    runner = Runner(runner_stack.template, runner_stack, api_port=0, api_key=api_key)

    result = runner.fire_schedule("ScheduledFunction", "Nightly")

    assert result == {"observed": True}
    seen = observations(lambda seen: len(seen) >= 1)
    assert seen[0]["event"] == {"job": "nightly"}


def test_given_started_runner_when_stopped_then_its_threads_are_gone(
    api_key: str, runner_stack: ProvisionedStack
) -> None:
    runner = Runner(runner_stack.template, runner_stack, api_port=0, api_key=api_key, speedup=240)
    runner.start()
    url = runner.api_url
    started = time.monotonic()

    runner.stop()

    assert time.monotonic() - started < 3
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/items/1", headers={"x-api-key": api_key}, timeout=2)
