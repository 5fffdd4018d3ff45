"""Lambda's part of an invocation, locally: each function's log lines name that function, although
every function of the local stack shares one Powertools Logger in one process."""

from __future__ import annotations

import io
import json
import logging
import threading
from types import SimpleNamespace
from typing import Any

from aws_lambda_powertools import Logger

from infrastructure.local.lambda_runtime import LocalFunction


def local_function(logical_id: str, handler: Any) -> LocalFunction:
    spec = SimpleNamespace(logical_id=logical_id, timeout=30, memory_size=256)
    return LocalFunction(spec, lambda _container: handler, f"stocksync-local-{logical_id}",  # type: ignore[arg-type]
                         f"arn:aws:lambda:eu-west-1:123456789012:function:stocksync-local-{logical_id}")


def logger_printing_to(printed: io.StringIO, service: str) -> Logger:
    """A Powertools Logger of its own per test (one per service name: Powertools reuses a name's logger)."""
    return Logger(service=service, logger_handler=logging.StreamHandler(printed))


def test_given_two_functions_sharing_one_logger_when_invoked_at_once_then_each_line_names_its_own_function():
    # Given one Powertools Logger, as the layer's, decorating two functions' handlers
    printed = io.StringIO()
    logger = logger_printing_to(printed, "runtime-test-concurrent")
    both_started = threading.Barrier(2)

    def handler_writing(who: str) -> Any:
        @logger.inject_lambda_context
        def handler(_event: Any, _context: Any) -> str:
            both_started.wait(timeout=10)  # the other invocation has put its context on the logger too
            logger.info("working", extra={"who": who})
            return who

        return handler

    submitter = local_function("StockSubmitterFunction", handler_writing("StockSubmitterFunction"))
    api = local_function("ApiFunction", handler_writing("ApiFunction"))

    # When both are invoked at the same time, on threads of their own as the runner does
    threads = [threading.Thread(target=function.invoke, args=({},)) for function in (submitter, api)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    # Then each line carries the name, ARN and memory of the function that wrote it
    lines = [json.loads(line) for line in printed.getvalue().splitlines()]
    assert sorted(line["who"] for line in lines) == ["ApiFunction", "StockSubmitterFunction"]
    for line in lines:
        assert line["function_name"] == f"stocksync-local-{line['who']}"
        assert line["function_arn"].endswith(f":function:stocksync-local-{line['who']}")
        assert line["function_memory_size"] == 256
    assert lines[0]["function_request_id"] != lines[1]["function_request_id"]


def test_given_a_container_when_invoked_twice_then_only_its_first_invocation_is_a_cold_start():
    printed = io.StringIO()
    logger = logger_printing_to(printed, "runtime-test-cold-start")

    @logger.inject_lambda_context
    def handler(_event: Any, _context: Any) -> None:
        logger.info("working")

    function = local_function("AutoMapperFunction", handler)
    function.invoke({})
    function.invoke({})

    assert [json.loads(line)["cold_start"] for line in printed.getvalue().splitlines()] == [True, False]


def test_given_an_invocation_when_it_ends_then_its_keys_do_not_stay_on_the_caller():
    printed = io.StringIO()
    logger = logger_printing_to(printed, "runtime-test-keys")

    local_function("OrderPollerFunction", logger.inject_lambda_context(lambda _event, _context: None)).invoke({})

    assert "function_request_id" not in logger.thread_safe_get_current_keys()
