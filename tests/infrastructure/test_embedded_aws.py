"""The embedded AWS keeps DynamoDB's transaction guarantees while saving only what a transaction
touches, and runs in a process of its own for the local stack."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from infrastructure.local.embedded_aws import EmbeddedAwsProcess


def _dynamodb(endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-1")


def _table(dynamodb: Any, name: str, *, sort_key: bool) -> None:
    keys = [("PK", "HASH")] + ([("SK", "RANGE")] if sort_key else [])
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": key, "KeyType": kind} for key, kind in keys],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key, _ in keys])


def _key(pk: str, sk: str | None) -> dict[str, Any]:
    return {"PK": {"S": pk}} | ({"SK": {"S": sk}} if sk is not None else {})


def _everything(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    return sorted(dynamodb.scan(TableName=table, ConsistentRead=True)["Items"], key=repr)


@pytest.mark.parametrize("sort_key", [True, False], ids=["with sort key", "hash key only"])
def test_given_a_transaction_cancelled_by_its_last_condition_then_nothing_it_wrote_remains(
        aws: str, sort_key: bool) -> None:
    dynamodb = _dynamodb(aws)
    _table(dynamodb, "t", sort_key=sort_key)
    sk = "s" if sort_key else None
    for pk, level in (("kept", 5), ("deleted", 7), ("guard", 1)):
        dynamodb.put_item(TableName="t", Item=_key(pk, sk) | {"level": {"N": str(level)}})
    before = _everything(dynamodb, "t")

    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": _key("new", sk) | {"level": {"N": "3"}}}},
            {"Update": {"TableName": "t", "Key": _key("kept", sk), "UpdateExpression": "ADD #l :one",
                        "ExpressionAttributeNames": {"#l": "level"},
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Delete": {"TableName": "t", "Key": _key("deleted", sk)}},
            {"ConditionCheck": {"TableName": "t", "Key": _key("guard", sk), "ConditionExpression": "#l > :two",
                                "ExpressionAttributeNames": {"#l": "level"},
                                "ExpressionAttributeValues": {":two": {"N": "2"}}}},
        ])

    assert _everything(dynamodb, "t") == before


def test_given_a_transaction_whose_conditions_hold_then_all_of_it_is_applied(aws: str) -> None:
    dynamodb = _dynamodb(aws)
    _table(dynamodb, "t", sort_key=True)
    dynamodb.put_item(TableName="t", Item=_key("kept", "s") | {"level": {"N": "5"}})

    dynamodb.transact_write_items(TransactItems=[
        {"Put": {"TableName": "t", "Item": _key("new", "s"), "ConditionExpression": "attribute_not_exists(PK)"}},
        {"Update": {"TableName": "t", "Key": _key("kept", "s"), "UpdateExpression": "ADD #l :one",
                    "ExpressionAttributeNames": {"#l": "level"}, "ExpressionAttributeValues": {":one": {"N": "1"}}}},
    ])

    assert _everything(dynamodb, "t") == sorted(
        [_key("new", "s"), _key("kept", "s") | {"level": {"N": "6"}}], key=repr)


def test_given_its_own_process_when_started_then_it_serves_until_stopped() -> None:
    embedded = EmbeddedAwsProcess()
    try:
        sqs = boto3.client("sqs", endpoint_url=embedded.endpoint, region_name="eu-west-1")
        url = sqs.create_queue(QueueName="orders")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="sold")

        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["sold"]
    finally:
        embedded.stop()

    with pytest.raises(requests.ConnectionError):
        requests.get(embedded.endpoint, timeout=5)
