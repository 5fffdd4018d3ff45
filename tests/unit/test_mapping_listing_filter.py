"""Which mapping-screen filters narrow a page: an unfiltered page reads only as many listings as it shows."""

from __future__ import annotations

import pytest

from stocksync.mapping.service import ListingFilter


def test_given_the_screens_default_filter_then_it_does_not_narrow() -> None:
    assert ListingFilter().narrows() is False
    assert ListingFilter(q="   ").narrows() is False


@pytest.mark.parametrize("wanted", [
    ListingFilter(linked=False), ListingFilter(linked=True), ListingFilter(fba=True), ListingFilter(ignore_sync=False),
    ListingFilter(errors=True), ListingFilter(removed=True), ListingFilter(removed=None), ListingFilter(q="mug"),
])
def test_given_any_chosen_filter_or_search_then_it_narrows(wanted: ListingFilter) -> None:
    assert wanted.narrows() is True
