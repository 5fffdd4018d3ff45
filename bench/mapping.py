"""Auto-link at scale: 100,000 listings against 100,000 items.

Figures:
  autolink_100k_requests  DynamoDB requests the auto-link run made, counted at botocore's client
                          (`BaseClient._make_api_call`, DynamoDB only, whichever client makes them): every
                          Query page, BatchGetItem, TransactWriteItems, UpdateItem of the job, PutItem of
                          the event log, the open orders' re-link Query. SQS calls (the stock-queue
                          messages) are not DynamoDB requests and are not counted. At 100,000: 1,082 =
                          Query 68 (55 pages of listings, ~527-byte records; 12 pages of the SKU claims'
                          GSI1 partition `SKU_CLAIMS`, ~115-byte records; 1 open orders' re-link query),
                          TransactWriteItems 1,011 (99 links and the totals' ADD each; the job's progress
                          rides in them), UpdateItem 2 (job start and finish), PutItem 1 (the event).
  autolink_100k_cpu_s     CPU seconds of the thread that ran `bulk.auto_link` (`time.thread_time()`): our
                          code, pynamodb, botocore's request building and response parsing and the HTTP
                          client. Not counted: moto, which serves each request on threads of its own
                          (the embedded AWS's threaded server, in the same process).
  autolink_100k_seconds   wall-clock seconds of the run, moto's work included (informative only)
  autolink_100k_linked    listings linked (every one should be)

How it runs: `measure()` starts `python -m bench.mapping` in a fresh process so the 300,000 seeded
records and the process-wide caches (settings, boto3 clients, pynamodb connections) never leak into
the other benchmarks of `python -m bench`. That process starts the embedded AWS
(`start_embedded_aws()`, moto's threaded server on 127.0.0.1) and provisions template.yaml on it, as
the local stack does. The harness, which is not measured:
  - the channel, its 100,000 listings (half differ from their item's SKU in case and surrounding
    spaces), the 100,000 items and their SKU claims are written straight into moto's DynamoDB backend
    (items serialised by our models, listings as a catalogue load writes them, so every record has
    the size the code writes: the 1 MB Query pages hold as many as they would);
  - then `gc.freeze()`: moto's 300,000 records live in this process, not in the auto-mapper's, and
    its garbage collections need not walk them;
  - moto, in this process only, is made quicker where its own cost would make the run take an hour
    (`_make_moto_quicker`, same answers): string key comparisons and projections without moto's
    generic paths; Query reads the partition (or the index's entries) in key order and pages by
    bisection instead of sorting the whole table for every page; Query answers are written with
    json.dumps instead of moto's shape-walking serializer; TransactWriteItems made only of simple
    SET/ADD updates are applied directly (conditions parsed once per expression by moto's own parser,
    all checked before anything is applied, any failure cancelling the whole transaction with moto's
    reasons) without re-parsing every expression first, and any other transaction saves and restores
    only the records it touches instead of deep-copying the whole table once per operation; the
    server is asked for HTTP/1.1 keep-alive, as DynamoDB's endpoint does, but werkzeug 3 answers every
    request with "Connection: close": each request opens a connection to 127.0.0.1 (a small cost in
    the measured thread that a real client, keeping its TLS connections, would not pay per request).
    None of it is in either figure: moto's work happens on its own threads.
The run itself is the auto-mapper's code path (`bulk.auto_link`, as `handle_mapping_message` calls it
once the job exists), talking HTTP to moto through botocore.

Set BENCH_AUTOLINK_N to run a smaller size (the figure names keep "100k").
"""

from __future__ import annotations

import bisect
import copy
import gc
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

N = int(os.environ.get("BENCH_AUTOLINK_N", "100000"))
ROOT = Path(__file__).parents[1]
RESULT_MARKER = "AUTOLINK_RESULT "
TIMEOUT_S = 1200


def measure() -> dict[str, float]:
    """The figures, measured in a fresh process (see the module docstring)."""
    env = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    done = subprocess.run([sys.executable, "-m", "bench.mapping"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          text=True, timeout=TIMEOUT_S, check=True)
    line = next(line for line in reversed(done.stdout.splitlines()) if line.startswith(RESULT_MARKER))
    return json.loads(line.removeprefix(RESULT_MARKER))


@contextmanager
def _counting() -> Iterator[Counter]:
    """Counts DynamoDB requests at botocore's client, whichever client makes them (pynamodb's or boto3's)."""
    from botocore.client import BaseClient

    counts: Counter = Counter()
    original = BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: dict) -> dict:
        if self.meta.service_model.service_name == "dynamodb":
            counts[operation_name] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def _moto_table(table_name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    from infrastructure.template import ACCOUNT_ID

    return dynamodb_backends[ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]].get_table(table_name)


