"""The pure pieces of the local stack: batch outcomes, schedule rates, settings, the banner and a
function's warm containers."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infrastructure.local.event_sources import batching, maximum_concurrency, rate_seconds, succeeded_messages
from infrastructure.local.harness import READY_MARKER, read_ready, state_file
from infrastructure.local.lambda_runtime import LocalFunction
from infrastructure.local.sign_in import SignIn
from infrastructure.local.template import Template, TemplateError, load_template
from infrastructure.local_stack import DEFAULT_STANDIN_PORT, Settings, _state_written, banner
from infrastructure.standins.registry import STANDINS, standin_ports

MESSAGES = [{"MessageId": "m1"}, {"MessageId": "m2"}, {"MessageId": "m3"}]


def test_given_reported_failures_when_batch_settles_then_only_the_others_are_deleted() -> None:
    result = {"batchItemFailures": [{"itemIdentifier": "m2"}]}

    assert succeeded_messages(MESSAGES, result, report_batch_item_failures=True) == [MESSAGES[0], MESSAGES[2]]


@pytest.mark.parametrize("result", [None, {}, {"batchItemFailures": []}])
def test_given_no_failures_reported_when_batch_settles_then_all_are_deleted(result: object) -> None:
    assert succeeded_messages(MESSAGES, result, report_batch_item_failures=True) == MESSAGES


@pytest.mark.parametrize(
    "result",
    ["not a response", {"batchItemFailures": [{"itemIdentifier": "unknown"}]}, {"batchItemFailures": [{}]}],
)
def test_given_malformed_failure_report_when_batch_settles_then_whole_batch_fails(result: object) -> None:
    assert succeeded_messages(MESSAGES, result, report_batch_item_failures=True) == []


def test_given_no_partial_failure_reporting_when_handler_returns_then_all_are_deleted() -> None:
    result = {"batchItemFailures": [{"itemIdentifier": "m2"}]}

    assert succeeded_messages(MESSAGES, result, report_batch_item_failures=False) == MESSAGES


@pytest.mark.parametrize(
    ("expression", "seconds"), [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200)]
)
def test_given_rate_expression_when_parsed_then_seconds(expression: str, seconds: int) -> None:
    assert rate_seconds(expression) == seconds


def test_given_cron_expression_when_parsed_then_clear_error() -> None:
    with pytest.raises(TemplateError, match="cron"):
        rate_seconds("cron(0 3 * * ? *)")


def test_given_empty_environment_when_settings_read_then_defaults() -> None:
    settings = Settings.from_environment({})

    assert (settings.api_port, settings.aws_port, settings.speedup, settings.seed) == (8000, 0, 1.0, True)
    assert settings.standin_port == 8101
    assert len(settings.api_key) >= 24


def test_given_a_first_stand_in_port_when_stand_ins_placed_then_one_port_each_in_order_and_0_means_any() -> None:
    ports = standin_ports(8101)

    assert list(ports.values()) == list(range(8101, 8101 + len(STANDINS)))
    assert ports["akeneo"] == 8101
    assert set(standin_ports(0).values()) == {0}
    assert Settings.from_environment({"STOCKSYNC_STANDIN_PORT": "0"}).standin_port == 0
    assert Settings.from_environment({}).standin_port == DEFAULT_STANDIN_PORT


def test_given_the_readme_variables_when_banner_printed_then_one_pasteable_export_line() -> None:
    text = banner("http://127.0.0.1:8000", "http://127.0.0.1:5000", "k-1_x", "demo",
                  {"amazon": "http://127.0.0.1:8102"},
                  exports={"API": "http://127.0.0.1:8000", "KEY": "k-1_x", "ITEM": "abc"})

    (line,) = [line for line in text.splitlines() if line.strip().startswith("export ")]
    assert line.strip() == "export API=http://127.0.0.1:8000 KEY=k-1_x ITEM=abc"


def test_given_no_state_file_setting_when_read_then_temp_dir_and_empty_means_none(tmp_path: Path) -> None:
    assert state_file({}) == Path(tempfile.gettempdir()) / "stocksync-local-stack.json"
    assert state_file({"STOCKSYNC_STATE_FILE": ""}) is None
    assert state_file({"STOCKSYNC_STATE_FILE": str(tmp_path / "s.json")}) == tmp_path / "s.json"


def test_given_a_banner_when_the_stack_serves_then_the_state_file_holds_its_ready_payload_until_it_stops(
        tmp_path: Path) -> None:
    ready = banner("http://127.0.0.1:8000", "http://127.0.0.1:5000", "key", "demo").splitlines()[-1]
    path = tmp_path / "stack.json"

    with _state_written(path, ready):
        assert json.loads(path.read_text())["api_key"] == "key"
        assert path.stat().st_mode & 0o077 == 0  # only this user reads the key
    assert not path.exists()


def test_given_running_stack_when_banner_printed_then_last_line_is_machine_readable() -> None:
    text = banner("http://127.0.0.1:8000", "http://127.0.0.1:5000", "key", "seller demo (3 products)",
                  {"amazon": "http://127.0.0.1:7001"})

    last = text.splitlines()[-1]
    assert last.startswith(f"{READY_MARKER} ")
    assert read_ready(last) == {
        "api_url": "http://127.0.0.1:8000",
        "aws_endpoint": "http://127.0.0.1:5000",
        "api_key": "key",
        "standins": {"amazon": "http://127.0.0.1:7001"},
    }
    assert "  Swagger UI  http://127.0.0.1:8000/swagger" in text
    assert "  amazon      http://127.0.0.1:7001   (stand-in)" in text


def test_given_the_demo_sign_in_when_banner_printed_then_it_says_who_to_sign_in_as_and_ready_carries_it() -> None:
    sign_in = SignIn(region="eu-west-1", user_pool_id="eu-west-1_abc", client_id="console-1",
                     endpoint="http://127.0.0.1:5000/", username="demo@stocksync.local", password="Amber-Cedar-0042")

    text = banner("http://127.0.0.1:8000", "http://127.0.0.1:5000", "key", "demo", sign_in=sign_in)

    assert "  Sign in as demo@stocksync.local / Amber-Cedar-0042" in text
    assert read_ready(text.splitlines()[-1])["sign_in"] == {
        "region": "eu-west-1", "user_pool_id": "eu-west-1_abc", "client_id": "console-1",
        "endpoint": "http://127.0.0.1:5000/", "username": "demo@stocksync.local", "password": "Amber-Cedar-0042",
    }


def test_given_a_demo_password_setting_when_settings_read_then_it_is_chosen_and_unset_means_random() -> None:
    assert Settings.from_environment({"STOCKSYNC_DEMO_PASSWORD": "Mine-Is-Long-42"}).demo_password == "Mine-Is-Long-42"
    assert Settings.from_environment({}).demo_password is None


class _Containers:
    """A loader of fake containers: each answers its own number; "slow" events wait for `release`."""

    def __init__(self) -> None:
        self.loaded: list[int] = []
        self.busy, self.release = threading.Event(), threading.Event()

    def __call__(self, number: int):
        self.loaded.append(number)

        def handler(event: str, _context: object) -> int:
            if event == "slow":
                self.busy.set()
                assert self.release.wait(10)
            return number

        return handler


def _function(runner_template: Template, containers: _Containers, most: int) -> LocalFunction:
    return LocalFunction(runner_template.function("ConsumerFunction"), containers, "consumer", "arn:consumer",
                         max_containers=most)


def test_given_a_busy_container_when_another_event_arrives_then_a_second_container_takes_it_at_once(
        runner_template: Template) -> None:
    containers = _Containers()
    function = _function(runner_template, containers, most=2)

    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(function.invoke, "slow")
        assert containers.busy.wait(10)
        fast = function.invoke("fast")  # answered while the first container is still busy
        containers.release.set()

        assert (slow.result(), fast) == (0, 1)
    assert function.invoke("again") in (0, 1) and containers.loaded == [0, 1]  # warm: no third import


def test_given_every_container_busy_when_another_event_arrives_then_it_waits_for_one(
        runner_template: Template) -> None:
    containers = _Containers()
    function = _function(runner_template, containers, most=1)
    answered: list[int] = []

    with ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(function.invoke, "slow")
        assert containers.busy.wait(10)
        waiting = pool.submit(lambda: answered.append(function.invoke("fast")))
        time.sleep(0.2)
        assert answered == []  # still waiting: the only container is busy
        containers.release.set()
        waiting.result(10)

    assert answered == [0] and containers.loaded == [0]


@pytest.mark.parametrize(("scaling_config", "expected"), [(None, None), ({"MaximumConcurrency": 2}, 2),
                                                          ({"MaximumConcurrency": "1000"}, 1000)])
def test_given_an_sqs_event_scaling_config_when_read_then_its_maximum_concurrency(
    scaling_config: object, expected: int | None
) -> None:
    assert maximum_concurrency(scaling_config, "Fn event Queue") == expected


@pytest.mark.parametrize("scaling_config", [{"MaximumConcurrency": 1}, {"MaximumConcurrency": 1001},
                                            {"MaximumConcurrency": 2.5}, {"MaximumConcurrency": True},
                                            {"MaximumConcurrency": 5, "MinimumConcurrency": 2}])
def test_given_a_maximum_concurrency_lambda_refuses_when_read_then_the_local_stack_refuses_it_naming_the_event(
    scaling_config: object,
) -> None:
    with pytest.raises(TemplateError, match="Fn event Queue"):
        maximum_concurrency(scaling_config, "Fn event Queue")


def test_given_the_template_when_its_sqs_events_are_read_then_the_local_stack_takes_every_maximum_concurrency() -> None:
    maxima = {
        (function.logical_id, event.name): maximum_concurrency(event.properties.get("ScalingConfig"), event.name)
        for function in load_template().functions()
        for event in function.events_of_type("SQS")
    }

    assert maxima and None not in maxima.values()


@pytest.mark.parametrize(("properties", "expected"), [({}, (10, 0.0)), ({"BatchSize": 3}, (3, 0.0)),
                                                      ({"BatchSize": 1000, "MaximumBatchingWindowInSeconds": 2},
                                                       (1000, 2.0))])
def test_given_an_sqs_event_batch_when_read_then_its_size_and_window(
    properties: dict[str, int], expected: tuple[int, float]
) -> None:
    assert batching(properties, "Fn event Queue") == expected


@pytest.mark.parametrize("properties", [{"BatchSize": 11}, {"BatchSize": 1000, "MaximumBatchingWindowInSeconds": 0},
                                        {"BatchSize": 0}, {"BatchSize": 10_001, "MaximumBatchingWindowInSeconds": 1},
                                        {"MaximumBatchingWindowInSeconds": 301}])
def test_given_a_batch_lambda_refuses_when_read_then_the_local_stack_refuses_it_naming_the_event(
    properties: dict[str, int],
) -> None:
    with pytest.raises(TemplateError, match="Fn event Queue"):
        batching(properties, "Fn event Queue")


def test_given_the_stock_queue_event_when_read_then_a_sale_is_handed_over_at_once_with_partial_failures() -> None:
    (stock,) = load_template().function("StockSubmitterFunction").events_of_type("SQS")
    properties = stock.properties

    # No window: a batch goes as soon as a message is visible (SQS then allows 10 at most); the
    # function takes what else waits itself, so a burst is still one run.
    assert batching(properties, stock.name) == (10, 0.0)
    assert "MaximumBatchingWindowInSeconds" not in properties
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_given_the_template_when_its_sqs_events_are_read_then_the_local_stack_takes_every_batch() -> None:
    batches = {(function.logical_id, event.name): batching(event.properties, event.name)
               for function in load_template().functions() for event in function.events_of_type("SQS")}

    assert batches


def test_given_the_console_served_when_banner_printed_then_it_shows_its_url_and_the_ready_line_carries_it() -> None:
    text = banner("http://127.0.0.1:8000", "http://127.0.0.1:5000", "key", "demo",
                  console_url="http://127.0.0.1:8080")

    assert "  Console     http://127.0.0.1:8080" in text.splitlines()
    ready = read_ready(text.splitlines()[-1])
    assert ready is not None and ready["console_url"] == "http://127.0.0.1:8080"
    assert Settings.from_environment({}).console_port == 8080
    assert Settings.from_environment({"STOCKSYNC_CONSOLE_PORT": "0"}).console_port == 0


def test_given_the_stock_queue_when_the_local_stack_polls_it_then_two_invocations_may_run_at_once() -> None:
    """As Lambda's MaximumConcurrency 2 allows: one held by a slow channel does not hold back the next."""
    from infrastructure.local.event_sources import LOCAL_CONCURRENCY, SqsEventSource

    def source(maximum: int | None) -> SqsEventSource:
        return SqsEventSource(function=None, event_name="Stock", queue_url="", queue_arn="",  # type: ignore[arg-type]
                              batch_size=10, batching_window_seconds=0.0, report_batch_item_failures=True,
                              enabled=True, region="eu-west-1", maximum_concurrency=maximum)

    assert (source(2).pollers, source(10).pollers, source(None).pollers) == (2, LOCAL_CONCURRENCY, 1)
