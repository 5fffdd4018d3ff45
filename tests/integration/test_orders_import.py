"""Importing orders: allocate, release, ship, exactly once; unmapped lines re-link when linked."""

from __future__ import annotations

import pytest
from order_support import add_channel, add_item, available, link, order, stock

from stocksync.api.context import services
from stocksync.channels.order_side import OrderStatus
from stocksync.core import db
from stocksync.core.db import OrderRecord, StockHistoryRecord
from stocksync.core.messages import RecordingQueue
from stocksync.inventory.items import ComponentInput
from stocksync.inventory.locations import LocationInput
from stocksync.mapping.bulk import auto_link, import_mapping
from stocksync.mapping.csv_io import ColumnMapping
from stocksync.mapping.service import LinkInput
from stocksync.orders.importer import OrderTooLarge

SHIPPED, CANCELLED = OrderStatus.SHIPPED, OrderStatus.CANCELLED


@pytest.fixture
def queue(stack):
    recorded = RecordingQueue()
    services().order_book.queue = recorded
    return recorded


@pytest.fixture
def shop(stack):
    """Two channels selling the default location, both linked to item HOT (5 units)."""
    amazon, website = add_channel("Amazon"), add_channel("Website")
    item_id = add_item("HOT", 5)
    link(amazon, "HOT", item_id)
    link(website, "hot", item_id)
    return amazon, website, item_id


def stored(channel, channel_order_id) -> OrderRecord:
    record = db.get_or_none(OrderRecord, OrderRecord.keys(db.order_id_of(channel.channel_id, channel_order_id)))
    assert record is not None
    return record


def test_given_an_open_order_when_imported_then_it_allocates_and_every_channel_sees_less(shop, queue):
    amazon, _website, item_id = shop

    outcome = services().order_book.import_order(amazon, order("A-1", ("HOT", 2)))

    assert outcome.outcome == "created"
    assert stock(item_id) == (5, 2)
    assert available(item_id) == {"Amazon": 3, "Website": 3}
    assert [change.item_ids for change in queue.changes] == [[item_id]]
    assert not stored(amazon, "A-1").pending_announce


def test_given_the_same_download_twice_when_imported_then_the_second_changes_nothing(shop, queue):
    amazon, _website, item_id = shop
    book = services().order_book
    book.import_order(amazon, order("A-1", ("HOT", 2)))

    again = book.import_order(amazon, order("A-1", ("HOT", 2)))

    assert again.outcome == "duplicate"
    assert stock(item_id) == (5, 2)
    assert len(queue.changes) == 1


def test_given_a_cancel_stamped_in_the_same_second_when_imported_then_it_is_a_new_revision(shop, queue):
    """Magento keeps whole seconds: an order placed and cancelled within one second comes back with
    the same updated_at, saying something else."""
    amazon, _website, item_id = shop
    book = services().order_book
    book.import_order(amazon, order("A-1", ("HOT", 2)))

    cancelled = book.import_order(amazon, order("A-1", ("HOT", 2), status=OrderStatus.CANCELLED))
    again = book.import_order(amazon, order("A-1", ("HOT", 2), status=OrderStatus.CANCELLED))

    assert cancelled.outcome == "updated" and again.outcome == "duplicate"
    assert stock(item_id) == (5, 0)


def test_given_an_older_revision_when_imported_then_it_is_ignored(shop, queue):
    amazon, _website, item_id = shop
    book = services().order_book
    book.import_order(amazon, order("A-1", ("HOT", 1), minute=10))

    older = book.import_order(amazon, order("A-1", ("HOT", 4), minute=5))

    assert older.outcome == "older"
    assert stock(item_id) == (5, 1)


def test_given_a_quantity_change_when_imported_then_the_allocation_follows(shop, queue):
    amazon, _website, item_id = shop
    book = services().order_book
    book.import_order(amazon, order("A-1", ("HOT", 1)))

    book.import_order(amazon, order("A-1", ("HOT", 3), minute=1))
    assert stock(item_id) == (5, 3)
    book.import_order(amazon, order("A-1", ("HOT", 2), minute=2))
    assert stock(item_id) == (5, 2)


def test_given_an_open_order_when_cancelled_then_the_allocation_is_released(shop, queue):
    amazon, _website, item_id = shop
    book = services().order_book
    book.import_order(amazon, order("A-1", ("HOT", 2)))

    book.import_order(amazon, order("A-1", ("HOT", 2), status=CANCELLED, minute=3))

    assert stock(item_id) == (5, 0)
    assert stored(amazon, "A-1").status == "cancelled"
    assert available(item_id) == {"Amazon": 5, "Website": 5}


