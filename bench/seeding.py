"""Seeding a benchmark's table fast: records built and serialised by our pynamodb models (so they
have the shapes and sizes the code writes), copied with their own keys and values, and put straight
into the embedded AWS's DynamoDB backend (moto, in the benchmark's own process). Not measured.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any


def moto_table(table_name: str) -> Any:
    """The moto Table object behind `table_name` (the embedded AWS runs in this process)."""
    from moto.dynamodb.models import dynamodb_backends

    from infrastructure.template import ACCOUNT_ID

    return dynamodb_backends[ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]].get_table(table_name)


def put_records(table: Any, records: Iterable[dict[str, Any]]) -> int:
    """Put serialised records (`Model.serialize()` shapes) into the moto table; returns how many."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    count = 0
    for attributes in records:
        item = Item.__new__(Item)
        item.hash_key, item.range_key = DynamoType(attributes["PK"]), DynamoType(attributes["SK"])
        item.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        for name, value in attributes.items():
            dict.__setitem__(item.attrs, name, DynamoType(value))
        table.items[item.hash_key][item.range_key] = item
        count += 1
    return count


def like(template: dict[str, Any], **values: Any) -> dict[str, Any]:
    """A copy of a serialised record with some attributes replaced (str -> S, int/float -> N)."""
    replaced = {name: {"N": str(value)} if isinstance(value, int | float) and not isinstance(value, bool)
                else {"S": value} for name, value in values.items()}
    return template | replaced


def stocked_items(n: int, location_id: str, level: int, *, sku_format: str = "SKU-{:06d}") -> Iterable[
        tuple[str, str, list[dict[str, Any]]]]:
    """n items with `level` units at `location_id`: (item id, SKU, their records: item, SKU claim, level)."""
    from stocksync.core import db
    from stocksync.core.db import ItemRecord, StockLevelRecord, UniqueClaim
    from stocksync.inventory.items import SKU_CLAIM
    from stocksync.inventory.rules import normalize_sku, search_text

    item0 = ItemRecord(**ItemRecord.keys("x", "x"), item_id="x", sku="x", sku_key="x", title="x", search_text="x",
                       retail_price=9.99, version=1).serialize()
    claim0 = UniqueClaim(**UniqueClaim.keys(SKU_CLAIM, "x"), owner_id="x").serialize()
    level0 = StockLevelRecord(**StockLevelRecord.keys("x", location_id), item_id="x", location_id=location_id,
                              level=level, version=1).serialize()
    for i in range(n):
        sku = sku_format.format(i)
        key, item_id = normalize_sku(sku), db.new_id()
        title = f"Product number {i}"
        yield item_id, sku, [
            like(item0, **ItemRecord.keys(item_id, key), item_id=item_id, sku=sku, sku_key=key, title=title,
                 search_text=search_text(sku, title)),
            like(claim0, **UniqueClaim.keys(SKU_CLAIM, key), owner_id=item_id),
            like(level0, **StockLevelRecord.keys(item_id, location_id), item_id=item_id),
        ]


def linked_listing(channel_id: str, sku: str, item_id: str, **fields: Any) -> dict[str, Any]:
    """One listing of the channel linked to the item, serialised (a model-built record, not a copy)."""
    from stocksync.core.db import ListingRecord
    from stocksync.inventory.rules import normalize_sku

    key = normalize_sku(sku)
    return ListingRecord(**ListingRecord.keys(channel_id, key, sku, item_id), channel_id=channel_id, sku=sku,
                         sku_key=key, linked_item_id=item_id, title=sku, **fields).serialize()


def linked_listings(channel_id: str, items: Iterable[tuple[str, str]], **fields: Any) -> Iterable[dict[str, Any]]:
    """A linked listing per (item id, SKU), copies of one model-built record."""
    from stocksync.core.db import ListingRecord
    from stocksync.inventory.rules import normalize_sku

    template: dict[str, Any] | None = None
    for item_id, sku in items:
        if template is None:
            template = linked_listing(channel_id, sku, item_id, **fields)
        key = normalize_sku(sku)
        yield like(template, **ListingRecord.keys(channel_id, key, sku, item_id), sku=sku, sku_key=key, title=sku,
                   linked_item_id=item_id)


