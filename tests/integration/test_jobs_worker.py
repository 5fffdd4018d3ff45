"""The jobs worker runs queued jobs by kind. A job that fails for good is failed at once and not retried;
a transient failure goes back to the queue after a back-off, and fails its job on the last receive."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from infrastructure.local.template import load_handler, load_template
from stocksync.api.context import services
from stocksync.channels.base import ChannelUnavailable
from stocksync.core import messages
from stocksync.core.messages import INGEST_MAX_RECEIVES, JOBS_MAX_RECEIVES, MAPPING_MAX_RECEIVES, JobMessage
from stocksync.core.settings import JobsWorkerSettings
from stocksync.wiring import wiring

RAN: list[str] = []


def record_run(message: JobMessage) -> None:
    if message.payload.get("fail"):
        raise RuntimeError("the channel said no")
    if message.payload.get("unavailable"):
        raise ChannelUnavailable("the channel answered 503")
    RAN.append(message.job_id)
    services().jobs.finish(message.job_id, succeeded=True, result={"ran": True})


@pytest.fixture
def worker(stack, monkeypatch):
    handlers = wiring(JobsWorkerSettings).job_handlers
    monkeypatch.setitem(handlers, "test_kind", lambda message, time_left: record_run(message))
    RAN.clear()
    return load_handler(load_template(), "JobsWorkerFunction")


def _event(*messages: JobMessage, receive_count: int = 1) -> dict:
    return {"Records": [
        {"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": message.model_dump_json(),
         "attributes": {"ApproximateReceiveCount": str(receive_count)},
         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
         "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:jobs", "awsRegion": "eu-west-1"}
        for i, message in enumerate(messages)
    ]}


class _Context:
    function_name = "JobsWorkerFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:JobsWorkerFunction"
    aws_request_id = "req"


class _Sqs:
    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    def change_message_visibility(self, *, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> None:  # noqa: N803
        self.asked.append((ReceiptHandle, VisibilityTimeout))


@pytest.fixture
def backoffs(monkeypatch):
    """The visibility changes the worker asks SQS for: (receipt handle, seconds)."""
    sqs = _Sqs()
    monkeypatch.setattr(messages, "client", lambda name: sqs)
    return sqs.asked


def test_given_two_jobs_when_one_fails_for_good_then_it_is_failed_at_once_and_not_retried(worker, backoffs):
    good = services().jobs.create("test_kind", subject="s", job_id="good")
    bad = services().jobs.create("test_kind", subject="s", job_id="bad")

    result = worker(_event(JobMessage(job_id=good.job_id, kind="test_kind"),
                           JobMessage(job_id=bad.job_id, kind="test_kind", payload={"fail": True})), _Context())

    assert result == {"batchItemFailures": []}  # a bug fails the same way every time: SQS deletes it
    assert RAN == ["good"] and backoffs == []
    assert services().jobs.get("good").status == "succeeded"
    failed = services().jobs.get("bad")
    assert (failed.status, failed.message) == ("failed", "RuntimeError: the channel said no")


def test_given_a_job_of_unknown_kind_when_run_then_it_fails_at_once_saying_so(worker, backoffs):
    services().jobs.create("nobody_knows", subject="s", job_id="x")

    result = worker(_event(JobMessage(job_id="x", kind="nobody_knows")), _Context())

    assert result == {"batchItemFailures": []} and backoffs == []
    job = services().jobs.get("x")
    assert job.status == "failed" and "nobody_knows" in job.message


def test_given_an_unreadable_jobs_message_when_run_then_it_is_dropped_not_retried(worker):
    event = _event(JobMessage(job_id="x", kind="test_kind"))
    event["Records"][0]["body"] = "{not json"
    assert worker(event, _Context()) == {"batchItemFailures": []}


def test_given_a_channel_unavailable_when_run_then_the_job_backs_off_and_fails_only_on_the_last_receive(
        worker, backoffs):
    services().jobs.create("test_kind", subject="s", job_id="flaky")
    services().jobs.start("flaky")
    message = JobMessage(job_id="flaky", kind="test_kind", payload={"unavailable": True})

    for receive in (1, 2):  # the only record of its batch failed: Lambda returns it to the queue
        with pytest.raises(BatchProcessingError):
            worker(_event(message, receive_count=receive), _Context())

    assert backoffs == [("r0", 30), ("r0", 60)]  # far sooner than the queue's 5,400 s visibility
    assert services().jobs.get("flaky").status == "running"

    with pytest.raises(BatchProcessingError):  # the last receive: on to the dead-letter queue
        worker(_event(message, receive_count=JOBS_MAX_RECEIVES), _Context())
    job = services().jobs.get("flaky")
    assert job.status == "failed" and "503" in job.message and len(backoffs) == 2


@pytest.mark.parametrize(("queue", "max_receives"), [("IngestQueue", INGEST_MAX_RECEIVES),
                                                      ("JobsQueue", JOBS_MAX_RECEIVES),
                                                      ("MappingQueue", MAPPING_MAX_RECEIVES)])
def test_the_last_receive_the_code_knows_is_the_queues_max_receive_count(queue, max_receives):
    properties = load_template().resources[queue]["Properties"]
    assert properties["RedrivePolicy"]["maxReceiveCount"] == max_receives


def _client_error(code: str, status: int = 400) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "PutItem")


@pytest.mark.parametrize(("error", "transient"), [
    (ChannelUnavailable("503"), True),
    (TimeoutError("slow"), True),
    (ConnectionResetError("reset"), True),
    (_client_error("ThrottlingException"), True),
    (_client_error("ProvisionedThroughputExceededException"), True),
    (_client_error("Whatever", 503), True),
    (_client_error("ValidationException"), False),  # a refused request: the same message fails again
    (_client_error("AccessDenied", 403), False),
    (RuntimeError("a bug"), False),
    (KeyError("a bug"), False),
    (ValueError("bad input"), False),
])
def test_a_failure_is_transient_only_when_trying_again_later_may_help(error, transient):
    assert messages.is_transient(error) is transient


def test_a_failure_wrapping_a_timeout_is_transient_unless_a_channel_error_says_otherwise():
    from stocksync.core.errors import ChannelError

    try:
        try:
            raise TimeoutError("read timed out")
        except TimeoutError as exc:
            raise RuntimeError("while fetching the report") from exc
    except RuntimeError as wrapped:
        assert messages.is_transient(wrapped)
    try:
        try:
            raise TimeoutError("read timed out")
        except TimeoutError as exc:
            raise ChannelError("the channel refused the request") from exc
    except ChannelError as refused:
        assert not messages.is_transient(refused)
