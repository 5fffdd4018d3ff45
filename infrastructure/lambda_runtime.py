"""Lambda's part of an invocation: a warm handler, a context object, one event at a time.

Locally every function lives in this one process (moto in another). Lambda would give concurrent
events separate containers; here a function handles one event at a time (a lock per function),
because handler modules keep per-invocation state on shared objects (Powertools resolvers hold the
current event).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infrastructure.provision import ProvisionedStack
from infrastructure.template import FunctionSpec, load_handler

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of Lambda's Python context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline: float = field(repr=False)  # time.monotonic() when Lambda would stop the invocation
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class LocalFunction:
    """One function of the template with its handler imported once (a warm container)."""

    def __init__(self, spec: FunctionSpec, handler: Handler, name: str, arn: str) -> None:
        self.spec = spec
        self.name = name
        self.arn = arn
        self._handler = handler
        self._lock = threading.Lock()

    @classmethod
    def load(cls, stack: ProvisionedStack, logical_id: str) -> LocalFunction:
        return cls(
            spec=stack.template.function(logical_id),
            handler=load_handler(stack.template, logical_id),
            name=stack.function_name(logical_id),
            arn=stack.attribute(logical_id, "Arn"),
        )

    @property
    def logical_id(self) -> str:
        return self.spec.logical_id

    def invoke(self, event: Any) -> Any:
        """Call the handler as Lambda would; exceptions propagate (the caller decides retries).

        Lambda stops a handler at its Timeout; a thread cannot be stopped, so an overrun is only
        logged, and the context's remaining time reaches zero for handlers that check it.
        """
        with self._lock:
            started = time.monotonic()
            context = LambdaContext(
                function_name=self.name,
                invoked_function_arn=self.arn,
                memory_limit_in_mb=self.spec.memory_size,
                aws_request_id=str(uuid.uuid4()),
                deadline=started + self.spec.timeout,
                log_group_name=f"/aws/lambda/{self.name}",
            )
            try:
                return self._handler(event, context)
            finally:
                elapsed = time.monotonic() - started
                if elapsed > self.spec.timeout:
                    logger.warning(
                        "%s ran %.1f s, over its %d s Timeout (Lambda would have stopped it)",
                        self.logical_id,
                        elapsed,
                        self.spec.timeout,
                    )
