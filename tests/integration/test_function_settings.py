"""Each function is given exactly the variables its settings model reads, and fails its cold start
naming the one that is missing."""

from __future__ import annotations

import pytest

from infrastructure.local.template import load_handler, load_template
from stocksync.core.settings import BY_FUNCTION, MissingSetting, StockSubmitterSettings
from stocksync.wiring import wiring


def test_given_the_template_when_read_then_each_function_is_given_exactly_what_its_settings_read():
    template = load_template()
    for function in template.functions():
        given = {name for name in function.environment if not name.startswith("POWERTOOLS_")}
        assert sorted(given) == sorted(BY_FUNCTION[function.logical_id].variables()), function.logical_id
    assert set(BY_FUNCTION) == {function.logical_id for function in template.functions()}


def test_given_a_missing_variable_when_a_function_starts_cold_then_it_fails_naming_the_variable(
        stack, monkeypatch):
    monkeypatch.delenv("JOBS_QUEUE_URL")
    wiring.cache_clear()
    with pytest.raises(MissingSetting, match="StockSubmitterFunction needs the environment variable"
                                              r"\(s\) JOBS_QUEUE_URL"):
        load_handler(load_template(), "StockSubmitterFunction")


def test_given_a_function_asks_for_what_it_is_not_given_when_built_then_the_variable_is_named(stack):
    with pytest.raises(RuntimeError, match="StockSubmitterFunction is given no SECRETS_PREFIX"):
        wiring(StockSubmitterSettings).pim_runner  # noqa: B018 - building it is the test
