"""Pure inventory rules: SKU identity, availability, kits and cycles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stocksync.inventory.rules import (
    StockAtLocation,
    StockNode,
    available,
    available_at,
    clean_sku,
    find_cycle,
    kit_available,
    normalize_sku,
    search_text,
    search_words,
)


def test_given_skus_differing_in_case_and_spaces_when_normalized_then_they_are_one_sku():
    assert normalize_sku("  ABC-1 ") == normalize_sku("abc-1") == "abc-1"


def test_given_a_padded_sku_when_cleaned_then_its_case_is_kept():
    assert clean_sku("  Mug-Blue ") == "Mug-Blue"


def test_given_a_blank_sku_when_cleaned_then_it_is_refused():
    with pytest.raises(ValueError, match="empty"):
        clean_sku("   ")


def test_given_a_title_when_split_then_words_are_lower_case_and_unique():
    assert search_words("Blue Mug, blue LID") == ["blue", "mug", "lid"]
    assert search_text("MUG-1", "Blue Mug") == "mug-1 blue mug"


def test_given_levels_at_three_locations_when_channel_sells_two_then_only_those_count():
    levels = [StockAtLocation("a", 5, 1), StockAtLocation("b", 3, 0), StockAtLocation("c", 100, 0)]
    assert available_at(levels, ["a", "b"]) == 7


def test_given_more_allocated_than_held_when_available_then_it_is_zero_not_negative():
    assert available_at([StockAtLocation("a", 2, 5)], ["a"]) == 0


def test_given_one_location_oversold_when_summed_then_its_shortfall_reduces_the_total():
    levels = [StockAtLocation("a", 0, 2), StockAtLocation("b", 5, 0)]
    assert available_at(levels, ["a", "b"]) == 3


def test_given_kit_of_two_components_when_available_then_the_scarcest_decides():
    assert kit_available([(10, 2), (7, 3)]) == 2


def test_given_kit_without_components_when_available_then_none_can_be_built():
    assert kit_available([]) == 0


def test_given_nested_kits_when_available_then_inner_kits_are_computed_first():
    nodes = {
        "screw": StockNode(levels=(StockAtLocation("w", 100, 0),)),
        "board": StockNode(levels=(StockAtLocation("w", 9, 1),)),
        "shelf": StockNode(components=(("board", 2), ("screw", 8))),
        "bookcase": StockNode(components=(("shelf", 3),)),
    }
    assert available("shelf", nodes, ["w"]) == 4
    assert available("bookcase", nodes, ["w"]) == 1


def test_given_kit_that_would_contain_itself_through_a_child_when_checked_then_the_cycle_is_named():
    graph = {"b": ["c"], "c": ["a"]}
    assert find_cycle("a", graph, ["b"]) == ["a", "b", "c", "a"]


def test_given_kit_containing_itself_directly_when_checked_then_it_is_a_cycle():
    assert find_cycle("a", {}, ["a"]) == ["a", "a"]


def test_given_shared_components_without_a_loop_when_checked_then_there_is_no_cycle():
    graph = {"b": ["d"], "c": ["d"], "d": []}
    assert find_cycle("a", graph, ["b", "c"]) == []


levels_strategy = st.lists(
    st.builds(StockAtLocation, st.sampled_from("abcd"), st.integers(0, 1000), st.integers(0, 1000)), max_size=8
)


@given(levels_strategy, st.sets(st.sampled_from("abcd")))
def test_available_is_never_negative_and_never_more_than_held(levels, locations):
    result = available_at(levels, locations)
    assert result >= 0
    assert result <= sum(level.level for level in levels if level.location_id in locations)


@given(st.lists(st.tuples(st.integers(-50, 1000), st.integers(1, 20)), min_size=1, max_size=6))
def test_kit_available_is_enough_for_every_component(components):
    kits = kit_available(components)
    assert kits >= 0
    for component_available, quantity in components:
        assert kits * quantity <= max(component_available, 0)
    assert any((kits + 1) * quantity > max(component_available, 0) for component_available, quantity in components)


@given(st.text(min_size=1).filter(lambda s: s.strip()))
def test_normalizing_is_idempotent_and_ignores_surrounding_space(sku):
    assert normalize_sku(normalize_sku(sku)) == normalize_sku(sku)
    assert normalize_sku(f"  {sku}\t") == normalize_sku(sku)
