"""Network faults in the stand-ins: timeouts, slow answers, connection resets and 5xx, at a seeded
rate, switched on at start (STOCKSYNC_STANDIN_FAULTS) or through `/_standin/faults`. Holds and
delays are short here (a slow answer a fraction of a second, a timeout's hold past the test client's
read timeout of 1 s)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.routing import Rule

from infrastructure.local_stack import Settings
from infrastructure.standins import registry
from infrastructure.standins.base import FAULT_KINDS, FaultPlan, FaultSettingError, StandIn, json_response
from stocksync.core.http_client import DEFAULT_TIMEOUT

# A busy 2-core machine (the suite's other worker, a local stack) can hold a plain answer for a few
# hundred milliseconds: the client's read timeout leaves that margin, a timeout's hold is well past it.
READ_TIMEOUT_S = 1.0  # the client's, in these tests
HOLD_S = 1.5  # a timeout's hold: past the client's read timeout
SLOW_S = 0.04


class Counting(StandIn):
    """One listing route and one stock route that counts the calls it served."""

    name = "counting"

    def __init__(self, **kwargs):
        self.served = 0
        self.listings = []
        super().__init__(**kwargs)

    def rules(self):
        return [Rule("/stock", endpoint="stock", methods=["POST"]),
                Rule("/items", endpoint="items", methods=["GET"])]

    def stock(self, request):
        with self.lock:
            self.served += 1
        return json_response({"ok": True})

    def items(self, request):
        return json_response({"items": []})


def plan(rate, *kinds, **settings):
    return FaultPlan(rate, kinds or FAULT_KINDS, hold_s=settings.pop("hold_s", HOLD_S),
                     slow_s=settings.pop("slow_s", SLOW_S), **settings)


def outcome(url: str, path: str = "/stock") -> str:
    """What the client saw: the status, or how the call failed."""
    try:
        answer = requests.post(f"{url}{path}", timeout=(1, READ_TIMEOUT_S))
    except requests.ReadTimeout:
        return "timeout"
    except requests.ConnectionError:
        return "reset"
    return str(answer.status_code)


@pytest.fixture
def standin():
    with Counting() as started:
        yield started


def test_given_30_percent_faults_of_every_kind_when_called_then_about_that_share_fails_each_kind_seen(standin):
    standin.inject_faults(plan(0.3, seed=7))

    with ThreadPoolExecutor(8) as callers:  # the timeouts wait side by side
        seen = list(callers.map(lambda _: outcome(standin.url), range(100)))

    state = standin.faults_state()
    assert 0.2 <= state["served"] / 100 <= 0.4, state
    assert set(state["served_by_kind"]) == set(FAULT_KINDS), state
    failed = sum(1 for what in seen if what != "200")
    # The client sees every fault but a slow answer (it comes, under the read timeout).
    assert failed == state["served"] - state["served_by_kind"]["slow"], (seen, state)
    assert {"timeout", "reset", "500", "503", "429"} & set(seen) >= {"timeout", "reset"}


def test_given_the_same_seed_when_the_same_calls_are_made_then_the_same_faults_happen(standin):
    def run(seed: int) -> list[str]:
        standin.inject_faults(plan(0.5, "reset", "5xx", seed=seed))
        return [outcome(standin.url) for _ in range(24)]

    first = run(3)
    assert run(3) == first
    assert run(4) != first
    assert "reset" in first and "200" in first


def test_given_timeouts_when_the_client_reads_then_it_gives_up_and_some_calls_were_served_all_the_same(standin):
    """A timeout's answer comes too late, or never: the client cannot tell whether its change was
    applied, and both happen."""
    standin.inject_faults(plan(1, "timeout", seed=1))

    with ThreadPoolExecutor(8) as callers:
        seen = list(callers.map(lambda _: outcome(standin.url), range(8)))

    assert seen == ["timeout"] * 8
    assert 0 < standin.served < 8, f"{standin.served} of 8 held calls were served"


def test_given_resets_when_called_then_the_connection_closes_unanswered_and_nothing_is_served(standin):
    standin.inject_faults(plan(1, "reset", seed=1))

    with pytest.raises(requests.ConnectionError):
        requests.post(f"{standin.url}/stock", timeout=(1, 5))

    assert standin.served == 0


def test_given_slow_answers_when_called_then_served_after_a_delay_under_the_read_timeout(standin):
    standin.inject_faults(plan(1, "slow", seed=1, slow_s=0.2))

    started = time.monotonic()
    answer = requests.post(f"{standin.url}/stock", timeout=(1, 5))

    assert answer.status_code == 200
    assert 0.1 <= time.monotonic() - started < 5
    assert standin.served == 1


def test_given_faults_for_a_while_when_the_time_is_up_then_calls_work_again(standin):
    standin.inject_faults(plan(1, "5xx", seed=1, for_s=0.15))
    assert outcome(standin.url) in {"500", "503", "429"}

    time.sleep(0.2)

    assert outcome(standin.url) == "200"
    assert standin.faults_state()["active"] is False
    assert standin.faults_state()["served"] == 1


def test_given_faults_on_every_call_when_control_routes_or_listings_are_called_then_they_answer(standin):
    standin.inject_faults(plan(1, seed=1))

    for path in ("listings", "violations", "orders", "faults"):
        assert requests.get(f"{standin.url}/_standin/{path}", timeout=(1, 5)).status_code == 200
    assert standin.faults_state()["served"] == 0


def test_given_endpoints_when_faults_are_on_then_only_those_fail(standin):
    standin.inject_faults(plan(1, "reset", endpoints=frozenset({"stock"}), seed=1))

    assert requests.get(f"{standin.url}/items", timeout=(1, 5)).status_code == 200
    assert outcome(standin.url) == "reset"


def test_given_the_control_route_when_faults_are_switched_on_and_off_then_it_says_so(standin):
    url = f"{standin.url}/_standin/faults"
    switched = requests.post(url, json={"rate": 1, "kinds": ["reset"], "seed": 2, "for_s": 30}, timeout=5).json()
    assert (switched["rate"], switched["kinds"], switched["active"]) == (1.0, ["reset"], True)
    assert 0 < switched["remaining_s"] <= 30
    assert outcome(standin.url) == "reset"

    off = requests.post(url, json={"rate": 0}, timeout=5).json()

    assert (off["rate"], off["active"], off["served_by_kind"]) == (0.0, False, {"reset": 1})
    assert outcome(standin.url) == "200"
    for bad in ({"rate": 2}, {"rate": 0.5, "kinds": ["flood"]}, {"rate": "lots"}, {"rate": 0.1, "burst": 3}):
        refused = requests.post(url, json=bad, timeout=5)
        assert refused.status_code == 400, bad
        assert "bad fault switch" in refused.json()["message"]


def test_given_the_environment_setting_when_read_then_it_is_the_plan_and_nonsense_is_refused():
    setting = "rate=0.3,kinds=timeout+slow+reset+5xx,seed=7,for_s=30"
    parsed = FaultPlan.parse(setting)
    assert parsed == FaultPlan(0.3, FAULT_KINDS, seed=7, for_s=30)
    assert Settings.from_environment({"STOCKSYNC_STANDIN_FAULTS": setting}).faults == parsed
    assert Settings.from_environment({}).faults is None
    with pytest.raises(SystemExit, match="STOCKSYNC_STANDIN_FAULTS: rate must be within"):
        Settings.from_environment({"STOCKSYNC_STANDIN_FAULTS": "rate=3"})
    assert parsed.hold_s > DEFAULT_TIMEOUT[1]  # past our client's read timeout
    assert FaultPlan.parse("rate=0.1,statuses=502+504,hold_s=2").statuses == (502, 504)
    for nonsense in ("rate", "rate=1.5", "rate=0.3,kinds=flood", "rate=0.3,seed=x", "rate=0.3,for_s=0"):
        with pytest.raises(FaultSettingError):
            FaultPlan.parse(nonsense)


class Other(Counting):
    name = "other"


def test_given_a_fault_plan_when_the_stand_ins_start_then_each_serves_it_on_its_own_generator(monkeypatch):
    monkeypatch.setattr(registry, "STANDINS", {"counting": f"{__name__}:Counting", "other": f"{__name__}:Other"})
    standins = registry.start_standins(faults=FaultPlan(0.3, ("5xx",), seed=7))
    try:
        states = {name: standin.faults_state() for name, standin in standins.items()}
    finally:
        registry.stop_standins(standins)
    assert all(state["active"] and state["rate"] == 0.3 for state in states.values()), states
    draws = {name: standin._random_faults.chance.random() for name, standin in standins.items()}
    assert len(set(draws.values())) == len(draws), "stand-ins sharing a plan must not fail in step"