def make_moto_quicker() -> None:  # noqa: PLR0915 - one patch set, kept together
    """Harness only, for this process's moto (before it starts): the same answers, less of moto's own CPU.

    - String key comparisons (DynamoType ==, !=, <) compare the strings directly, as moto's own code
      ends up doing for type S; every other type goes through moto's code.
    - Projections of top-level attributes (`attributes_to_get`) copy those attributes instead of
      turning the whole item into JSON and back once per attribute.
    - `Table.all_items` (which moto sorts for every Query page) sorts by the key strings when every
      key is a string: the same order, without a Python-level comparison per pair.
    - TransactWriteItems made only of UpdateItems that SET and ADD top-level attributes from
      ExpressionAttributeValues, on existing items, with distinct keys: conditions evaluated by moto's
      own condition parser (parsed once per expression, names and values), all of them before anything
      is applied; any failing condition cancels the whole transaction with moto's cancellation reasons.
      Any other transaction goes through the embedded AWS's own (moto, saving and restoring only the
      records it touches: infrastructure/embedded_aws.py). Such all-Update transactions
      skip the handler's re-parsing of every expression (a syntax check; the backend parses them).
      Their updates' values go into the item without moto re-measuring the whole item per attribute.
    - Query, forward, without Limit, on string keys (the table's, or an index projecting ALL): the
      partition's items (or the index's entries) sorted by key strings, started after
      ExclusiveStartKey by bisection, cut at moto's 1 MB of whole items, then filtered and projected
      as moto does. Anything else goes through moto's own Query.
    - Query and BatchGetItem answers are JSON-dumped directly (moto's serializer walks the output
      shape per value); one it cannot dump (bytes, a timestamp) goes through moto's serializer.
    - (stock sync) The simple transactions may also REMOVE top-level attributes, and the quick Query
      also serves a Limit (items evaluated, before the filter, as DynamoDB counts them).
    - The server keeps connections alive (HTTP/1.1), as DynamoDB's endpoint does.
    """
    from moto.core.responses import ActionResult
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import TransactionCanceledException
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords
    from moto.dynamodb.responses import DynamoHandler, DynamoResult
    from werkzeug.serving import WSGIRequestHandler

    from infrastructure.embedded_aws import prepare_moto, serialised

    prepare_moto()  # first: the quick transactions below fall back to the embedded AWS's own

    eq, ne, lt = DynamoType.__eq__, DynamoType.__ne__, DynamoType.__lt__

    def fast_eq(self: Any, other: Any) -> bool:
        if type(other) is DynamoType and self.type == "S" == other.type:
            return self.value == other.value
        return eq(self, other)

    def fast_ne(self: Any, other: Any) -> bool:
        if type(other) is DynamoType and self.type == "S" == other.type:
            return self.value != other.value
        return ne(self, other)

    def fast_lt(self: Any, other: Any) -> bool:
        if type(other) is DynamoType and self.type == "S" == other.type:
            return self.value < other.value
        return lt(self, other)

    DynamoType.__eq__, DynamoType.__ne__, DynamoType.__lt__ = fast_eq, fast_ne, fast_lt  # type: ignore[method-assign]
    DynamoType.__hash__ = lambda self: hash((self.type, self.cast_value))  # type: ignore[method-assign]

    project = Item.project

    def project_top_level(self: Item, projection_expressions: list[list[str]]) -> Item:
        if any(len(path) != 1 for path in projection_expressions):
            return project(self, projection_expressions)
        projected = Item.__new__(Item)
        projected.hash_key, projected.range_key = self.hash_key, self.range_key
        projected.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        for (name,) in projection_expressions:
            if name in self.attrs:
                dict.__setitem__(projected.attrs, name, self.attrs[name])
        return projected

    Item.project = project_top_level  # type: ignore[method-assign]
    all_items = Table.all_items

    def sorted_by_strings(self: Table) -> list[Any]:
        items = [item for partition in self.items.values() for item in partition.values()] \
            if self.range_key_attr else list(self.items.values())
        if all(item.hash_key.type == "S" and (item.range_key is None or item.range_key.type == "S")
               for item in items):
            return sorted(items, key=lambda item: (item.hash_key.value, item.range_key.value)
                          if item.range_key else (item.hash_key.value,))
        return all_items(self)

    Table.all_items = sorted_by_strings  # type: ignore[method-assign]

    moto_transact = DynamoDBBackend.transact_write_items  # the embedded AWS's: restores what it touches
    conditions: dict[tuple[str, str], Any] = {}

    def condition(expression: str, names: dict[str, str], values: dict[str, Any]) -> Any:
        used = set(re.findall(r"[#:][A-Za-z0-9_]+", expression))
        names = {name: value for name, value in names.items() if name in used}
        values = {name: value for name, value in values.items() if name in used}
        key = (expression, json.dumps([names, values], sort_keys=True))
        if key not in conditions:
            conditions[key] = get_filter_expression(expression, names, values)
        return conditions[key]

    reserved = set(ReservedKeywords.get_reserved_keywords())

    def simple_update(table: Table, operation: dict[str, Any]) -> list[tuple[str, str, Any]] | None:
        """The update's (SET | ADD, attribute, value) steps, or None when it is not that simple."""
        names = operation.get("ExpressionAttributeNames") or {}
        values = operation.get("ExpressionAttributeValues") or {}
        steps = []
        parts = re.split(r"(?:^|\s+)(SET|ADD|REMOVE|DELETE)\s+", operation.get("UpdateExpression") or "")
        if parts[0].strip() or len(parts) < 3:
            return None
        for verb, body in zip(parts[1::2], parts[2::2], strict=True):
            for action in body.split(","):
                pattern = {"SET": r"(#?\w+)\s*=\s*(:\w+)", "ADD": r"(#?\w+)\s+(:\w+)", "REMOVE": r"(#?\w+)()"}.get(
                    verb, "")
                match = re.fullmatch(pattern, action.strip()) if pattern else None
                if match is None or (verb != "REMOVE" and match[2] not in values):
                    return None
                placeholder = match[1].startswith("#")
                attribute = names.get(match[1]) if placeholder else match[1]
                value = values[match[2]] if verb != "REMOVE" else None
                if attribute is None or (not placeholder and attribute.upper() in reserved):
                    return None  # moto's own path answers (and refuses a reserved word used as a name)
                if attribute in (table.hash_key_attr, table.range_key_attr) or (verb == "ADD" and "N" not in value):
                    return None
                steps.append((verb, attribute, value))
        return steps

    def quick_transact(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        planned, keys = [], set()
        for entry in transact_items:
            kind, operation = next(iter(entry.items()))
            table = self.tables.get(operation.get("TableName"))
            steps = simple_update(table, operation) if kind == "Update" and table is not None else None
            key = operation.get("Key") or {}
            identity = (operation.get("TableName"), json.dumps(key, sort_keys=True))
            if steps is None or identity in keys or len(entry) != 1:
                return moto_transact(self, transact_items)
            keys.add(identity)
            item = table.get_item(DynamoType(key[table.hash_key_attr]),  # type: ignore[union-attr]
                                  DynamoType(key[table.range_key_attr]) if table.range_key_attr else None)  # type: ignore[union-attr]
            if item is None or any(step[0] == "ADD" and item.attrs.get(step[1]) is not None
                                   and item.attrs[step[1]].type != "N" for step in steps):
                return moto_transact(self, transact_items)
            planned.append((item, steps, operation))
        errors = []
        for item, _, operation in planned:
            expression = operation.get("ConditionExpression")
            passed = expression is None or condition(expression, operation.get("ExpressionAttributeNames") or {},
                                                     operation.get("ExpressionAttributeValues") or {}).expr(item)
            errors.append((None, None, None) if passed else
                          ("ConditionalCheckFailed", "The conditional request failed", None))
        if any(code for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        for item, steps, _ in planned:
            for verb, attribute, value in steps:
                if verb == "REMOVE":
                    item.attrs.pop(attribute, None)
                elif verb == "ADD" and attribute in item.attrs:
                    total = Decimal(item.attrs[attribute].value) + Decimal(value["N"])
                    dict.__setitem__(item.attrs, attribute, DynamoType({"N": str(total)}))
                else:
                    dict.__setitem__(item.attrs, attribute, DynamoType(value))
        return None

    DynamoDBBackend.transact_write_items = serialised(quick_transact)  # type: ignore[method-assign]
    handler_transact = DynamoHandler.transact_write_items

    def transact_without_revalidating(self: DynamoHandler) -> Any:
        if all(set(entry) == {"Update"} for entry in self.body["TransactItems"]):
            self.dynamodb_backend.transact_write_items(self.body["TransactItems"])
            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        return handler_transact(self)

    DynamoHandler.transact_write_items = transact_without_revalidating  # type: ignore[method-assign]
    table_query = Table.query

    def query_by_sorted_keys(  # noqa: PLR0917 - Table.query's own signature
            self: Table, hash_key: Any, range_comparison: str | None, range_objs: list[Any], limit: int | None,
            exclusive_start_key: dict[str, Any] | None, scan_index_forward: bool,
            projection_expressions: list[list[str]] | None, index_name: str | None = None,
            consistent_read: bool = False, filter_expression: Any = None, hash_key_conditions: Any = None,
            range_key_conditions: Any = None, **filter_kwargs: Any) -> Any:
        index = self.get_index(index_name) if index_name else None
        keys = [key["AttributeName"] for key in index.schema] if index is not None else [
            self.hash_key_attr, self.range_key_attr]
        if (not scan_index_forward or filter_kwargs
                or range_comparison not in (None, "BEGINS_WITH") or len(range_key_conditions or ()) > 1
                or len(hash_key_conditions or ()) > 1 or len(keys) != 2
                or any(definition["AttributeType"] != "S" for definition in self.attr)
                or (index is not None and index.projection.get("ProjectionType") != "ALL")):
            return table_query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                               scan_index_forward, projection_expressions, index_name, consistent_read,
                               filter_expression, hash_key_conditions, range_key_conditions, **filter_kwargs)
        if index is None:
            items = list(self.items.get(hash_key, {}).values())
            order = [self.range_key_attr]
        else:
            wanted = hash_key_conditions[0][1].value if hash_key_conditions else hash_key.value
            items = [item for partition in self.items.values() for item in partition.values()
                     if (value := item.attrs.get(keys[0])) is not None and value.value == wanted
                     and keys[1] in item.attrs]
            order = [keys[1], self.hash_key_attr, self.range_key_attr]

        def sort_key(attributes: dict[str, Any]) -> tuple[str, ...]:
            return tuple(value.value if isinstance(value, DynamoType) else value["S"]
                         for value in (attributes[name] for name in order))

        items.sort(key=lambda item: sort_key(item.attrs))
        if range_comparison == "BEGINS_WITH":
            items = [item for item in items if item.attrs[order[0]].value.startswith(range_objs[0].value)]
        if exclusive_start_key:
            items = items[bisect.bisect_right([sort_key(item.attrs) for item in items],
                                              sort_key(exclusive_start_key)):]
        page, size, last_evaluated_key = [], 0, None
        for item in items:
            item_size = item.size()
            if size + item_size > RESULT_SIZE_LIMIT or (limit and len(page) == limit):
                last_evaluated_key = self._get_last_evaluated_key(page[-1], index_name)
                break
            page.append(item)
            size += item_size
        kept = [item for item in page if filter_expression is None or filter_expression.expr(item)]
        results = [item.project(projection_expressions) if projection_expressions else copy.deepcopy(item)
                   for item in kept]
        return results, len(page), last_evaluated_key

    Table.query = query_by_sorted_keys  # type: ignore[method-assign]
    execute_result = DynamoResult.execute_result

    def json_dumped(self: DynamoResult, context: Any) -> Any:
        if context.operation_model.name in ("Query", "BatchGetItem"):
            try:
                body = json.dumps(self.result)
            except TypeError:  # bytes or a timestamp: moto's serializer knows what to do with them
                return execute_result(self, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return execute_result(self, context)

    DynamoResult.execute_result = json_dumped  # type: ignore[method-assign]
    WSGIRequestHandler.protocol_version = "HTTP/1.1"  # keep-alive: no connection per request



@contextlib.contextmanager
def counting_dynamodb_requests() -> Iterator[Counter[str]]:
    """DynamoDB requests by operation, counted at botocore's client (pynamodb's and boto3's alike)."""
    from botocore.client import BaseClient

    counts: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            counts[operation_name] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
