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

import contextlib
import copy
import functools
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
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
