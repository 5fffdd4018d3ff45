"""Pure order rules: what each download does to each line and to stock."""

from __future__ import annotations

from stocksync.channels.order_side import OrderStatus
from stocksync.orders.rules import (
    IncomingLine,
    Part,
    StoredLine,
    StoredOrder,
    effective_status,
    plan_order,
    unmapped_keys_of,
)

OPEN, SHIPPED, CANCELLED = OrderStatus.OPEN, OrderStatus.SHIPPED, OrderStatus.CANCELLED
PARTS = {"item-1": (Part("item-1", 1),), "kit": (Part("bolt", 1), Part("screw", 2))}


def line(sku: str = "SKU-1", quantity: int = 2, line_id: str = "l1") -> IncomingLine:
    return IncomingLine(line_id, sku, sku.casefold(), quantity)


def plan(stored, status, *lines, links=None, fba=False, location="loc"):
    return plan_order(stored, status, fba, list(lines), links=links if links is not None else {"sku-1": "item-1"},
                      parts=PARTS, location_id=location)


def stored_of(result, fba=False) -> StoredOrder:
    return StoredOrder(result.status, fba, tuple(result.lines), result.cancelled_after_shipping)


def test_given_a_new_open_order_when_planned_then_it_allocates_its_mapped_lines():
    result = plan(None, OPEN, line())

    assert result.allocated == {("item-1", "loc"): 2}
    assert result.level == {}
    assert result.lines[0].item_id == "item-1" and result.lines[0].allocated == 2


def test_given_an_open_order_when_its_quantity_changes_then_only_the_difference_moves():
    first = plan(None, OPEN, line(quantity=2))

    assert plan(stored_of(first), OPEN, line(quantity=5)).allocated == {("item-1", "loc"): 3}
    assert plan(stored_of(first), OPEN, line(quantity=1)).allocated == {("item-1", "loc"): -1}
    assert plan(stored_of(first), OPEN, line(quantity=2)).stock_keys == set()


def test_given_an_open_order_when_shipped_then_allocation_released_and_level_taken_once():
    shipped = plan(stored_of(plan(None, OPEN, line())), SHIPPED, line())

    assert shipped.allocated == {("item-1", "loc"): -2}
    assert shipped.level == {("item-1", "loc"): -2}
    assert plan(stored_of(shipped), SHIPPED, line()).stock_keys == set()


def test_given_a_shipped_order_when_cancelled_then_nothing_moves_and_it_is_flagged():
    shipped = plan(None, SHIPPED, line())
    refunded = plan(stored_of(shipped), CANCELLED, line())

    assert refunded.status == SHIPPED and refunded.cancelled_after_shipping is True
    assert refunded.stock_keys == set()


def test_given_a_cancelled_order_when_it_comes_back_open_then_it_stays_cancelled():
    cancelled = plan(stored_of(plan(None, OPEN, line())), CANCELLED, line())

    assert cancelled.allocated == {("item-1", "loc"): -2}
    assert effective_status(stored_of(cancelled), OPEN) == (CANCELLED, False)


def test_given_a_kit_line_when_planned_then_its_components_are_allocated():
    result = plan(None, OPEN, line("KIT", 3), links={"kit": "kit"})

    assert result.allocated == {("bolt", "loc"): 3, ("screw", "loc"): 6}


def test_given_an_allocated_line_when_the_link_changes_then_its_release_uses_the_frozen_parts():
    first = plan(None, OPEN, line("KIT", 1), links={"kit": "kit"})

    released = plan(stored_of(first), CANCELLED, line("KIT", 1), links={"kit": "item-1"}, location="other")

    assert released.allocated == {("bolt", "loc"): -1, ("screw", "loc"): -2}


def test_given_an_unmapped_line_when_planned_then_it_holds_nothing_and_is_indexed_while_open():
    result = plan(None, OPEN, line(), links={})

    assert result.stock_keys == set()
    assert result.unmapped_keys == {"sku-1"}
    linked = plan(stored_of(result), OPEN, line())
    assert linked.allocated == {("item-1", "loc"): 2} and linked.unmapped_keys == set()
    assert unmapped_keys_of(stored_of(plan(stored_of(result), CANCELLED, line(), links={}))) == set()


def test_given_a_link_to_a_deleted_item_when_planned_then_the_line_is_unmapped():
    result = plan(None, OPEN, line(), links={"sku-1": "gone"})

    assert result.lines[0].item_id is None and result.unmapped_keys == {"sku-1"}


def test_given_an_fba_order_when_planned_then_nothing_ever_moves():
    result = plan(None, OPEN, line(), fba=True)
    shipped = plan(stored_of(result, fba=True), SHIPPED, line(), fba=True)

    assert result.stock_keys == set() and shipped.stock_keys == set()
    assert result.unmapped_keys == set()


def test_given_a_line_gone_from_the_download_when_planned_then_its_allocation_is_released():
    first = plan(None, OPEN, line(line_id="a"), line("KIT", 1, line_id="b"), links={"sku-1": "item-1", "kit": "kit"})

    result = plan(stored_of(first), OPEN, line(line_id="a"))

    assert result.allocated == {("bolt", "loc"): -1, ("screw", "loc"): -2}
    assert [(one.line_id, one.quantity) for one in result.lines] == [("a", 2), ("b", 0)]


def test_given_a_stored_line_when_round_tripped_through_its_map_then_it_is_the_same():
    original = StoredLine("l1", "Sku", "sku", 3, "t", "9.99", "item-1", "loc", (Part("item-1", 1),), 3, 0)

    assert StoredLine.of(original.as_map()) == original
