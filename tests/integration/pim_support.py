"""Helpers of the PIM integration tests: the Akeneo stand-in, the connection, the jobs worker."""

from __future__ import annotations

import json
from typing import Any

import boto3

from infrastructure.local.template import load_handler, load_template
from infrastructure.standins.akeneo import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, AkeneoStandIn

TOKEN_PATH = "/api/oauth/v1/token"


def connection_body(url: str, **overrides: str) -> dict[str, Any]:
    return {"url": url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "username": USERNAME,
            "password": PASSWORD, **overrides}


def full_profile(channel_id: str, **overrides: Any) -> dict[str, Any]:
    """A profile using every mapping target and product setting."""
    return {
        "name": "Everything", "scope": "ecommerce", "locale": "en_US", "categories": [],
        "price_mappings": [
            {"attribute": "price", "target": "retail_price", "currency": "EUR"},
            {"attribute": "cost", "target": "purchase_price", "currency": "EUR"},
            {"attribute": "price", "target": "channel", "channel_id": channel_id, "currency": "USD"},
        ],
        "title_mappings": [
            {"attribute": "name", "target": "item_title"},
            {"attribute": "marketplace_title", "target": "channel", "channel_id": channel_id},
        ],
        "description_mappings": [
            {"attribute": "description", "target": "metadata"},
            {"attribute": "short_description", "target": "channel", "channel_id": channel_id},
        ],
        "product_settings": {
            "product_creation": True, "upload_images": True, "main_image_attribute": "main_image",
            "barcode_attribute": "ean",
            "width": {"attribute": "width", "unit": "CENTIMETER"},
            "height": {"attribute": "height", "unit": "CENTIMETER"},
            "depth": {"attribute": "depth", "unit": "MILLIMETER"},
            "weight": {"attribute": "weight", "unit": "KILOGRAM"},
        },
        "extended_properties": {"map_all_attributes": True, "prefix": "akeneo_"},
        **overrides,
    }


def contract_violations(standin: AkeneoStandIn) -> list[str]:
    """Violations of the Akeneo document, less two gaps of the published document itself:
    - it lists no 429 on reads, though Akeneo answers 429 (with Retry-After) when overloaded;
    - its token request schema requires username and password for every grant, while the
      refresh_token grant (Akeneo's authentication guide, "Refresh an expired token") sends neither."""
    found = []
    for exchange in standin.exchanges:
        if not exchange.path.startswith("/api/"):
            continue  # a wrong URL the test gave on purpose: not a call to Akeneo's API
        for violation in exchange.violations:
            if exchange.status == 429 and "Unknown response http status: 429" in violation:
                continue
            refresh = exchange.path == TOKEN_PATH and (exchange.json() or {}).get("grant_type") == "refresh_token"
            if refresh and violation.startswith("request:") and "is a required property" in violation:
                continue
            if exchange.status == 200 and violation.startswith("response 200") and _only_value_data_gap(
                    standin, exchange):
                continue
            found.append(f"{exchange.method} {exchange.path}: {violation}")
    return found


def _only_value_data_gap(standin: AkeneoStandIn, exchange: Any) -> bool:
    """The document declares a product value's `data` as an object, while its own examples (and
    Akeneo) give strings, numbers, booleans and lists. True when the response is valid once every
    such `data` is wrapped in an object: that gap of the document was its only violation."""
    from openapi_core.exceptions import OpenAPIError
    from openapi_core.testing import MockRequest, MockResponse

    body = json.loads(exchange.response_body)
    for product in (body.get("_embedded") or {}).get("items") or []:
        for values in (product.get("values") or {}).values():
            for value in values:
                if not isinstance(value.get("data"), dict):
                    value["data"] = {"wrapped": value.get("data")}
    contract = standin.contract
    request = MockRequest(contract.host, "get", exchange.path, args={k: v[-1] for k, v in exchange.query.items()})
    try:
        contract.api.validate_response(request, MockResponse(json.dumps(body).encode(), status_code=200,
                                                             content_type="application/json"))
    except OpenAPIError:
        return False
    return True


class WorkerContext:
    function_name = "JobsWorkerFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:JobsWorkerFunction"
    aws_request_id = "req"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


class JobsWorker:
    """Plays the jobs queue's event source: receives what is queued and hands it to the worker."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        self.handler = load_handler(load_template(), "JobsWorkerFunction")
        self.sqs = boto3.client("sqs")
        self.invocations = 0

    def drain(self, limit: int = 20) -> int:
        for _ in range(limit):
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=0,
                                           AttributeNames=["All"])
            messages = got.get("Messages", [])
            if not messages:
                return self.invocations
            message = messages[0]
            event = {"Records": [{"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                                  "body": message["Body"], "attributes": {}, "messageAttributes": {},
                                  "md5OfBody": "", "eventSource": "aws:sqs",
                                  "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:jobs",
                                  "awsRegion": "eu-west-1"}]}
            result = self.handler(event, WorkerContext())
            assert result == {"batchItemFailures": []}, result
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            self.invocations += 1
        raise AssertionError("the jobs queue never emptied")

    def pending(self) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       VisibilityTimeout=0)
        return [json.loads(message["Body"]) for message in got.get("Messages", [])]
