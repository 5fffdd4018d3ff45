"""The embedded AWS: a moto server on 127.0.0.1, made to keep DynamoDB's write guarantees.

moto's threaded server runs concurrent requests against one in-memory backend without locking,
so two conditional writes (or transactions) racing on one item can both pass their condition and
one write is lost. DynamoDB never does that, and stocksync's correctness rests on it (optimistic
versions, unique claims, idempotency keys). Serialising moto's DynamoDB writes restores it.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.server import ThreadedMotoServer

LOCAL_HOST = "127.0.0.1"
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_lock = threading.RLock()


def serialise_dynamodb_writes() -> None:
    """Make every DynamoDB write (and transaction) atomic with respect to the others. Idempotent."""
    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if getattr(method, "_stocksync_serialised", False):
            continue
        setattr(DynamoDBBackend, name, _serialised(method))


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