def test_given_an_open_order_when_shipped_then_level_and_allocation_drop_once_with_history(shop, queue):
    amazon, _website, item_id = shop
    book = services().order_book
    book.import_order(amazon, order("A-1", ("HOT", 2)))

    book.import_order(amazon, order("A-1", ("HOT", 2), status=SHIPPED, minute=3))
    book.import_order(amazon, order("A-1", ("HOT", 2), status=SHIPPED, minute=4))  # a later revision, still shipped
    book.import_order(amazon, order("A-1", ("HOT", 2), status=SHIPPED, minute=4))  # and its duplicate

    assert stock(item_id) == (3, 0)
    history, _ = services().stock.history(item_id, limit=10, cursor=None)
    shipped = [entry for entry in history if entry.kind == "order"]
    assert [(int(h.level_before), int(h.level_after)) for h in shipped] == [(5, 3)]
    assert "A-1" in shipped[0].reason


def test_given_a_shipped_order_when_cancelled_later_then_units_stay_out_and_it_is_flagged(shop, queue):
    amazon, _website, item_id = shop
    book = services().order_book
    book.import_order(amazon, order("A-1", ("HOT", 2), status=SHIPPED))

    book.import_order(amazon, order("A-1", ("HOT", 2), status=CANCELLED, minute=9))

    assert stock(item_id) == (3, 0)
    record = stored(amazon, "A-1")
    assert record.status == "shipped"
    assert record.cancelled_after_shipping is True


def test_given_an_fba_order_when_imported_then_stock_is_untouched(shop, queue):
    amazon, _website, item_id = shop

    outcome = services().order_book.import_order(amazon, order("FBA-1", ("HOT", 3), fba=True))
    services().order_book.import_order(amazon, order("FBA-1", ("HOT", 3), fba=True, status=SHIPPED, minute=1))

    assert outcome.outcome == "created"
    assert stock(item_id) == (5, 0)
    record = stored(amazon, "FBA-1")
    assert record.fulfilled_by_channel is True and record.unmapped is False
    assert queue.changes == []


def test_given_a_kit_line_when_imported_then_its_components_are_allocated(stack, queue):
    channel = add_channel("Shop")
    screw, bolt = add_item("SCREW", 10), add_item("BOLT", 10)
    kit = add_item("KIT", 0)
    services().inventory.set_components(kit, [ComponentInput(item_id=screw, quantity=2),
                                              ComponentInput(item_id=bolt, quantity=1)])
    link(channel, "KIT", kit)

    services().order_book.import_order(channel, order("K-1", ("KIT", 3)))

    assert stock(screw) == (10, 6)
    assert stock(bolt) == (10, 3)
    assert available(kit) == {"Shop": 2}
    assert set(queue.changes[0].item_ids) == {screw, bolt, kit}


def test_given_a_kit_changed_after_allocation_when_cancelled_then_the_release_is_exact(stack, queue):
    channel = add_channel("Shop")
    screw, bolt = add_item("SCREW", 10), add_item("BOLT", 10)
    kit = add_item("KIT", 0)
    services().inventory.set_components(kit, [ComponentInput(item_id=screw, quantity=2)])
    link(channel, "KIT", kit)
    book = services().order_book
    book.import_order(channel, order("K-1", ("KIT", 1)))

    services().inventory.set_components(kit, [ComponentInput(item_id=bolt, quantity=5)])
    link(channel, "KIT", bolt)  # and the listing now points elsewhere too
    book.import_order(channel, order("K-1", ("KIT", 1), status=CANCELLED, minute=1))

    assert stock(screw) == (10, 0)
    assert stock(bolt) == (10, 0)


def test_given_a_channel_order_location_when_imported_then_stock_is_allocated_there(stack, queue):
    warehouse = services().locations.create(LocationInput(name="Warehouse"))
    channel = add_channel("Shop", order_location_id=warehouse.location_id)
    item_id = add_item("HOT", 4, location_id=warehouse.location_id)
    link(channel, "HOT", item_id)

    services().order_book.import_order(channel, order("W-1", ("HOT", 1)))

    assert stock(item_id, warehouse.location_id) == (4, 1)
    assert stock(item_id) == (0, 0)


def test_given_more_than_in_stock_when_imported_then_the_order_is_flagged_oversold(shop, queue):
    amazon, website, item_id = shop
    book = services().order_book
    first = book.import_order(amazon, order("A-1", ("HOT", 4)))

    second = book.import_order(website, order("W-1", ("HOT", 3)))

    assert first.oversold is False and second.oversold is True
    assert stock(item_id) == (5, 7)
    assert available(item_id) == {"Amazon": 0, "Website": 0}
    record = stored(website, "W-1")
    assert record.oversold is True
    assert record.oversold_at[0]["available"] == -2


def test_given_an_unmapped_line_when_imported_then_it_is_flagged_and_reserves_nothing(stack, queue):
    channel = add_channel("Shop")
    item_id = add_item("HOT", 5)
    link(channel, "NEW-1", None)  # a listing, not linked yet

    services().order_book.import_order(channel, order("U-1", ("NEW-1", 2), ("OTHER", 1)))

    record = stored(channel, "U-1")
    assert record.unmapped is True
    assert [line["item_id"] for line in record.lines] == [None, None]
    assert stock(item_id) == (5, 0)
    assert queue.changes == []


