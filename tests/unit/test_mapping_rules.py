"""Auto-link matching, identities and totals deltas: pure rules, no AWS."""

from __future__ import annotations

from stocksync.inventory.rules import normalize_sku
from stocksync.mapping.rules import (
    ItemFacts,
    ItemIndex,
    ListingFacts,
    ListingLimits,
    TotalsDelta,
    barcode_key,
    effective_limits,
    link_delta,
    plan_auto_links,
)


def _listing(sku: str, **kw) -> ListingFacts:
    return ListingFacts(sku=sku, sku_key=normalize_sku(sku), **kw)


def test_given_skus_differing_in_case_and_spaces_when_planned_then_they_link_keeping_the_listing_sku():
    index = ItemIndex([ItemFacts("i1", "ABC-1"), ItemFacts("i2", "x 2")])

    plan = plan_auto_links([_listing("  abc-1 "), _listing("X 2"), _listing("nope")], index)

    assert [(link.sku, link.item_id) for link in plan.links] == [("  abc-1 ", "i1"), ("X 2", "i2")]
    assert plan.counts() == {"candidates": 3, "linked": 2, "ambiguous": 0, "unmatched": 1}


def test_given_linked_or_removed_listings_when_planned_then_they_are_not_candidates():
    index = ItemIndex([ItemFacts("i1", "A"), ItemFacts("i2", "B")])

    plan = plan_auto_links([_listing("A", linked_item_id="i9"), _listing("B", removed=True)], index)

    assert plan.links == [] and plan.candidates == 0


def test_given_one_sku_matching_two_items_when_planned_then_none_is_linked_and_it_is_reported():
    index = ItemIndex([ItemFacts("i1", "dup"), ItemFacts("i2", "DUP ")])

    plan = plan_auto_links([_listing("Dup")], index)

    assert plan.links == []
    assert plan.ambiguous == [{"skus": ["Dup"], "reason": "matches 2 items by sku", "item_ids": ["i1", "i2"]}]


def test_given_barcode_matching_when_skus_differ_then_the_barcode_links_and_upc_equals_ean():
    index = ItemIndex([ItemFacts("i1", "OURS-1", barcode="0012345678905")], by="barcode")

    plan = plan_auto_links([_listing("theirs", barcode="012345678905")], index)

    assert [(link.item_id, link.matched_by) for link in plan.links] == [("i1", "barcode")]


def test_given_sku_matching_only_when_barcodes_agree_then_nothing_links():
    index = ItemIndex([ItemFacts("i1", "OURS-1", barcode="5012345678900")], by="sku")

    assert plan_auto_links([_listing("theirs", barcode="5012345678900")], index).links == []


def test_given_asin_matching_when_skus_differ_then_the_asin_links():
    index = ItemIndex([ItemFacts("i1", "OURS-1", asin="b00abc")], by="asin")

    plan = plan_auto_links([_listing("theirs", asin=" B00ABC ")], index)

    assert [(link.item_id, link.matched_by) for link in plan.links] == [("i1", "asin")]


def test_given_one_listing_per_item_when_two_listings_share_a_barcode_then_neither_links():
    index = ItemIndex([ItemFacts("i1", "OURS", barcode="111")], by="barcode")

    plan = plan_auto_links([_listing("a", barcode="111"), _listing("b", barcode="111")], index,
                           one_listing_per_item=True)

    assert plan.links == []
    assert plan.ambiguous[0]["skus"] == ["a", "b"] and plan.counts()["ambiguous"] == 2


def test_given_one_listing_per_item_when_the_item_is_already_linked_then_a_new_listing_does_not_link():
    index = ItemIndex([ItemFacts("i1", "A")])

    plan = plan_auto_links([_listing("other", linked_item_id="i1"), _listing("a")], index, one_listing_per_item=True)

    assert plan.links == [] and "already linked" in plan.ambiguous[0]["reason"]


def test_given_several_listings_per_item_allowed_when_planned_then_all_link():
    index = ItemIndex([ItemFacts("i1", "OURS", barcode="111")], by="barcode")

    plan = plan_auto_links([_listing("a", barcode="111"), _listing("b", barcode="111")], index)

    assert [link.item_id for link in plan.links] == ["i1", "i1"]


def test_barcode_keys():
    assert barcode_key(" 0012345678905 ") == barcode_key("12345678905") == "12345678905"
    assert barcode_key("ISBN-X") == "isbn-x"
    assert barcode_key("  ") is None


def test_given_link_changes_when_counted_then_removed_listings_never_move_the_totals():
    assert link_delta(None, "i1", removed=False) == TotalsDelta(1, -1)
    assert link_delta("i1", None, removed=False) == TotalsDelta(-1, 1)
    assert link_delta("i1", "i2", removed=False) == TotalsDelta()
    assert link_delta(None, "i1", removed=True) == TotalsDelta()


def test_given_own_and_default_limits_when_combined_then_own_values_win():
    limits = effective_limits({"max_listed": 5, "end_when": None}, ListingLimits(end_when=2, percentage=50))

    assert limits == ListingLimits(max_listed=5, end_when=2, percentage=50)


def test_given_sku_claims_when_indexed_then_listings_match_them_and_a_shared_key_is_ambiguous():
    index = ItemIndex.of_sku_keys([("abc-1", "i1"), ("dup", "i2"), ("dup", "i3")])

    plan = plan_auto_links([_listing(" ABC-1"), _listing("Dup"), _listing("other")], index)

    assert [(link.sku, link.item_id, link.matched_by) for link in plan.links] == [(" ABC-1", "i1", "sku")]
    assert plan.ambiguous[0]["item_ids"] == ["i2", "i3"] and plan.unmatched == 1
