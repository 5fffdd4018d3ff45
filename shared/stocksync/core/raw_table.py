"""The table through the low-level API, for bulk paths that cannot afford a model object per record.

Reads come back as raw attribute-value dicts (`{"sku": {"S": "ABC-1"}}`) projected to the attributes
asked for; writes go out as raw request dicts. Everything goes through the models' own connection
(`db.Record`'s: same endpoint, region, pool and retries, botocore's parameter validation off), so a
failed transaction raises pynamodb's `TransactWriteError` exactly as `db.transaction()` does, and
`db.failed_conditions` reads it. Keys are still built by db.py's `keys()` functions, never here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from pynamodb.connection import Connection
from pynamodb.expressions.condition import Condition

from stocksync.core.chunks import batched
from stocksync.core.db import Record

BATCH_WRITE_ITEMS = 25  # BatchWriteItem's limit
BATCH_GET_KEYS = 100  # BatchGetItem's limit
_BATCH_ATTEMPTS = 10


def _connection() -> Connection:
    return Record._get_connection().connection


def query(key_condition: str, values: dict[str, Any], attributes: Sequence[str], *,
          index: str | None = None, filter_expression: str | None = None) -> Iterator[dict[str, Any]]:
    """Every item a Query finds, page after page, each with only `attributes` (those it has).

    `key_condition` (and `filter_expression`, whose values are in `values` too) name attributes as
    they are: use it with names that are not reserved words (PK, SK, GSI1PK, removed...). A page holds
    at most 1 MB of whole items, read before the filter and the projection: both make the pages
    smaller to send and parse, not fewer."""
    names = {f"#p{i}": name for i, name in enumerate(attributes)}
    arguments: dict[str, Any] = {
        "TableName": Record.Meta.table_name, "KeyConditionExpression": key_condition,
        "ExpressionAttributeValues": values, "ProjectionExpression": ", ".join(names),
        "ExpressionAttributeNames": names,
    }
    if index is not None:
        arguments["IndexName"] = index
    if filter_expression is not None:
        arguments["FilterExpression"] = filter_expression
    connection = _connection()
    while True:
        page = connection.dispatch("Query", arguments)
        yield from page.get("Items", ())
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def get_all(keys: Iterable[dict[str, Any]], attributes: Sequence[str]) -> Iterator[dict[str, Any]]:
    """The items with these keys (`{"PK": {"S": ...}, "SK": {"S": ...}}`) that exist, in no particular
    order, each with only `attributes`: eventually consistent BatchGetItems of 100, each asking again
    for what DynamoDB left unprocessed after a growing pause."""
    table = Record.Meta.table_name
    names = {f"#p{i}": name for i, name in enumerate(attributes)}
    connection = _connection()
    for batch in batched(keys, BATCH_GET_KEYS):
        request: dict[str, Any] = {"Keys": batch, "ProjectionExpression": ", ".join(names),
                                   "ExpressionAttributeNames": names}
        for attempt in range(_BATCH_ATTEMPTS):
            answer = connection.dispatch("BatchGetItem", {"RequestItems": {table: request}})
            yield from answer.get("Responses", {}).get(table, ())
            left = answer.get("UnprocessedKeys", {}).get(table)
            if not left:
                break
            request = left
            time.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise RuntimeError(f"DynamoDB left {len(request['Keys'])} keys unprocessed after "
                               f"{_BATCH_ATTEMPTS} BatchGetItem requests")


def index_partition(index: str, partition: str, sort_prefix: str,
                    attributes: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Every item of an index's partition whose sort key starts with `sort_prefix`, with `attributes`
    (an index of keys only holds the table's and its own keys). Indexes are named GSI<n>, their keys
    GSI<n>PK and GSI<n>SK."""
    return query(f"{index}PK = :pk AND begins_with({index}SK, :prefix)",
                 {":pk": {"S": partition}, ":prefix": {"S": sort_prefix}}, attributes, index=index)


def plain(value: dict[str, Any] | None) -> Any:
    """A scalar attribute value (S, N, BOOL or NULL) as pynamodb reads it; None when absent."""
    if value is None or "NULL" in value:
        return None
    if "S" in value:
        return value["S"]
    if "N" in value:
        return json.loads(value["N"])
    return value["BOOL"]


def update_request(record: Record, actions: list[Any], condition: Condition | None = None) -> dict[str, Any]:
    """The raw Update that `db.transaction().update(record, actions, condition)` would send (for records
    without a version attribute: no version condition is added)."""
    return record.get_update_kwargs_from_instance(actions=actions, condition=condition)


def transact_updates(updates: list[dict[str, Any]]) -> None:
    """One TransactWriteItems of raw Update requests (at most 100): all of them or none."""
    _connection().transact_write_items(condition_check_items=[], delete_items=[], put_items=[],
                                       update_items=updates)


def put_all(items: Iterable[dict[str, Any]]) -> None:
    """Put raw items (as `Record.serialize()` makes them), BatchWriteItems of 25, each request sending
    again what DynamoDB left unprocessed (throttled, or over a partition's capacity) after a growing
    pause. Raises when some are still unprocessed after 10 requests. Puts replace whole items and take
    no condition: for items that are new, or whose every attribute the caller owns."""
    table = Record.Meta.table_name
    connection = _connection()
    for batch in batched(items, BATCH_WRITE_ITEMS):
        requests = [{"PutRequest": {"Item": item}} for item in batch]
        for attempt in range(_BATCH_ATTEMPTS):
            answer = connection.dispatch("BatchWriteItem", {"RequestItems": {table: requests}})
            requests = answer.get("UnprocessedItems", {}).get(table, [])
            if not requests:
                break
            time.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise RuntimeError(f"DynamoDB left {len(requests)} items unprocessed after "
                               f"{_BATCH_ATTEMPTS} BatchWriteItem requests")