def test_given_an_unmapped_line_when_its_listing_is_linked_by_hand_then_it_allocates(stack, queue):
    channel = add_channel("Shop")
    item_id = add_item("HOT", 5)
    link(channel, "NEW-1", None)
    services().order_book.import_order(channel, order("U-1", ("NEW-1", 2)))

    services().mapping.link(channel.channel_id, "new-1", LinkInput(item_id=item_id))

    assert stock(item_id) == (5, 2)
    record = stored(channel, "U-1")
    assert record.unmapped is False
    assert record.lines[0]["item_id"] == item_id
    # and the order's later downloads keep it exactly once
    services().order_book.import_order(channel, order("U-1", ("NEW-1", 2), minute=1))
    assert stock(item_id) == (5, 2)


def test_given_an_unmapped_line_when_auto_link_links_it_then_it_allocates(stack, queue):
    channel = add_channel("Shop")
    item_id = add_item("NEW-1", 5)
    link(channel, "NEW-1", None)
    services().order_book.import_order(channel, order("U-1", ("NEW-1", 2)))
    mapping = services().mapping
    job = mapping.jobs.create("mapping_auto_link", subject=channel.channel_id)

    auto_link(mapping, channel, job.job_id)

    assert stock(item_id) == (5, 2)
    assert stored(channel, "U-1").unmapped is False


def test_given_an_unmapped_line_when_a_mapping_import_links_it_then_it_allocates(stack, queue):
    channel = add_channel("Shop")
    item_id = add_item("ITEM-9", 5)
    link(channel, "NEW-1", None)
    services().order_book.import_order(channel, order("U-1", ("NEW-1", 1)))
    columns = ColumnMapping.model_validate({"channel_sku": "Channel SKU", "item_sku": "Item SKU"})

    report = import_mapping(services().mapping, channel.channel_id, "Channel SKU,Item SKU\r\nNEW-1,ITEM-9\r\n",
                            columns, dry_run=False)

    assert report.applied is True
    assert stock(item_id) == (5, 1)


def test_given_an_unmapped_line_when_the_listing_creates_an_item_then_it_allocates(stack, queue):
    channel = add_channel("Shop")
    link(channel, "NEW-1", None)
    services().order_book.import_order(channel, order("U-1", ("NEW-1", 1)))

    created = services().mapping.create_item(channel.channel_id, "NEW-1")

    assert stock(created.item.item_id) == (0, 1)


def test_given_an_unmapped_line_of_a_cancelled_order_when_linked_then_nothing_is_allocated(stack, queue):
    channel = add_channel("Shop")
    item_id = add_item("HOT", 5)
    link(channel, "NEW-1", None)
    book = services().order_book
    book.import_order(channel, order("U-1", ("NEW-1", 2)))
    book.import_order(channel, order("U-1", ("NEW-1", 2), status=CANCELLED, minute=1))

    services().mapping.link(channel.channel_id, "NEW-1", LinkInput(item_id=item_id))

    assert stock(item_id) == (5, 0)


def test_given_the_queue_fails_after_the_commit_when_the_order_comes_again_then_it_is_announced(shop, queue):
    amazon, _website, item_id = shop
    book = services().order_book

    class Failing(RecordingQueue):
        def publish(self, changes):
            raise ConnectionError("stock queue unreachable")

    book.queue = Failing()
    with pytest.raises(ConnectionError):
        book.import_order(amazon, order("A-1", ("HOT", 2)))
    assert stored(amazon, "A-1").pending_announce == {item_id}

    book.queue = queue
    again = book.import_order(amazon, order("A-1", ("HOT", 2)))

    assert again.outcome == "duplicate"
    assert stock(item_id) == (5, 2)
    assert [change.item_ids for change in queue.changes] == [[item_id]]
    assert not stored(amazon, "A-1").pending_announce


def test_given_an_order_touching_too_many_stock_records_when_imported_then_it_is_refused(stack, queue):
    channel = add_channel("Shop")
    lines = []
    for n in range(60):
        item_id = add_item(f"P-{n}", 1)
        link(channel, f"P-{n}", item_id)
        lines.append((f"P-{n}", 1))
    book = services().order_book
    book.import_order(channel, order("BIG", *lines))  # 61 writes: fine while open

    with pytest.raises(OrderTooLarge):
        book.import_order(channel, order("BIG", *lines, status=SHIPPED, minute=1))  # + 60 history entries

    record = stored(channel, "BIG")
    assert record.status == "open" and record.revision == order("BIG").updated_at
    assert stock(item_id) == (1, 1)
    assert not [entry for entry in StockHistoryRecord.query(db.history_pk(item_id)) if entry.kind == "order"]
