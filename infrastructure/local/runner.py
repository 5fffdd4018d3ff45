"""Plays AWS's part for the template's functions: SQS event sources, schedules and API Gateway.

Everything is read from the template's `Events`; nothing about which function serves which queue
or route is written here. All functions run in this process, so their handlers see one
environment (`ProvisionedStack.environment`, put into os.environ by whoever starts the runner).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import boto3

from infrastructure.local.api_gateway import ApiGateway, ApiServer, Route
from infrastructure.local.cognito_authorizer import cognito_authorizers
from infrastructure.local.event_sources import ScheduleSource, ScheduleTimer, SqsEventSource, SqsPoller
from infrastructure.local.lambda_runtime import LocalFunction
from infrastructure.local.provision import ProvisionedStack
from infrastructure.local.template import EventSpec, Template, TemplateError

logger = logging.getLogger(__name__)

_SCHEDULE_TYPES = ("Schedule", "ScheduleV2")
_PLAYED_EVENT_TYPES = frozenset({"SQS", "Api", *_SCHEDULE_TYPES})
_API_HOST = "127.0.0.1"

_Source = TypeVar("_Source")


class Runner:
    """The functions of a provisioned template, wired to their event sources.

    Handlers are imported on construction (so `fire_schedule` works without `start`);
    `start()` begins polling queues, firing schedules and serving the API; `stop()` ends and
    joins every thread it started.
    """

    def __init__(
        self,
        template: Template,
        stack: ProvisionedStack,
        api_port: int = 8000,
        api_key: str = "",
        speedup: float = 1.0,
    ) -> None:
        if not api_key:
            raise ValueError("the local API needs an API key")
        if speedup <= 0:
            raise ValueError("speedup must be positive")
        self.template = template
        self.stack = stack
        self.speedup = speedup
        self._api_port = api_port
        self.functions = {spec.logical_id: LocalFunction.load(stack, spec.logical_id) for spec in template.functions()}
        self._check_event_types()
        self.sqs_sources = self._event_sources("SQS", SqsEventSource.from_event)
        self.schedules = self._event_sources(_SCHEDULE_TYPES, ScheduleSource.from_event)
        self.gateway = ApiGateway(self._event_sources("Api", Route.from_event), api_key, cognito_authorizers(stack))
        self._stop_requested = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: ApiServer | None = None

    @property
    def api_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the runner is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("the runner is already started")
        self._stop_requested.clear()
        self._server = ApiServer((_API_HOST, self._api_port), self.gateway)  # fails first if the port is taken
        sqs = boto3.client("sqs", region_name=self.stack.region)  # shared: clients are thread-safe
        self._threads += [SqsPoller(source, sqs, self._stop_requested, number=n)
                          for source in self.sqs_sources if source.enabled for n in range(source.pollers)]
        self._threads += [
            ScheduleTimer(source, self.speedup, self._stop_requested) for source in self.schedules if source.enabled
        ]
        self._threads.append(
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="api-gateway")
        )
        for thread in self._threads:
            thread.start()
        logger.info(
            "runner started: %d queue pollers, %d schedules, %d API routes at %s",
            sum(isinstance(thread, SqsPoller) for thread in self._threads),
            sum(isinstance(thread, ScheduleTimer) for thread in self._threads),
            len(self.gateway.routes),
            self.api_url,
        )

    def stop(self) -> None:
        """Stop every thread and wait for it: pollers finish their current long poll (about 1 s)."""
        self._stop_requested.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._server = None

    def __enter__(self) -> Runner:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def fire_schedule(self, function_id: str, event_name: str) -> Any:
        """Run a schedule now (enabled or not) and return what the handler returned."""
        for source in self.schedules:
            if source.function.logical_id == function_id and source.event_name == event_name:
                return source.fire()
        raise KeyError(f"{function_id} has no Schedule/ScheduleV2 event {event_name!r}")

    def _event_sources(
        self,
        types: str | tuple[str, ...],
        build: Callable[[LocalFunction, EventSpec, ProvisionedStack], _Source],
    ) -> list[_Source]:
        wanted = (types,) if isinstance(types, str) else types
        return [
            build(function, event, self.stack)
            for function in self.functions.values()
            for event in function.spec.events_of_type(*wanted)
        ]

    def _check_event_types(self) -> None:
        for function in self.functions.values():
            for event in function.spec.events:
                if event.type not in _PLAYED_EVENT_TYPES:
                    raise TemplateError(
                        f"{function.logical_id} event {event.name}: type {event.type} is not played locally "
                        f"(supported: {', '.join(sorted(_PLAYED_EVENT_TYPES))})"
                    )
