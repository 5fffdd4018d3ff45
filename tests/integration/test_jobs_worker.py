"""The jobs worker runs queued jobs by kind; a failing job goes back to the queue, others go on."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from infrastructure.local.template import load_handler, load_template
from stocksync.api.context import services
from stocksync.core.messages import JobMessage
from stocksync.core.settings import JobsWorkerSettings
from stocksync.wiring import wiring

RAN: list[str] = []


def record_run(message: JobMessage) -> None:
    if message.payload.get("fail"):
        raise RuntimeError("the channel said no")
    RAN.append(message.job_id)
    services().jobs.finish(message.job_id, succeeded=True, result={"ran": True})


@pytest.fixture
def worker(stack, monkeypatch):
    handlers = wiring(JobsWorkerSettings).job_handlers
    monkeypatch.setitem(handlers, "test_kind", lambda message, time_left: record_run(message))
    RAN.clear()
    return load_handler(load_template(), "JobsWorkerFunction")


def _event(*messages: JobMessage) -> dict:
    return {"Records": [
        {"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": message.model_dump_json(), "attributes": {},
         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
         "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:jobs", "awsRegion": "eu-west-1"}
        for i, message in enumerate(messages)
    ]}


class _Context:
    function_name = "JobsWorkerFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:JobsWorkerFunction"
    aws_request_id = "req"


def test_given_two_jobs_when_one_fails_then_only_it_is_returned_to_the_queue(worker):
    good = services().jobs.create("test_kind", subject="s", job_id="good")
    bad = services().jobs.create("test_kind", subject="s", job_id="bad")

    result = worker(_event(JobMessage(job_id=good.job_id, kind="test_kind"),
                           JobMessage(job_id=bad.job_id, kind="test_kind", payload={"fail": True})), _Context())

    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert RAN == ["good"]
    assert services().jobs.get("good").status == "succeeded"


def test_given_only_a_job_of_unknown_kind_when_run_then_the_whole_batch_fails_back_to_the_queue(worker):
    with pytest.raises(BatchProcessingError):
        worker(_event(JobMessage(job_id="x", kind="nobody_knows")), _Context())
