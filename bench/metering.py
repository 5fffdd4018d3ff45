"""What the embedded AWS would bill, counted where every client's request lands.

- DynamoDB capacity units, as DynamoDB charges them, computed inside moto's backend (it runs in the
  benchmark's process): each request sets what it is (operation, consistency) on the moto server
  thread serving it, and the backend's reads and writes are measured on the items themselves.
  Item size: the sum over attributes of the UTF-8 name length and the value's size (strings UTF-8
  bytes, numbers 1 byte per two significant digits + 1, binary its bytes, booleans and null 1,
  lists and maps 3 + their elements, 1 more per element; sets the sum of their elements).
  Reads: GetItem / BatchGetItem ceil(size / 4 KB) per item asked (a missing item still 1), half
  when eventually consistent; TransactGetItems twice that. Query / Scan: per response page, the
  sizes of every item evaluated (before the filter and the projection) summed and rounded up to
  4 KB (at least one unit), half when eventually consistent (a GSI read always is).
  Writes: ceil(max(old, new size) / 1 KB) per item written, a failed condition still charged; twice
  inside TransactWriteItems (a ConditionCheck as a write of the item it checks). Each GSI whose key
  the old or new item has: one write of the projected item more, two when its index key changed
  (the old entry deleted, the new one put), none when nothing it projects changed.
- Every other request (and every DynamoDB request, for the record) per service and operation, at
  botocore's client (every client in this process is botocore's: boto3, pynamodb, Powertools
  parameters, the stand-ins' own SQS client); SQS in 64 KB chunks of the request, as SQS bills.
  SQS GetQueueAttributes is the benchmark's own "is the queue empty yet" and is not counted.
- Lambda: invocations and GB-seconds (a duration x MemorySize / 1024, from template.yaml) per function,
  around the local runtime's `LocalFunction.invoke`. The duration is what the handler would take on
  AWS, not its wall time here (moto answers a Query over a few thousand items in a second, where
  DynamoDB takes milliseconds; the stand-ins answer in a millisecond, a marketplace in hundreds):
  the CPU its threads spent (`time.thread_time`: moto's and the stand-ins' threads, and waiting for
  the GIL, are not the handler's), as long as on the vCPU share Lambda gives its MemorySize (a whole
  vCPU at LAMBDA_VCPU_MB, less below in proportion), plus AWS_REQUEST_S per AWS request and
  CHANNEL_CALL_S per marketplace call, along its longest chain: a thread pool it waits on (the
  submitter's channels at once, its writers) takes as long as its slowest worker. Never less than
  every thread's CPU one after the other (one GIL). The wall time here is kept beside it
  (`local_gb_s`, an upper bound: extrapolated 250-fold, moto's seconds per item would be most of the
  bill).

Nothing is counted outside `metering.measuring(usage)`: seeding and set-up are free.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

READ_UNIT, WRITE_UNIT, SQS_CHUNK = 4096, 1024, 65536
# Per request, what a handler waits on AWS (DynamoDB answers in single-digit milliseconds, SQS and S3
# in tens) and on a marketplace (a bulk stock call: a few hundred milliseconds), generously.
AWS_REQUEST_S, CHANNEL_CALL_S = 0.02, 0.5
LAMBDA_VCPU_MB = 1769  # the memory size at which Lambda allots a whole vCPU (less: a share of one)
NOT_BILLED = {("sqs", "GetQueueAttributes")}
READS = ("GetItem", "BatchGetItem", "TransactGetItems")


@dataclass
class Usage:
    """What one activity made AWS do."""

    rru: float = 0.0
    wru: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)  # "service.Operation" (SQS in 64 KB chunks)
    invocations: Counter[str] = field(default_factory=Counter)  # per function logical id
    gb_s: Counter[str] = field(default_factory=Counter)  # per function logical id, as on AWS (see above)
    local_gb_s: Counter[str] = field(default_factory=Counter)  # the same at this machine's wall time

    def plus(self, other: Usage, times: float = 1.0) -> Usage:
        """This usage and `times` the other's."""
        return Usage(self.rru + times * other.rru, self.wru + times * other.wru,
                     _added(self.requests, other.requests, times), _added(self.invocations, other.invocations, times),
                     _added(self.gb_s, other.gb_s, times), _added(self.local_gb_s, other.local_gb_s, times))

    def scaled(self, times: float) -> Usage:
        return Usage().plus(self, times)

    def less(self, other: Usage, times: float = 1.0) -> Usage:
        """This usage without `times` the other's, no quantity below zero."""
        left = self.plus(other, -times)
        return Usage(max(0.0, left.rru), max(0.0, left.wru),
                     *(Counter({name: max(0.0, value) for name, value in counter.items()})
                       for counter in (left.requests, left.invocations, left.gb_s, left.local_gb_s)))

    @classmethod
    def total(cls, usages: Iterable[Usage]) -> Usage:
        summed = cls()
        for usage in usages:
            summed = summed.plus(usage)
        return summed

    def as_dict(self) -> dict[str, Any]:
        return {"rru": self.rru, "wru": self.wru, "requests": dict(self.requests),
                "invocations": dict(self.invocations), "gb_s": dict(self.gb_s), "local_gb_s": dict(self.local_gb_s)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        return cls(data["rru"], data["wru"], Counter(data["requests"]), Counter(data["invocations"]),
                   Counter(data["gb_s"]), Counter(data.get("local_gb_s", {})))


def _added(left: Counter[str], right: Counter[str], times: float) -> Counter[str]:
    total: Counter[str] = Counter(dict(left))
    for name, value in right.items():
        total[name] += times * value
    return total


# --- item sizes ---------------------------------------------------------------------------------

def number_size(text: str) -> int:
    """1 byte per two significant digits (leading and trailing zeros trimmed) + 1."""
    mantissa = text.lower().lstrip("+-").split("e")[0]
    digits = mantissa.replace(".", "").strip("0")
    return math.ceil(max(len(digits), 1) / 2) + 1


def value_size(kind: str, value: Any) -> int:
    """The size of one attribute value, given as moto holds it (a DynamoType's type and value) or as
    JSON ({"S": ...} unpacked into kind and value)."""
    sizes = {
        "S": lambda: len(value.encode()),
        "N": lambda: number_size(str(value)),
        "B": lambda: len(value) if isinstance(value, bytes) else len(base64.b64decode(value)),
        "BOOL": lambda: 1,
        "NULL": lambda: 1,
        "L": lambda: 3 + sum(1 + _size_of(element) for element in value),
        "M": lambda: 3 + sum(1 + len(name.encode()) + _size_of(element) for name, element in value.items()),
    }
    if kind in ("SS", "NS", "BS"):
        return sum(value_size(kind[0], element) for element in value)
    if kind not in sizes:
        raise ValueError(f"unknown DynamoDB type {kind!r}")
    return sizes[kind]()


def _size_of(value: Any) -> int:
    if isinstance(value, dict):  # JSON form
        (kind, inner), = value.items()
        return value_size(kind, inner)
    return value_size(value.type, value.value)  # moto's DynamoType


def item_size(attributes: dict[str, Any]) -> int:
    """The item's size as DynamoDB bills it (attributes as moto holds them or as JSON)."""
    return sum(len(name.encode()) + _size_of(value) for name, value in attributes.items())


def read_units(size: int, *, consistent: bool) -> float:
    """Units of one item read (GetItem) or one Query / Scan page of `size` bytes evaluated."""
    return max(1, math.ceil(size / READ_UNIT)) * (1.0 if consistent else 0.5)


def write_units(old_size: int, new_size: int) -> int:
    return max(1, math.ceil(max(old_size, new_size) / WRITE_UNIT))


def index_write_units(indexes: list[Any], old: dict[str, Any] | None, new: dict[str, Any] | None,
                      table_keys: tuple[str, ...]) -> int:
    """Units the GSIs take for one item going from `old` to `new` (None: absent). `indexes` are moto's
    GlobalSecondaryIndex objects (schema, projection)."""
    units = 0
    for index in indexes:
        keys = [key["AttributeName"] for key in index.schema]
        before = _projected(index, old, table_keys) if old and all(key in old for key in keys) else None
        after = _projected(index, new, table_keys) if new and all(key in new for key in keys) else None
        if before is None and after is None:
            continue
        if before is None or after is None:
            units += write_units(0, item_size(before or after or {}))
        elif any(_value(before[key]) != _value(after[key]) for key in keys):
            units += write_units(0, item_size(before)) + write_units(0, item_size(after))
        elif {name: _value(value) for name, value in before.items()} != {
                name: _value(value) for name, value in after.items()}:
            units += write_units(item_size(before), item_size(after))
    return units


def index_entry(index: Any, item: dict[str, Any], table_keys: tuple[str, ...] = ("PK", "SK")) -> dict[str, Any] | None:
    """The item as a GSI holds it (its projection), or None when the item lacks the index's keys."""
    if not all(key["AttributeName"] in item for key in index.schema):
        return None
    return _projected(index, item, table_keys)


def _projected(index: Any, item: dict[str, Any], table_keys: tuple[str, ...]) -> dict[str, Any]:
    projection = (index.projection or {}).get("ProjectionType", "ALL")
    if projection == "ALL":
        return item
    kept = {key["AttributeName"] for key in index.schema} | set(table_keys)
    if projection == "INCLUDE":
        kept |= set(index.projection.get("NonKeyAttributes", []))
    return {name: value for name, value in item.items() if name in kept}


def _value(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else (value.type, repr(value.value))


# --- the meter ----------------------------------------------------------------------------------

class _Request(threading.local):
    operation: str | None = None
    consistent: dict[str, bool] = {}
    in_transaction: bool = False


_request = _Request()
_lock = threading.Lock()
_installed = False
_current: Usage | None = None


@contextlib.contextmanager
def measuring(usage: Usage) -> Iterator[Usage]:
    """Count into `usage` what AWS is asked meanwhile (one activity at a time)."""
    global _current  # noqa: PLW0603 - the one activity being measured, whichever thread serves it
    install()
    previous, _current = _current, usage
    try:
        yield usage
    finally:
        _current = previous


def _count(add: Any) -> None:
    usage = _current
    if usage is not None:
        with _lock:
            add(usage)


def install() -> None:
    """Wrap moto's DynamoDB, botocore's clients and the local Lambda runtime, once per process (after
    the embedded AWS made its own changes to moto: the wrappers go around those)."""
    global _installed  # noqa: PLW0603 - patches are process-wide
    if _installed:
        return
    _meter_dynamodb_requests()
    _meter_dynamodb_reads()
    _meter_dynamodb_writes()
    _meter_clients()
    _meter_channel_calls()
    _meter_threads()
    _meter_lambda()
    _installed = True


def _meter_dynamodb_requests() -> None:
    from moto.dynamodb.responses import DynamoHandler

    operations = {"get_item": "GetItem", "batch_get_item": "BatchGetItem", "transact_get_items": "TransactGetItems",
                  "query": "Query", "scan": "Scan", "put_item": "PutItem", "update_item": "UpdateItem",
                  "delete_item": "DeleteItem", "batch_write_item": "BatchWriteItem",
                  "transact_write_items": "TransactWriteItems"}
    for method, operation in operations.items():
        setattr(DynamoHandler, method, _named(getattr(DynamoHandler, method), operation))


def _named(handle: Any, operation: str) -> Any:
    @functools.wraps(handle)
    def handled(self: Any) -> Any:
        body = self.body or {}
        if operation == "BatchGetItem":
            consistent = {name: bool(asked.get("ConsistentRead"))
                          for name, asked in body.get("RequestItems", {}).items()}
        else:
            consistent = {body.get("TableName", ""): bool(body.get("ConsistentRead"))}
        _request.operation, _request.consistent = operation, consistent
        try:
            return handle(self)
        finally:
            _request.operation, _request.consistent = None, {}

    return handled


def _stored(table: Any, key: dict[str, Any]) -> Any:
    """The item stored under `key` (JSON attributes), or None, without moto's side effects."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if table.hash_key_attr not in key or (table.range_key_attr and table.range_key_attr not in key):
        return None
    found = table.items.get(DynamoType(key[table.hash_key_attr]))
    if found is None or not table.range_key_attr:
        return found
    return found.get(DynamoType(key[table.range_key_attr]))


def _meter_dynamodb_reads() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    get_item = DynamoDBBackend.get_item

    def metered_get_item(self: Any, table_name: str, keys: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        result = get_item(self, table_name, keys, *args, **kwargs)
        operation = _request.operation
        if operation in READS and _current is not None:
            stored = _stored(self.get_table(table_name), keys)
            size = item_size(stored.attrs) if stored is not None else 0
            transactional = operation == "TransactGetItems"
            units = read_units(size, consistent=transactional or _request.consistent.get(table_name, False))
            _count(lambda usage: setattr(usage, "rru", usage.rru + units * (2 if transactional else 1)))
        return result

    DynamoDBBackend.get_item = metered_get_item  # type: ignore[method-assign]
    for name in ("query", "scan"):
        setattr(Table, name, _paged(getattr(Table, name), name))


class _Evaluated:
    """A FilterExpression that notes the size of every item it is asked about (all the items a page
    evaluated, before the projection), then answers as the real one (or keeps everything)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.size = 0

    def expr(self, item: Any) -> bool:
        self.size += item_size(item.attrs)
        return True if self.inner is None else self.inner.expr(item)


def _paged(read: Any, name: str) -> Any:
    position = 9 if name == "query" else 3  # filter_expression's place in Table.query / Table.scan

    @functools.wraps(read)
    def metered(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _current is None:
            return read(self, *args, **kwargs)
        args_list = list(args)
        if len(args_list) > position:
            evaluated = _Evaluated(args_list[position])
            args_list[position] = evaluated
        else:
            evaluated = _Evaluated(kwargs.get("filter_expression"))
            kwargs["filter_expression"] = evaluated
        index_name = kwargs.get("index_name") or (args_list[7 if name == "query" else 4]
                                                  if len(args_list) > (7 if name == "query" else 4) else None)
        consistent = kwargs.get("consistent_read") or (args_list[8 if name == "query" else 5]
                                                       if len(args_list) > (8 if name == "query" else 5) else False)
        result = read(self, *args_list, **kwargs)
        units = read_units(evaluated.size, consistent=bool(consistent) and not index_name)
        _count(lambda usage: setattr(usage, "rru", usage.rru + units))
        return result

    return metered


def _meter_dynamodb_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    from infrastructure.local.embedded_aws import serialised

    def charge(table: Any, old: Any, new: dict[str, Any] | None, *, times: int = 1, indexes: bool = True) -> None:
        old_attrs = dict(old.attrs) if old is not None else None
        units = times * write_units(item_size(old_attrs or {}), item_size(new or {}))
        if indexes:
            keys = tuple(key for key in (table.hash_key_attr, table.range_key_attr) if key)
            units += index_write_units(table.global_indexes or [], old_attrs, new, keys)
        _count(lambda usage: setattr(usage, "wru", usage.wru + units))

    def single(write: Any, key_of: Any, new_of: Any) -> Any:
        @functools.wraps(write)
        def metered(self: Any, table_name: str, attributes: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            if _request.in_transaction or _current is None:
                return write(self, table_name, attributes, *args, **kwargs)
            table = self.get_table(table_name)
            old = _stored(table, key_of(attributes))
            old_copy = _copied(old)
            try:
                result = write(self, table_name, attributes, *args, **kwargs)
            except Exception as exc:
                if type(exc).__name__ == "ConditionalCheckFailed":
                    charge(table, old_copy, new_of(attributes, None), indexes=False)
                raise
            charge(table, old_copy, new_of(attributes, result))
            return result

        return serialised(metered)

    DynamoDBBackend.put_item = single(  # type: ignore[method-assign]
        DynamoDBBackend.put_item, lambda item: item, lambda item, _result: item)
    DynamoDBBackend.update_item = single(  # type: ignore[method-assign]
        DynamoDBBackend.update_item, lambda key: key,
        lambda _key, result: dict(result.attrs) if result is not None else None)
    DynamoDBBackend.delete_item = single(  # type: ignore[method-assign]
        DynamoDBBackend.delete_item, lambda key: key, lambda _key, _result: None)
    _meter_transactions(charge)


def _meter_transactions(charge: Any) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    from infrastructure.local.embedded_aws import serialised

    transact = DynamoDBBackend.transact_write_items

    def metered_transact(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        if _current is None:
            return transact(self, transact_items)
        before = []
        for entry in transact_items:
            kind, operation = next(iter(entry.items()))
            table = self.tables.get(operation.get("TableName", ""))
            key = operation.get("Key") or operation.get("Item") or {}
            before.append((kind, operation, table, key, _copied(_stored(table, key)) if table is not None else None))
        _request.in_transaction = True
        try:
            result = transact(self, transact_items)
        except Exception:
            for kind, operation, table, _key, old in before:
                if table is not None:
                    charge(table, old, operation.get("Item") if kind == "Put" else None, times=2, indexes=False)
            raise
        finally:
            _request.in_transaction = False
        for kind, _operation, table, key, old in before:
            if table is None:
                continue
            if kind == "ConditionCheck":
                charge(table, old, None, times=2, indexes=False)
                continue
            after = _stored(table, key)
            charge(table, old, dict(after.attrs) if after is not None else None, times=2)
        return result

    DynamoDBBackend.transact_write_items = serialised(metered_transact)  # type: ignore[method-assign]


def _copied(item: Any) -> Any:
    """A snapshot of a stored item's attributes (moto changes items in place)."""
    if item is None:
        return None
    snapshot = type("Snapshot", (), {})()
    snapshot.attrs = dict(item.attrs)
    return snapshot


def _meter_clients() -> None:
    from botocore.client import BaseClient

    make_api_call = BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        if _current is not None and (service, operation_name) not in NOT_BILLED:
            requests = 1
            if service == "sqs":
                requests = max(1, math.ceil(len(json.dumps(api_params, default=str).encode()) / SQS_CHUNK))
            _count(lambda usage: usage.requests.update({f"{service}.{operation_name}": requests}))
        _called("aws")
        return make_api_call(self, operation_name, api_params)

    BaseClient._make_api_call = counted  # type: ignore[method-assign]


class _Strand:
    """One thread's share of an invocation: the CPU it spent (`time.thread_time`, so neither moto's
    threads nor a wait for the GIL count) and the requests it made; the thread pools it waited on, each
    its worker threads' strands by thread."""

    def __init__(self) -> None:
        self.cpu_s = 0.0
        self.calls: Counter[str] = Counter()
        self.pools: list[dict[int, _Strand]] = []

    def strands(self) -> Iterator[_Strand]:
        yield self
        for pool in self.pools:
            for worker in list(pool.values()):
                yield from worker.strands()

    def critical_path_s(self, cpu_factor: float) -> float:
        """Its own CPU and requests, then each pool it waited on as long as its slowest worker."""
        own = self.cpu_s * cpu_factor + self.calls["aws"] * AWS_REQUEST_S + self.calls["channel"] * CHANNEL_CALL_S
        return own + sum(max((worker.critical_path_s(cpu_factor) for worker in list(pool.values())), default=0.0)
                         for pool in self.pools)


class _Here(threading.local):
    strand: _Strand | None = None


_here = _Here()


def _called(kind: str) -> None:
    strand = _here.strand
    if strand is not None:
        with _lock:
            strand.calls[kind] += 1


def aws_duration(root: _Strand, memory_mb: int) -> float:
    """What an invocation would take on AWS: its longest chain of work, where each thread's CPU takes
    as long as on a Lambda vCPU share of `memory_mb` (a whole one at LAMBDA_VCPU_MB, CPU time here
    taken as a vCPU's), each AWS request AWS_REQUEST_S and each marketplace call CHANNEL_CALL_S, and
    threads run in parallel; never less than all its threads' CPU one after the other (one GIL)."""
    cpu_factor = max(1.0, LAMBDA_VCPU_MB / memory_mb)
    return max(root.critical_path_s(cpu_factor), sum(strand.cpu_s for strand in root.strands()) * cpu_factor)


def _meter_threads() -> None:
    """A task given to a thread pool inside an invocation runs as a strand of the pool's worker thread,
    the pool one of the submitting strand's."""
    from concurrent.futures import ThreadPoolExecutor

    submit = ThreadPoolExecutor.submit

    def tracked(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        parent = _here.strand
        if parent is None:
            return submit(self, fn, *args, **kwargs)
        workers: dict[int, _Strand] | None = getattr(self, "_metered_workers", None)
        if workers is None:
            workers = {}
            self._metered_workers = workers  # type: ignore[attr-defined]
            with _lock:
                parent.pools.append(workers)

        def run() -> Any:
            with _lock:
                strand = workers.setdefault(threading.get_ident(), _Strand())
            _here.strand, started = strand, time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                strand.cpu_s += time.thread_time() - started
                _here.strand = None

        return submit(self, run)

    ThreadPoolExecutor.submit = tracked  # type: ignore[method-assign]


def _meter_channel_calls() -> None:
    """The marketplace calls: the adapters' HTTP goes through requests' Session.send."""
    import requests

    send = requests.Session.send

    def called(self: Any, request: Any, **kwargs: Any) -> Any:
        _called("channel")
        return send(self, request, **kwargs)

    requests.Session.send = called  # type: ignore[method-assign]


def _meter_lambda() -> None:
    from infrastructure.local.lambda_runtime import LocalFunction

    invoke = LocalFunction.invoke

    def metered(self: LocalFunction, event: Any) -> Any:
        root, outer = _Strand(), _here.strand
        _here.strand, started, cpu_started = root, time.monotonic(), time.thread_time()
        try:
            return invoke(self, event)
        finally:
            root.cpu_s = time.thread_time() - cpu_started
            _here.strand = outer
            wall = time.monotonic() - started
            gigabytes = self.spec.memory_size / 1024
            gb_s, local_gb_s = aws_duration(root, self.spec.memory_size) * gigabytes, wall * gigabytes
            _count(lambda usage: (usage.invocations.update({self.logical_id: 1}),
                                  usage.gb_s.update({self.logical_id: gb_s}),
                                  usage.local_gb_s.update({self.logical_id: local_gb_s})))

    LocalFunction.invoke = metered  # type: ignore[method-assign]
