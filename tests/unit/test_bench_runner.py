"""`make bench`: a module that fails is reported and costs no other module's figures."""

from __future__ import annotations

import json
import os
import time
import types

import pytest

import bench
from bench import __main__ as runner


@pytest.fixture(autouse=True)
def idle_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bench.PACE_VARIABLE, "1.00")


def fake_modules(monkeypatch: pytest.MonkeyPatch, modules: dict[str, object]) -> None:
    def measured(name: str) -> object:
        return modules[name.removeprefix("bench.")]

    monkeypatch.setattr(runner.importlib, "import_module", measured)


def module_measuring(**figures: float) -> object:
    return types.SimpleNamespace(measure=lambda: figures)


def failing_module() -> object:
    def measure() -> dict[str, float]:
        raise RuntimeError("moto went away")

    return types.SimpleNamespace(measure=measure)


def test_given_one_module_fails_when_the_bench_runs_then_the_others_are_written_and_it_exits_1(
        monkeypatch, tmp_path, capsys):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"broken_figure": 7, "fast_figure": 1}))
    monkeypatch.setattr(runner, "RESULTS", results)
    monkeypatch.setattr(runner, "DEFAULT", ("fast", "broken", "slow"))
    fake_modules(monkeypatch, {"fast": module_measuring(fast_figure=2), "broken": failing_module(),
                               "slow": module_measuring(slow_figure=3)})

    with pytest.raises(SystemExit) as exit_code:
        runner.main([])

    assert exit_code.value.code == 1
    assert json.loads(results.read_text()) == {"broken_figure": 7, "fast_figure": 2, "slow_figure": 3,
                                               "bench_pace": 1.0,
                                               "failed_modules": {"broken": "RuntimeError: moto went away"}}
    assert "moto went away" in capsys.readouterr().err


def test_given_a_module_that_failed_last_time_when_it_measures_again_then_its_failure_is_gone(monkeypatch, tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"broken_figure": 7, "other_figure": 1,
                                   "failed_modules": {"broken": "RuntimeError: moto went away", "other": "x"}}))
    monkeypatch.setattr(runner, "RESULTS", results)
    fake_modules(monkeypatch, {"broken": module_measuring(broken_figure=8)})

    runner.main(["broken"])

    assert json.loads(results.read_text()) == {"broken_figure": 8, "other_figure": 1, "bench_pace": 1.0,
                                               "failed_modules": {"other": "x"}}


def test_given_every_module_measures_when_the_bench_runs_then_results_hold_exactly_this_run(monkeypatch, tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"gone_figure": 1}))
    monkeypatch.setattr(runner, "RESULTS", results)
    monkeypatch.setattr(runner, "DEFAULT", ("fast",))
    fake_modules(monkeypatch, {"fast": module_measuring(fast_figure=2)})

    runner.main([])

    assert json.loads(results.read_text()) == {"fast_figure": 2, "bench_pace": 1.0}


def test_given_a_busy_machine_when_the_bench_runs_then_its_waits_are_as_many_times_longer(monkeypatch):
    monkeypatch.delenv(bench.PACE_VARIABLE)
    monkeypatch.setattr(bench, "_pace_work", lambda: time.sleep(3 * bench.PACE_REFERENCE_S))
    monkeypatch.setattr(bench, "PACE_TRIES", 1)

    assert bench.paced(60) == pytest.approx(180, rel=0.1)
    assert os.environ[bench.PACE_VARIABLE]  # measured once: the modules' processes inherit it


def test_given_a_machine_faster_than_the_reference_then_the_waits_are_never_shorter(monkeypatch):
    monkeypatch.delenv(bench.PACE_VARIABLE)
    monkeypatch.setattr(bench, "_pace_work", lambda: None)

    assert bench.paced(60) == 60
