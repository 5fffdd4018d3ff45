"""Inventory items and composite (kit) items."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pynamodb.exceptions import TransactWriteError

from stocksync.core import db
from stocksync.core.db import SKU_CLAIM, ComponentRecord, ItemRecord, Record, StockLevelRecord, UniqueClaim
from stocksync.core.errors import Conflict, InvalidInput, NotFound
from stocksync.core.messages import StockChange, StockChangePublisher
from stocksync.inventory.rules import clean_sku, find_cycle, normalize_sku, search_text, search_words

MAX_COMPONENTS = 50


class DimensionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    width: float = Field(default=0, ge=0)
    height: float = Field(default=0, ge=0)
    depth: float = Field(default=0, ge=0)


# DynamoDB refuses an empty attribute name, and an item is at most 400 KB.
PropertyName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
PropertyValue = Annotated[str, StringConstraints(max_length=10_000)]


class ItemPatch(BaseModel):
    """Fields a seller may change; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)
    sku: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=1000)
    purchase_price: float | None = Field(default=None, ge=0)
    retail_price: float | None = Field(default=None, ge=0)
    description: str | None = Field(default=None, max_length=100_000)
    weight: float | None = Field(default=None, ge=0)
    tax_rate: float | None = Field(default=None, ge=-1, le=100, description="-1 = the system default")
    barcode: str | None = Field(default=None, max_length=64)
    dimensions: DimensionsIn | None = None
    extended_properties: dict[PropertyName, PropertyValue] | None = Field(
        default=None, max_length=200, description="Named values of the seller's own (a name is 1 to 255 characters)")

    @field_validator("sku")
    @classmethod
    def _sku_not_blank(cls, sku: str | None) -> str | None:
        return None if sku is None else clean_sku(sku)


class ItemInput(ItemPatch):
    sku: str = Field(max_length=200, description="Unique, compared case-insensitively after trimming")
    title: str = Field(default="", max_length=1000)
    purchase_price: float = Field(default=0, ge=0)
    retail_price: float = Field(default=0, ge=0)
    description: str = Field(default="", max_length=100_000)
    weight: float = Field(default=0, ge=0)
    tax_rate: float = Field(default=-1, ge=-1, le=100, description="-1 = the system default")


class ComponentInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str = Field(min_length=1)
    quantity: int = Field(ge=1, le=100_000)


@dataclass
class ItemView:
    """An item with everything stored in its collection: stock levels and components."""

    item: ItemRecord
    stock: list[StockLevelRecord] = field(default_factory=list)
    components: list[ComponentRecord] = field(default_factory=list)


