"""Stock changes under contention and retries: nothing lost, nothing applied twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from stocksync.api.context import services
from stocksync.core.messages import RecordingQueue
from stocksync.inventory.items import ItemInput
from stocksync.inventory.stock import StockAdjustment, StockSet


def test_given_many_concurrent_adjustments_when_applied_then_the_level_is_exact(stack):
    app = services()
    item = app.inventory.create(ItemInput(sku="HOT-1"))
    app.stock.set_level(item.item_id, "default", StockSet(level=100))

    def sell_one(n: int) -> None:
        app.stock.adjust(item.item_id, "default", StockAdjustment(delta=-1, reason=f"sale {n}"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(sell_one, range(24)))

    assert app.stock.levels(item.item_id)[0].level == 76
    history, _ = app.stock.history(item.item_id, limit=100, cursor=None)
    assert len(history) == 25
    assert sorted(int(h.level_after) for h in history if h.kind == "adjust") == list(range(76, 100))


def test_given_the_same_keyed_adjustment_from_racing_retries_when_applied_then_it_counts_once(stack):
    app = services()
    item = app.inventory.create(ItemInput(sku="HOT-2"))
    adjustment = StockAdjustment(delta=7, reason="delivery", idempotency_key="po-9")

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: app.stock.adjust(item.item_id, "default", adjustment), range(6)))

    assert app.stock.levels(item.item_id)[0].level == 7
    assert sum(not result.replayed for result in results) == 1


class FailingQueue(RecordingQueue):
    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    def publish(self, changes) -> None:
        if self.fail:
            self.fail = False
            raise ConnectionError("stock queue unreachable")
        super().publish(changes)


def test_given_the_queue_fails_after_the_commit_when_the_caller_retries_then_the_change_is_announced_once_applied(
    stack, monkeypatch
):
    app = services()
    queue = FailingQueue()
    monkeypatch.setattr(app.stock, "queue", queue)
    item = app.inventory.create(ItemInput(sku="HOT-3"))
    adjustment = StockAdjustment(delta=4, reason="found", idempotency_key="count-1")

    with pytest.raises(ConnectionError):
        app.stock.adjust(item.item_id, "default", adjustment)
    retry = app.stock.adjust(item.item_id, "default", adjustment)

    assert retry.replayed is True
    assert int(retry.level.level) == 4
    assert [change.item_ids for change in queue.changes] == [[item.item_id]]
