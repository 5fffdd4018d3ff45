"""The embedded AWS: a moto server on 127.0.0.1, made to keep DynamoDB's write guarantees.

moto's threaded server runs concurrent requests against one in-memory backend without locking,
so two conditional writes (or transactions) racing on one item can both pass their condition and
one write is lost. DynamoDB never does that, and stocksync's correctness rests on it (optimistic
versions, unique claims, idempotency keys). Serialising moto's DynamoDB writes restores it.

moto's reads are not all read-only either: `Table.get_item` of a missing partition key on a table
with a sort key adds an empty partition (its items are a defaultdict), so a GetItem racing a
TransactWriteItems failed it with "dictionary changed size during iteration". Item reads take the
same lock.

Two of moto's costs grow with what it stores, which a stack that runs for a while cannot afford
(same answers, less CPU):
- TransactWriteItems deep-copies every table it names before it starts, to put the copy back if the
  transaction is cancelled: O(table) per transaction, most of the local stack's CPU during sales.
  Here it saves and restores only the items the transaction names.
- SQS ReceiveMessage computes every attribute of the queue (its message counts walk every message)
  once per message it hands out: O(messages) per message, most of a second per receive with 1,000
  waiting. Here it reads the queue's retention period alone.

`start_embedded_aws` runs moto in this process (tests, benchmarks that seed moto directly);
`EmbeddedAwsProcess` runs it in a process of its own (the local stack), so moto and the functions
do not share one interpreter lock.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import functools
import json
import logging
import multiprocessing
import re
import signal
import threading
from collections.abc import Callable, Iterable
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.server import ThreadedMotoServer

LOCAL_HOST = "127.0.0.1"
START_TIMEOUT_S = 60
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_TABLE_READS = ("get_item",)  # mutates the table on a miss (see above)
_lock = threading.RLock()
_prepared = threading.Event()


def prepare_moto() -> None:
    """Every change this module makes to moto, once, before moto serves its first request.

    The order matters: a cancelled transaction puts its items back inside the write lock."""
    with _lock:
        if _prepared.is_set():
            return
        transactions_save_only_what_they_touch()
        serialise_dynamodb_writes()
        receive_without_counting_the_queue()
        _prepared.set()


def serialise_dynamodb_writes() -> None:
    """Make every DynamoDB write (and transaction) atomic with respect to the others."""
    for owner, names in ((DynamoDBBackend, _WRITES), (Table, _TABLE_READS)):
        for name in names:
            setattr(owner, name, serialised(getattr(owner, name)))


def serialised(method: Any) -> Any:
    """`method`, run under the embedded AWS's one write lock."""

    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(*args, **kwargs)

    return locked