def _make_moto_quicker() -> None:  # noqa: PLR0915 - one patch set, kept together
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
      Any other transaction goes through moto, which then saves and restores only the records it
      touches instead of deep-copying the whole table once per operation. Such all-Update transactions
      skip the handler's re-parsing of every expression (a syntax check; the backend parses them).
      Their updates' values go into the item without moto re-measuring the whole item per attribute.
    - Query, forward, without Limit, on string keys (the table's, or an index projecting ALL): the
      partition's items (or the index's entries) sorted by key strings, started after
      ExclusiveStartKey by bisection, cut at moto's 1 MB of whole items, then filtered and projected
      as moto does. Anything else goes through moto's own Query.
    - Query answers are JSON-dumped directly (moto's serializer walks the output shape per value);
      one it cannot dump (bytes, a timestamp) goes through moto's serializer.
    """
    import moto.dynamodb.models as moto_dynamodb
    from moto.core.responses import ActionResult
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import TransactionCanceledException
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

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

    class _TablesNotCopied:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    moto_dynamodb.copy = _TablesNotCopied  # type: ignore[attr-defined]
    moto_transact = DynamoDBBackend.transact_write_items
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
                pattern = r"(#?\w+)\s*=\s*(:\w+)" if verb == "SET" else r"(#?\w+)\s+(:\w+)"
                match = re.fullmatch(pattern, action.strip())
                if verb not in ("SET", "ADD") or match is None or match[2] not in values:
                    return None
                placeholder = match[1].startswith("#")
                attribute, value = names.get(match[1]) if placeholder else match[1], values[match[2]]
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
                return transact_saving_only_what_it_touches(self, transact_items)
            keys.add(identity)
            item = table.get_item(DynamoType(key[table.hash_key_attr]),  # type: ignore[union-attr]
                                  DynamoType(key[table.range_key_attr]) if table.range_key_attr else None)  # type: ignore[union-attr]
            if item is None or any(step[0] == "ADD" and item.attrs.get(step[1]) is not None
                                   and item.attrs[step[1]].type != "N" for step in steps):
                return transact_saving_only_what_it_touches(self, transact_items)
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
                if verb == "ADD" and attribute in item.attrs:
                    total = Decimal(item.attrs[attribute].value) + Decimal(value["N"])
                    dict.__setitem__(item.attrs, attribute, DynamoType({"N": str(total)}))
                else:
                    dict.__setitem__(item.attrs, attribute, DynamoType(value))
        return None

    def transact_saving_only_what_it_touches(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            _, operation = next(iter(entry.items()))
            table = self.tables.get(operation.get("TableName"))
            if table is None:
                continue
            key = operation.get("Key") or {name: operation["Item"][name]
                                           for name in (table.hash_key_attr, table.range_key_attr) if name}
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            moto_transact(self, transact_items)
        except Exception:
            for table, hash_key, range_key, before in reversed(saved):
                partition = table.items[hash_key]
                if before is None:
                    partition.pop(range_key, None)
                else:
                    partition[range_key] = before
            raise

    DynamoDBBackend.transact_write_items = quick_transact  # type: ignore[method-assign]
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
        if (not scan_index_forward or filter_kwargs or limit
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
            if size + item_size > RESULT_SIZE_LIMIT:
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
        if context.operation_model.name == "Query":
            try:
                body = json.dumps(self.result)
            except TypeError:  # bytes or a timestamp: moto's serializer knows what to do with them
                return execute_result(self, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return execute_result(self, context)

    DynamoResult.execute_result = json_dumped  # type: ignore[method-assign]


def _seed(table: Any, channel_id: str, n: int) -> None:
    """n items (with their SKU claims) and n listings of the channel, straight into moto's table.

    One item and one claim are built and serialised by our models, the others are copies of them with
    their own keys, SKUs, titles, ids and barcodes; each listing is what a catalogue load writes for its
    row (`load_fields` included)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    from stocksync import db
    from stocksync.catalogue.loader import _listing_items
    from stocksync.db import CatalogueStatusRecord, ItemRecord, UniqueClaim
    from stocksync.inventory import SKU_CLAIM
    from stocksync.rules import normalize_sku, search_text

    def put(attributes: dict[str, Any]) -> None:
        item = Item.__new__(Item)
        item.hash_key, item.range_key = DynamoType(attributes["PK"]), DynamoType(attributes["SK"])
        item.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        for name, value in attributes.items():
            dict.__setitem__(item.attrs, name, DynamoType(value))
        table.items[item.hash_key][item.range_key] = item

    def like(template: Any, **strings: str) -> dict[str, Any]:
        return template | {name: {"S": value} for name, value in strings.items()}

    load_id = db.new_id()
    item0 = ItemRecord(**ItemRecord.keys("x", "x"), item_id="x", sku="x", sku_key="x", title="x", search_text="x",
                       retail_price=9.99, barcode="x", version=1).serialize()
    claim0 = UniqueClaim(**UniqueClaim.keys(SKU_CLAIM, "x"), owner_id="x").serialize()
    new_listing = _listing_items(channel_id, load_id, db.now())  # exactly what a catalogue load writes
    for i in range(n):
        sku = f"SKU-{i:06d}"
        key = normalize_sku(sku)
        item_id = db.new_id()
        title = f"Product number {i}"
        put(like(item0, **ItemRecord.keys(item_id, key), item_id=item_id, sku=sku, sku_key=key, title=title,
                 search_text=search_text(sku, title), barcode=f"50{i:011d}"))
        put(like(claim0, **UniqueClaim.keys(SKU_CLAIM, key), owner_id=item_id))
        listing_sku = f" sku-{i:06d} " if i % 2 else sku  # half differ in case and surrounding spaces
        listing_key = normalize_sku(listing_sku)
        put(new_listing((listing_key, 0, i, listing_sku, f"{title} on the channel", 9.99, 5, "GBP", f"50{i:011d}",
                         None, False, f"{i:012d}", None, "active")))
    put(CatalogueStatusRecord(**CatalogueStatusRecord.keys(channel_id), channel_id=channel_id, total_active=n,
                              total_linked=0, total_unlinked=n, totals_at=db.now()).serialize())


def _measure_here() -> dict[str, float]:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto takes any key
                      AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"),
                      POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_LOG_LEVEL="WARNING",
                      POWERTOOLS_METRICS_NAMESPACE="Bench")
    from werkzeug.serving import WSGIRequestHandler

    from infrastructure.embedded_aws import start_embedded_aws

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    WSGIRequestHandler.protocol_version = "HTTP/1.1"  # keep-alive, as DynamoDB's endpoint: no connection per request
    _make_moto_quicker()
    server, endpoint = start_embedded_aws()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        from infrastructure.provision import provision
        from infrastructure.template import load_template

        stack = provision(load_template())
        os.environ.update(stack.environment)
        from stocksync.channel_store import ChannelInput
        from stocksync.channel_types import ChannelType
        from stocksync.config import get_settings
        from stocksync.mapping.bulk import AUTO_LINK_JOB, auto_link
        from stocksync.mapping.store import recount
        from stocksync.services import services

        get_settings.cache_clear()
        mapping = services().mapping
        channel = mapping.channels.create(ChannelInput(name="Bench", type=ChannelType.EBAY))
        seeding = time.perf_counter()
        _seed(_moto_table(get_settings().table_name), channel.channel_id, N)
        seeding = time.perf_counter() - seeding
        gc.collect()
        gc.freeze()  # moto's 300,000 records are not the auto-mapper's heap: its collections need not walk them
        job = mapping.jobs.create(AUTO_LINK_JOB, subject=channel.channel_id)
        with _counting() as counts:
            wall, cpu = time.perf_counter(), time.thread_time()
            result = auto_link(mapping, channel, job.job_id)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        totals = recount(channel.channel_id)
        status = mapping.totals(channel.channel_id)
        if (int(status.total_linked), int(status.total_unlinked)) != (totals["linked"], totals["unlinked"]):
            raise AssertionError(f"totals drifted: {status.total_linked}/{status.total_unlinked} vs {totals}")
        if totals["linked"] != N or result["linked"] != N:
            raise AssertionError(f"not every listing was linked: {result['linked']} of {N}, recount {totals}")
        print(f"auto-link {N}: seeded in {seeding:.1f} s; requests by operation {dict(counts)}; "
              f"wall {wall:.1f} s", file=sys.stderr)
        return {"autolink_100k_requests": sum(counts.values()), "autolink_100k_cpu_s": round(cpu, 2),
                "autolink_100k_seconds": round(wall, 1), "autolink_100k_linked": result["linked"]}
    finally:
        server.stop()


if __name__ == "__main__":
    print(RESULT_MARKER + json.dumps(_measure_here()), flush=True)
