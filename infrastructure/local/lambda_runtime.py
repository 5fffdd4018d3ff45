"""Lambda's part of an invocation: warm containers, a context object, one event per container.

Locally every function lives in this one process (moto in another). As Lambda gives concurrent
events separate containers, a function here keeps up to MAX_CONTAINERS warm ones, each its own
import of the handler module (handler modules keep per-invocation state on module objects:
Powertools' resolvers hold the current event, batch processors the current records), each handling
one event at a time. So a function's scheduled run does not hold up its queue, nor one API request
another. What the layer keeps per process (stocksync.wiring, the Powertools logger) is shared
between containers here, as it never is on Lambda. So that each log line still names the function
that wrote it, every invocation runs in a context of its own holding its function's Lambda keys
(`invocation_log_keys`): Powertools puts those over what the shared logger last appended.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.logging.formatter import set_context_keys

from infrastructure.local.provision import ProvisionedStack
from infrastructure.local.template import FunctionSpec, load_handler

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]
MAX_CONTAINERS = 4  # per function: enough for a queue, a schedule and a few API requests at once


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


def invocation_log_keys(context: LambdaContext, *, cold_start: bool) -> dict[str, Any]:
    """The keys Powertools' `inject_lambda_context` logs for this invocation (and `cold_start` as this
    container saw it): in one process they would otherwise come from whichever function ran last."""
    return {"function_name": context.function_name, "function_memory_size": context.memory_limit_in_mb,
            "function_arn": context.invoked_function_arn, "function_request_id": context.aws_request_id,
            "cold_start": cold_start}


def _in_own_log_context(handler: Handler, event: Any, context: LambdaContext, *, cold_start: bool) -> Any:
    """Run the handler in a copy of the caller's context with this invocation's log keys set (Powertools'
    thread-safe keys live in a ContextVar): nothing set there outlives the invocation."""

    def run() -> Any:
        set_context_keys(**invocation_log_keys(context, cold_start=cold_start))
        return handler(event, context)

    return contextvars.copy_context().run(run)


class LocalFunction:
    """One function of the template and its warm containers (handlers imported on first need)."""

    def __init__(self, spec: FunctionSpec, load: Callable[[int], Handler], name: str, arn: str, *,
                 max_containers: int = MAX_CONTAINERS) -> None:
        self.spec = spec
        self.name = name
        self.arn = arn
        self._load = load  # container number -> that container's handler (a fresh import)
        self._max_containers = max_containers
        self._idle: list[Handler] = [load(0)]  # the first container starts with the stack
        self._warm: set[int] = set()  # ids of the handlers that have served an event
        self._started = 1
        self._changed = threading.Condition()

    @classmethod
    def load(cls, stack: ProvisionedStack, logical_id: str) -> LocalFunction:
        return cls(
            spec=stack.template.function(logical_id),
            load=functools.partial(load_handler, stack.template, logical_id),
            name=stack.function_name(logical_id),
            arn=stack.attribute(logical_id, "Arn"),
        )

    @property
    def containers(self) -> int:
        """How many containers this function has started."""
        return self._started

    @property
    def logical_id(self) -> str:
        return self.spec.logical_id

    def invoke(self, event: Any) -> Any:
        """Call the handler as Lambda would; exceptions propagate (the caller decides retries).

        Lambda stops a handler at its Timeout; a thread cannot be stopped, so an overrun is only
        logged, and the context's remaining time reaches zero for handlers that check it.
        """
        handler = self._container()
        try:
            return self._run(handler, event)
        finally:
            with self._changed:
                self._idle.append(handler)
                self._changed.notify()

    def _run(self, handler: Handler, event: Any) -> Any:
        started = time.monotonic()
        context = LambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.spec.memory_size,
            aws_request_id=str(uuid.uuid4()),
            deadline=started + self.spec.timeout,
            log_group_name=f"/aws/lambda/{self.name}",
        )
        cold_start = id(handler) not in self._warm
        self._warm.add(id(handler))
        try:
            return _in_own_log_context(handler, event, context, cold_start=cold_start)
        finally:
            elapsed = time.monotonic() - started
            if elapsed > self.spec.timeout:
                logger.warning(
                    "%s ran %.1f s, over its %d s Timeout (Lambda would have stopped it)",
                    self.logical_id,
                    elapsed,
                    self.spec.timeout,
                )

    def _container(self) -> Handler:
        """An idle container, a new one while fewer than the most are started, else the next one freed."""
        with self._changed:
            while not self._idle and self._started >= self._max_containers:
                self._changed.wait()
            if self._idle:
                return self._idle.pop()
            number = self._started
            self._started += 1
        started = time.monotonic()
        try:
            handler = self._load(number)  # a cold start, outside the lock: the others go on meanwhile
            logger.info("%s: container %d started (%.0f ms)", self.logical_id, number,
                        (time.monotonic() - started) * 1000)
            return handler
        except BaseException:
            with self._changed:
                self._started -= 1
                self._changed.notify()
            raise