class _CopyExceptTables:
    """What moto's DynamoDB models see as the `copy` module: a Table deep-copies to itself, so the
    whole-table backup of TransactWriteItems costs nothing (and putting it back changes nothing)."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def transactions_save_only_what_they_touch() -> None:
    """TransactWriteItems backs up and restores the items it names, not whole tables."""
    import moto.dynamodb.models as moto_dynamodb

    moto_dynamodb.copy = _CopyExceptTables  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = _restoring_touched_items(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items)


def _restoring_touched_items(transact: Any) -> Any:
    @functools.wraps(transact)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = [_saved_item(self, operation) for entry in transact_items for operation in entry.values()]
        try:
            transact(self, transact_items)
        except Exception:
            for restore in reversed([entry for entry in saved if entry is not None]):
                restore()
            raise

    return transact_write_items


def _saved_item(backend: DynamoDBBackend, operation: dict[str, Any]) -> Callable[[], None] | None:
    """How to put back the item `operation` names as it is now (None: it names no known table)."""
    table = backend.tables.get(operation.get("TableName", ""))
    if table is None:
        return None
    key = operation.get("Key") or operation.get("Item") or {}
    if table.hash_key_attr not in key or (table.range_key_attr and table.range_key_attr not in key):
        return None  # moto refuses the operation before it writes anything
    hash_key = DynamoType(key[table.hash_key_attr])
    if not table.range_key_attr:
        before = copy.deepcopy(table.items.get(hash_key))

        def restore_by_hash_key() -> None:
            if before is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = before

        return restore_by_hash_key
    range_key = DynamoType(key[table.range_key_attr])
    partition = table.items.get(hash_key)
    before = copy.deepcopy(partition.get(range_key)) if partition is not None else None

    def restore() -> None:
        items = table.items[hash_key]
        if before is None:
            items.pop(range_key, None)
        else:
            items[range_key] = before

    return restore


def receive_without_counting_the_queue() -> None:
    """SQS ReceiveMessage checks each message's retention against the queue's own attribute."""
    from moto.sqs.models import SQSBackend, unix_time

    def retained(self: SQSBackend, queue_name: str, message: Any) -> bool:
        queue = self.get_queue(queue_name)
        return int(queue.message_retention_period) + message.sent_timestamp / 1000 > unix_time()

    SQSBackend.is_message_valid_based_on_retention_period = retained  # type: ignore[method-assign]


def make_moto_quicker() -> None:  # noqa: PLR0915 - one patch set, kept together
    """For benchmarks that seed and serve moto in their own process (call it before moto starts): the same
    answers, less of moto's own CPU, where moto's generic paths would make a 100,000-record run take an hour.
    Not for the local stack or the tests, which keep moto's own code on every path but the ones
    `prepare_moto` changes.

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
      Any other transaction goes through `transactions_save_only_what_they_touch` above. Such
      all-Update transactions skip the handler's re-parsing of every expression (a syntax check; the
      backend parses them). Their updates' values go into the item without moto re-measuring the
      whole item per attribute. They may also REMOVE top-level attributes (the stock sync's
      transactions clear an error that way).
    - Query, forward, without Limit, on string keys (the table's, or an index projecting ALL): the
      partition's items (or the index's entries) sorted by key strings, started after
      ExclusiveStartKey by bisection, cut at moto's 1 MB of whole items, then filtered and projected
      as moto does; a Limit counts the items evaluated, before the filter, as DynamoDB counts them.
      Anything else goes through moto's own Query.
    - Query and BatchGetItem answers are JSON-dumped directly (moto's serializer walks the output
      shape per value); one it cannot dump (bytes, a timestamp) goes through moto's serializer.
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


def reset_services(services: Iterable[str]) -> None:
    """Empty these services of the moto serving in this process (`start_embedded_aws`), every account
    and region, and keep the others as they are: what `/moto-api/reset` does for all of them."""
    from moto.backends import get_backend

    for service in services:
        for account_backends in get_backend(service).values():
            account_backends.reset()


def start_embedded_aws(port: int = 0) -> tuple[ThreadedMotoServer, str]:
    """Start moto in this process on 127.0.0.1 (port 0 = any free port); returns the server and its URL."""
    prepare_moto()
    server = ThreadedMotoServer(ip_address=LOCAL_HOST, port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    return server, f"http://{host}:{bound_port}"


class EmbeddedAwsProcess:
    """moto in a child process of its own; `endpoint` is its URL, `stop()` ends it."""

    def __init__(self, port: int = 0) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or locks inherited
        self._commands, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(port, child_end), name="embedded-aws", daemon=True)
        self._process.start()
        child_end.close()
        if not self._commands.poll(START_TIMEOUT_S):
            self.stop()
            raise RuntimeError(f"the embedded AWS did not start within {START_TIMEOUT_S} s")
        self.endpoint: str = self._commands.recv()

    def stop(self) -> None:
        with contextlib.suppress(OSError):  # the child is gone already
            self._commands.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _serve(port: int, commands: Connection) -> None:
    """The child: moto on 127.0.0.1 until the parent says stop or goes away."""
    from werkzeug.serving import WSGIRequestHandler

    # Ctrl-C (and `timeout`, `kill -TERM -<group>`) signal the whole process group: the parent stops
    # us after its functions, and we go when it goes (the pipe closes), whatever ends it.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.SIG_IGN)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    # Keep-alive (HTTP/1.1), as DynamoDB's endpoint does: no new connection per request. Only in
    # this process, whose only server is moto's.
    WSGIRequestHandler.protocol_version = "HTTP/1.1"
    server, endpoint = start_embedded_aws(port)
    commands.send(endpoint)
    try:
        commands.recv()  # "stop", or EOFError when the parent dies
    except EOFError:
        pass
    finally:
        server.stop()
