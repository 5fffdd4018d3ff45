"""Handlers on the embedded AWS, with every resource created from template.yaml."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from embedded_aws_support import EmbeddedAws

from infrastructure.local.embedded_aws import reset_services
from infrastructure.local.provision import ProvisionedStack, provision, reprovision
from infrastructure.local.template import load_handler, load_template
from stocksync.wiring import wiring

EVENTS = Path(__file__).parent.parent / "events"


@cache
def _template():
    return load_template()


@cache
def _api_handler():
    return load_handler(_template(), "ApiFunction")


# What a test changes on the embedded AWS: these services are emptied before each test and their
# resources created again; the rest (alarms, log groups, the key, the user pool) stays as the session's
# first provisioning made it, unless a test emptied the embedded AWS whole (the `aws` fixture).
DATA_SERVICES = ("dynamodb", "sqs", "s3", "secretsmanager", "ssm")
DATA_RESOURCE_TYPES = frozenset({"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SQS::QueuePolicy",
                                 "AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::SecretsManager::Secret"})


class FreshStacks:
    """A stack provisioned from template.yaml for each test, its data stores empty."""

    def __init__(self, embedded_aws: EmbeddedAws) -> None:
        self.embedded_aws = embedded_aws
        self.whole: ProvisionedStack | None = None
        self.provisioned_after_reset = -1

    def next(self) -> ProvisionedStack:
        if self.whole is None or self.embedded_aws.resets != self.provisioned_after_reset:
            self.embedded_aws.reset()
            self.whole = provision(_template())
            self.provisioned_after_reset = self.embedded_aws.resets
            return self.whole
        reset_services(DATA_SERVICES)
        return reprovision(self.whole, DATA_RESOURCE_TYPES)


@pytest.fixture(scope="session")
def fresh_stacks(embedded_aws: EmbeddedAws) -> FreshStacks:
    return FreshStacks(embedded_aws)


@pytest.fixture
def stack(fresh_stacks: FreshStacks, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProvisionedStack]:
    provisioned = fresh_stacks.next()
    for name, value in provisioned.environment.items():
        monkeypatch.setenv(name, value)
    wiring.cache_clear()
    yield provisioned
    wiring.cache_clear()


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


class Api:
    """Calls the API function's handler with API Gateway REST proxy events, as API Gateway would."""

    def __init__(self) -> None:
        self.handler = _api_handler()
        self.sample = json.loads((EVENTS / "apigw_rest_proxy.json").read_text())

    def call(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
             raw_body: str | None = None) -> Answer:
        event = copy.deepcopy(self.sample)
        event.update(httpMethod=method, path=path, pathParameters={"proxy": path.lstrip("/")})
        event["requestContext"].update(httpMethod=method, path=f"/v1{path}", requestId=str(uuid.uuid4()))
        if query:
            event["queryStringParameters"] = query
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
        event["body"] = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
        response = self.handler(event, _Context())
        headers = dict(response.get("headers") or {})
        headers.update({name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()})
        text = response.get("body") or ""
        parsed = json.loads(text) if text and "json" in headers.get("Content-Type", "") else text
        return Answer(response["statusCode"], parsed, headers)

    def get(self, path: str, **query: str) -> Answer:
        return self.call("GET", path, query=query or None)

    def post(self, path: str, body: Any = None) -> Answer:
        return self.call("POST", path, body)

    def put(self, path: str, body: Any = None) -> Answer:
        return self.call("PUT", path, body)

    def patch(self, path: str, body: Any = None) -> Answer:
        return self.call("PATCH", path, body)

    def delete(self, path: str) -> Answer:
        return self.call("DELETE", path)


class _Context:
    function_name = "ApiFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:ApiFunction"
    aws_request_id = "test-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


@pytest.fixture
def api(stack: ProvisionedStack) -> Api:
    return Api()


@pytest.fixture
def stock_messages(stack: ProvisionedStack):
    """Reads what the API put on the stock queue."""
    import boto3

    sqs = boto3.client("sqs")
    url = stack.ref("StockQueue")

    def drain() -> list[dict[str, Any]]:
        bodies: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return drain


# --- a web shop (our generic contract) on its stand-in, for the stock sync tests ---------------------


@pytest.fixture
def website():
    """The web-shop stand-in; a module that needs other listings overrides it."""
    from infrastructure.standins.generic import GenericStandIn

    with GenericStandIn() as standin:
        yield standin


@pytest.fixture
def shop(api: Api, website: Any) -> str:
    """A web-shop channel on `website`; its channel id."""
    from stock_sync_support import generic_channel

    return generic_channel(api, website)


@pytest.fixture
def fast_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every StockSubmitter built from now on (the jobs build their own) gets adapters that never
    sleep between retries."""
    from stock_sync_support import fast_adapter_factory

    from stocksync.stock_sync.submitter import StockSubmitter

    original = StockSubmitter.__init__

    def init(self: Any, credentials: Any, **kwargs: Any) -> None:
        original(self, credentials, **{**kwargs, "adapter_factory": fast_adapter_factory()})

    monkeypatch.setattr(StockSubmitter, "__init__", init)
