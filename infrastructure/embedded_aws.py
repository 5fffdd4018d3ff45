"""The embedded AWS: a moto server on 127.0.0.1, made to keep DynamoDB's write guarantees.

moto's threaded server runs concurrent requests against one in-memory backend without locking,
so two conditional writes (or transactions) racing on one item can both pass their condition and
one write is lost. DynamoDB never does that, and stocksync's correctness rests on it (optimistic
versions, unique claims, idempotency keys). Serialising moto's DynamoDB writes restores it.

moto's reads are not all read-only either: `Table.get_item` of a missing partition key on a table
with a sort key adds an empty partition (its items are a defaultdict), so a GetItem racing a
TransactWriteItems (which deep-copies the table first) failed it with "dictionary changed size
during iteration". Item reads take the same lock.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.server import ThreadedMotoServer

LOCAL_HOST = "127.0.0.1"
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_TABLE_READS = ("get_item",)  # mutates the table on a miss (see above)
_lock = threading.RLock()


def serialise_dynamodb_writes() -> None:
    """Make every DynamoDB write (and transaction) atomic with respect to the others. Idempotent."""
    for owner, names in ((DynamoDBBackend, _WRITES), (Table, _TABLE_READS)):
        for name in names:
            method = getattr(owner, name)
            if getattr(method, "_stocksync_serialised", False):
                continue
            setattr(owner, name, _serialised(method))


def _serialised(method: Any) -> Any:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(*args, **kwargs)

    locked._stocksync_serialised = True  # type: ignore[attr-defined]
    return locked


def start_embedded_aws(port: int = 0) -> tuple[ThreadedMotoServer, str]:
    """Start moto on 127.0.0.1 (port 0 = any free port); returns the server and its endpoint URL."""
    serialise_dynamodb_writes()
    server = ThreadedMotoServer(ip_address=LOCAL_HOST, port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    return server, f"http://{host}:{bound_port}"
