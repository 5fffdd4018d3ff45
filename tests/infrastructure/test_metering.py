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


def test_given_an_invocation_waiting_on_channels_in_parallel_then_it_lasts_its_slowest_chain_at_aws_latency():
    from bench.metering import AWS_REQUEST_S, CHANNEL_CALL_S, LAMBDA_VCPU_MB, _Strand, aws_duration

    def strand(cpu_s: float, aws: int = 0, channel: int = 0) -> _Strand:
        made = _Strand()
        made.cpu_s, made.calls["aws"], made.calls["channel"] = cpu_s, aws, channel
        return made

    root = strand(0.2, aws=10)
    root.pools.append({1: strand(0.1, aws=2, channel=4), 2: strand(0.05, channel=1)})  # the channels at once
    root.pools.append({3: strand(0.0, aws=3), 4: strand(0.0, aws=5)})  # the writers

    assert aws_duration(root, LAMBDA_VCPU_MB) == pytest.approx(
        0.2 + 10 * AWS_REQUEST_S + (0.1 + 2 * AWS_REQUEST_S + 4 * CHANNEL_CALL_S) + 5 * AWS_REQUEST_S)
    # A quarter of a vCPU: CPU takes four times as long, the waits no longer.
    assert aws_duration(root, LAMBDA_VCPU_MB // 4) == pytest.approx(
        4 * 0.2 + 10 * AWS_REQUEST_S + (4 * 0.1 + 2 * AWS_REQUEST_S + 4 * CHANNEL_CALL_S) + 5 * AWS_REQUEST_S, rel=1e-3)
    busy = strand(1.0)
    busy.pools.append({1: strand(1.0), 2: strand(1.0)})
    assert aws_duration(busy, LAMBDA_VCPU_MB) == pytest.approx(3.0)  # one GIL: CPU never overlaps


def test_given_a_handler_using_a_thread_pool_when_invoked_then_each_worker_is_a_strand_of_it() -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from bench import metering

    metering.install()
    root = metering._Strand()
    metering._here.strand = root
    both_running = threading.Barrier(2, timeout=10)
    try:
        def spin() -> None:
            both_running.wait()
            until = time.thread_time() + 0.05
            while time.thread_time() < until:
                pass
            metering._called("channel")

        with ThreadPoolExecutor(max_workers=2) as pool:
            for done in [pool.submit(spin) for _ in range(2)]:
                done.result()
    finally:
        metering._here.strand = None

    (workers,) = root.pools
    assert len(workers) == 2
    assert all(worker.calls["channel"] == 1 and worker.cpu_s >= 0.05 for worker in workers.values())
