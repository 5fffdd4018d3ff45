"""The quantity rules of the stock sync, pinned by properties."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from stocksync.channels.magento import split_quantity
from stocksync.stock_sync.rules import Limits, is_synced, needs_submission, target_quantity

availability = st.integers(min_value=-1000, max_value=1_000_000)
limit = st.none() | st.integers(min_value=0, max_value=100_000)
percentage = st.none() | st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda p: round(p, 2))
limits = st.builds(Limits, max_listed=limit, end_when=limit, percentage=percentage)


@given(availability, limits)
def test_given_any_limits_then_the_target_is_never_negative_nor_above_available(available, rules):
    target = target_quantity(available, rules)
    assert 0 <= target <= max(available, 0)


@given(availability, limits)
def test_given_max_listed_then_it_caps_the_target(available, rules):
    if rules.max_listed is not None:
        assert target_quantity(available, rules) <= rules.max_listed


@given(availability, st.integers(min_value=0, max_value=100_000), limits)
def test_given_available_at_or_below_end_when_then_zero(available, end_when, rules):
    rules = Limits(rules.max_listed, end_when, rules.percentage)
    if available <= end_when:
        assert target_quantity(available, rules) == 0


@given(st.integers(min_value=0, max_value=1_000_000), st.integers(min_value=0, max_value=100))
def test_given_a_percentage_then_the_floor_of_that_share(available, share):
    assert target_quantity(available, Limits(percentage=share)) == math.floor(available * share / 100)


@given(availability)
def test_given_no_limits_then_available_floored_at_zero(available):
    assert target_quantity(available, Limits()) == max(available, 0)


def test_given_percentage_then_max_listed_is_applied_after_the_share():
    assert target_quantity(100, Limits(max_listed=30, percentage=50)) == 30
    assert target_quantity(100, Limits(max_listed=60, percentage=50)) == 50
    assert target_quantity(10, Limits(percentage=33.3)) == 3


@given(limits, limits)
def test_given_listing_limits_then_missing_ones_come_from_the_channel(own, defaults):
    merged = own.over(defaults)
    for name in ("max_listed", "end_when", "percentage"):
        mine = getattr(own, name)
        assert getattr(merged, name) == (mine if mine is not None else getattr(defaults, name))


@given(st.booleans(), st.booleans(), st.booleans())
def test_given_fba_or_ignore_sync_then_never_synced(fba, ignore, linked):
    assert is_synced(fba=fba, ignore_sync=ignore, linked=linked) == (linked and not fba and not ignore)


@given(st.integers(0, 100), st.none() | st.integers(0, 100), st.sampled_from([None, "ok", "error", "pending"]))
def test_given_a_submitted_quantity_then_only_a_different_target_an_error_or_force_sends(target, sent, status):
    expected = sent is None or sent != target or status == "error"
    assert needs_submission(target, sent, status=status, forced=False) == expected
    assert needs_submission(target, sent, status=status, forced=True)


@given(st.integers(min_value=0, max_value=500),
       st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(min_value=-5, max_value=200), min_size=1))
def test_given_any_target_and_shares_when_split_then_the_parts_sum_to_the_target_and_none_is_negative(target, shares):
    split = split_quantity(target, shares)
    assert sum(split.values()) == target and set(split) == set(shares)
    assert all(part >= 0 for part in split.values())


def test_given_a_limit_lowering_the_total_when_split_then_each_source_keeps_at_most_its_own_stock():
    assert split_quantity(5, {"main": 4, "overflow": 6}) == {"main": 4, "overflow": 1}
    assert split_quantity(12, {"main": 4, "overflow": 6}) == {"main": 6, "overflow": 6}
    assert split_quantity(0, {"main": 4}) == {"main": 0}