class Inventory:
    def __init__(self, queue: StockChangePublisher) -> None:
        self.queue = queue

    # --- reading ---------------------------------------------------------------------------

    def get(self, item_id: str) -> ItemView:
        view = self.find(item_id)
        if view is None:
            raise NotFound(f"No item with id {item_id}", details={"item_id": item_id})
        return view

    def find(self, item_id: str) -> ItemView | None:
        view: ItemView | None = None
        stock: list[StockLevelRecord] = []
        components: list[ComponentRecord] = []
        for record in Record.query(db.item_pk(item_id), consistent_read=True):
            if isinstance(record, ItemRecord):
                view = ItemView(record)
            elif isinstance(record, StockLevelRecord):
                stock.append(record)
            elif isinstance(record, ComponentRecord):
                components.append(record)
        if view:
            view.stock, view.components = stock, components
        return view

    def find_by_sku(self, sku: str) -> ItemRecord | None:
        claim = db.get_or_none(UniqueClaim, UniqueClaim.keys(SKU_CLAIM, normalize_sku(sku)))
        if claim is None:
            return None
        return db.get_or_none(ItemRecord, {"PK": db.item_pk(claim.owner_id), "SK": "ITEM"})

    def list(self, *, limit: int, cursor: str | None, sku_prefix: str = "",
             words: str = "") -> tuple[list[ItemRecord], str | None]:
        """Items in SKU order, optionally those whose SKU starts with a prefix and whose SKU or
        title contain every word of `words` (fragments match)."""
        results = ItemRecord.gsi1.query(
            db.ITEMS_PARTITION,
            ItemRecord.GSI1SK.startswith(db.sku_sort_key(normalize_sku(sku_prefix))),
            filter_condition=db.all_of(ItemRecord.search_text.contains(word) for word in search_words(words)),
            limit=limit,
            last_evaluated_key=db.decode_cursor(cursor),
        )
        rows, next_cursor = db.page_of(results, limit)
        return [row for row in rows if isinstance(row, ItemRecord)], next_cursor

    # --- writing ---------------------------------------------------------------------------

    def create(self, data: ItemInput) -> ItemRecord:
        item, claim = self.new_records(data)
        try:
            with db.transaction() as tx:
                tx.save(claim, condition=UniqueClaim.PK.does_not_exist())
                tx.save(item, condition=ItemRecord.PK.does_not_exist())
        except TransactWriteError as exc:
            raise self._sku_taken(data.sku) from exc
        return item

    @staticmethod
    def new_records(data: ItemInput) -> tuple[ItemRecord, UniqueClaim]:
        """A new item and its SKU claim, not yet saved: save both, each on `PK.does_not_exist()`, in one
        transaction (with whatever else must happen with them, e.g. a listing linked to the new item)."""
        item_id = db.new_id()
        sku_key = normalize_sku(data.sku)
        item = ItemRecord(**ItemRecord.keys(item_id, sku_key), item_id=item_id, sku_key=sku_key)
        _apply(item, data)
        return item, UniqueClaim(**UniqueClaim.keys(SKU_CLAIM, sku_key), owner_id=item_id)

    def sku_taken(self, sku: str) -> Conflict:
        return self._sku_taken(sku)

    def update(self, item_id: str, patch: ItemPatch) -> ItemRecord:
        item = self.get(item_id).item
        old_key = item.sku_key
        _apply(item, patch)
        new_key = normalize_sku(item.sku)
        item.updated_at = db.now()
        try:
            with db.transaction() as tx:
                if new_key != old_key:
                    item.sku_key = new_key
                    item.GSI1SK = ItemRecord.keys(item_id, new_key)["GSI1SK"]
                    tx.delete(UniqueClaim(**UniqueClaim.keys(SKU_CLAIM, old_key), owner_id=item_id))
                    tx.save(
                        UniqueClaim(**UniqueClaim.keys(SKU_CLAIM, new_key), owner_id=item_id),
                        condition=UniqueClaim.PK.does_not_exist(),
                    )
                tx.save(item)
        except TransactWriteError as exc:
            failed = db.failed_conditions(exc)
            if new_key != old_key and failed[1]:
                raise self._sku_taken(item.sku) from exc
            raise Conflict("The item changed while it was being saved; read it again and retry") from exc
        return item

    def delete(self, item_id: str) -> None:
        view = self.get(item_id)
        kits = self.kits_containing([item_id])
        if kits:
            raise Conflict(
                "The item is a component of composite items; remove it from them first",
                details={"kit_ids": sorted(kits)},
            )
        with db.transaction() as tx:
            tx.delete(view.item)
            tx.delete(UniqueClaim(**UniqueClaim.keys(SKU_CLAIM, view.item.sku_key), owner_id=item_id))
            for record in [*view.stock, *view.components]:
                tx.delete(record, add_version_condition=False)
        self.queue.publish([StockChange(reason="item_deleted", item_ids=[item_id])])

    def set_components(self, kit_id: str, components: builtins.list[ComponentInput]) -> ItemView:
        """Make an item a kit of other items (or a plain item again with an empty list)."""
        view = self.get(kit_id)
        wanted = _merge_duplicates(components)
        if len(wanted) > MAX_COMPONENTS:
            raise InvalidInput(f"A composite item has at most {MAX_COMPONENTS} components")
        if wanted and any(stock.level or stock.allocated for stock in view.stock):
            raise Conflict(
                "The item holds stock of its own; set its stock to 0 before making it a composite",
                details={"item_id": kit_id},
            )
        self._refuse_unknown(wanted)
        cycle = find_cycle(kit_id, self._component_graph(wanted), wanted)
        if cycle:
            raise InvalidInput(
                "A composite item cannot contain itself", details={"cycle": cycle}, code="composite_cycle"
            )
        with db.transaction() as tx:
            for record in view.components:
                if record.component_id not in wanted:
                    tx.delete(record, add_version_condition=False)
            for component_id, quantity in wanted.items():
                tx.save(ComponentRecord(**ComponentRecord.keys(kit_id, component_id), kit_id=kit_id,
                                        component_id=component_id, quantity=quantity))
            view.item.is_composite = bool(wanted)
            view.item.updated_at = db.now()
            tx.save(view.item)
        self.queue.publish([StockChange(reason="composite_changed", item_ids=self.with_kits([kit_id]))])
        return self.get(kit_id)

    # --- kits ------------------------------------------------------------------------------

    def kits_containing(self, item_ids: Iterable[str]) -> set[str]:
        """Every composite that contains one of the items, directly or through other kits."""
        found: set[str] = set()
        frontier = list(item_ids)
        while frontier:
            component_id = frontier.pop()
            for record in ComponentRecord.gsi2.query(db.kits_of_pk(component_id)):
                if isinstance(record, ComponentRecord) and record.kit_id not in found:
                    found.add(record.kit_id)
                    frontier.append(record.kit_id)
        return found

    def with_kits(self, item_ids: Iterable[str]) -> builtins.list[str]:
        ids = set(item_ids)
        return sorted(ids | self.kits_containing(ids))

    def _component_graph(self, start: Iterable[str]) -> dict[str, builtins.list[str]]:
        graph: dict[str, list[str]] = {}
        frontier = list(start)
        while frontier:
            item_id = frontier.pop()
            if item_id in graph:
                continue
            children = [
                record.component_id
                for record in ComponentRecord.query(db.item_pk(item_id), Record.SK.startswith(db.COMPONENT_PREFIX))
                if isinstance(record, ComponentRecord)
            ]
            graph[item_id] = children
            frontier.extend(children)
        return graph

    def _refuse_unknown(self, wanted: dict[str, int]) -> None:
        keys = [(db.item_pk(item_id), "ITEM") for item_id in wanted]
        found = {record.item_id for record in ItemRecord.batch_get(keys)}
        missing = sorted(set(wanted) - found)
        if missing:
            raise InvalidInput("Unknown component items", details={"item_ids": missing})

    def _sku_taken(self, sku: str) -> Conflict:
        existing = self.find_by_sku(sku)
        return Conflict(
            f"SKU {sku!r} is already used by another item",
            details={"sku": sku, "item_id": existing.item_id if existing else None},
            code="sku_taken",
        )


def _apply(item: ItemRecord, data: ItemPatch) -> None:
    creating = isinstance(data, ItemInput)
    for name, value in data.model_dump(exclude_unset=not creating).items():
        if value is None and name != "barcode":
            continue  # null means "leave as it is"; only the barcode can be cleared
        setattr(item, name, db.Dimensions(**value) if name == "dimensions" else value)
    item.search_text = search_text(item.sku, item.title or "")


def _merge_duplicates(components: list[ComponentInput]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for component in components:
        merged[component.item_id] = merged.get(component.item_id, 0) + component.quantity
    return merged
