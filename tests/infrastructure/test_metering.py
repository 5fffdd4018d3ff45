"""The bench's meter charges DynamoDB capacity as DynamoDB bills it (bench/metering.py)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from bench.metering import Usage, item_size, measuring


def _table(dynamodb: Any, *, index: bool = False) -> None:
    keys = ["PK", "SK"] + (["GSI1PK", "GSI1SK"] if index else [])
    dynamodb.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
        **({"GlobalSecondaryIndexes": [{
            "IndexName": "GSI1", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                          {"AttributeName": "GSI1SK", "KeyType": "RANGE"}]}]} if index else {}))


def _item(sk: str, payload_bytes: int, **more: str) -> dict[str, Any]:
    return {"PK": {"S": "p"}, "SK": {"S": sk}, "data": {"S": "x" * payload_bytes},
            **{name: {"S": value} for name, value in more.items()}}


@pytest.fixture
def dynamodb(aws: str) -> Any:
    client = boto3.client("dynamodb", endpoint_url=aws)
    yield client


def test_given_attributes_of_every_kind_when_sized_then_names_and_values_count_as_dynamodb_bills_them() -> None:
    attributes = {"PK": {"S": "ab"}, "n": {"N": "-0123.40"}, "flag": {"BOOL": True}, "l": {"L": [{"S": "x"}]},
                  "m": {"M": {"k": {"NULL": True}}}}

    # PK 2 + 2; n 1 + (4 significant digits / 2 + 1); flag 4 + 1; l 1 + 3 + (1 + 1); m 1 + 3 + (1 + 1 + 1)
    assert item_size(attributes) == 4 + 4 + 5 + 6 + 7


def test_given_items_filtered_out_when_queried_then_every_item_evaluated_is_charged_per_4_kb_page(
        dynamodb: Any) -> None:
    _table(dynamodb)
    for n in range(3):
        dynamodb.put_item(TableName="t", Item=_item(f"s{n}", 1500))

    with measuring(Usage()) as consistent:
        found = dynamodb.query(TableName="t", KeyConditionExpression="PK = :p", ConsistentRead=True,
                               FilterExpression="SK = :none",
                               ExpressionAttributeValues={":p": {"S": "p"}, ":none": {"S": "none"}})
    with measuring(Usage()) as eventual:
        dynamodb.query(TableName="t", KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                       ProjectionExpression="PK")

    assert found["Items"] == []
    assert consistent.rru == 2  # 3 x ~1.5 KB evaluated = 2 x 4 KB, though nothing came back
    assert eventual.rru == 1  # the same page, eventually consistent and projected: still every byte evaluated


def test_given_a_write_in_a_transaction_then_it_costs_twice_a_plain_one(dynamodb: Any) -> None:
    _table(dynamodb)

    with measuring(Usage()) as plain:
        dynamodb.put_item(TableName="t", Item=_item("a", 1500))
    with measuring(Usage()) as transaction:
        dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": _item("b", 1500)}}])
    with measuring(Usage()) as refused, pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(TableName="t", Item=_item("a", 100), ConditionExpression="attribute_not_exists(PK)")

    assert plain.wru == 2  # ~1.5 KB: two 1 KB units
    assert transaction.wru == 4
    assert refused.wru == 2  # a failed condition is charged, on the larger of the stored and the new item


def test_given_a_gsi_when_its_key_changes_then_the_index_writes_a_delete_and_a_put(dynamodb: Any) -> None:
    _table(dynamodb, index=True)

    with measuring(Usage()) as created:
        dynamodb.put_item(TableName="t", Item=_item("a", 100, GSI1PK="g", GSI1SK="1"))
    with measuring(Usage()) as moved:
        dynamodb.update_item(TableName="t", Key={"PK": {"S": "p"}, "SK": {"S": "a"}},
                             UpdateExpression="SET GSI1SK = :two", ExpressionAttributeValues={":two": {"S": "2"}})
    with measuring(Usage()) as elsewhere:
        dynamodb.put_item(TableName="t", Item=_item("b", 100))

    assert created.wru == 1 + 1  # the item and its index entry
    assert moved.wru == 1 + 2  # the item, the old entry deleted and the new one put
    assert elsewhere.wru == 1  # no index key: no index write


def test_given_an_invocation_mostly_waiting_on_moto_when_priced_then_its_duration_is_aws_latency_not_moto_time():
    from collections import Counter

    from bench.metering import AWS_REQUEST_S, CHANNEL_CALL_S, aws_duration

    waited = Counter({"aws": 9.0, "channel": 0.4})
    calls = Counter({"aws": 100, "channel": 2})

    assert aws_duration(10.0, waited, calls) == pytest.approx(0.6 + 100 * AWS_REQUEST_S + 2 * CHANNEL_CALL_S)
    assert aws_duration(0.5, Counter({"aws": 0.4}), Counter({"aws": 500})) == 0.5  # never longer than here
