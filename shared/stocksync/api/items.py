"""/items: inventory items, their composites, stock levels, history and availability."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from stocksync.api.context import services
from stocksync.api.models import (
    AvailabilityOut,
    ChannelAvailabilityOut,
    ComponentsIn,
    HistoryEntryOut,
    HistoryPage,
    ItemOut,
    ItemPage,
    ItemRow,
    StockChangeOut,
    StockLevelOut,
)
from stocksync.api.params import Cursor, ItemId, Limit, LocationId
from stocksync.inventory.items import ItemInput, ItemPatch, ItemView
from stocksync.inventory.stock import StockAdjustment, StockResult, StockSet

router = Router()

@router.get("/items", tags=["Items"], summary="List and search items")
def list_items(
    limit: Limit = 50,
    cursor: Cursor = None,
    sku: Annotated[str | None, Query(max_length=200, description="Exact SKU, any case")] = None,
    sku_prefix: Annotated[str, Query(max_length=200, description="SKUs starting with this, any case")] = "",
    q: Annotated[str, Query(max_length=200, description="Every word must occur in the SKU or title")] = "",
) -> ItemPage:
    if sku is not None:
        found = services().inventory.find_by_sku(sku)
        return ItemPage(items=[ItemRow.of(ItemView(found))] if found else [], next_cursor=None)
    rows, next_cursor = services().inventory.list(limit=limit, cursor=cursor, sku_prefix=sku_prefix, words=q)
    return ItemPage(items=[ItemRow.of(ItemView(row)) for row in rows], next_cursor=next_cursor)


@router.post("/items", tags=["Items"], summary="Create an item", status_code=201)
def create_item(item: Annotated[ItemInput, Body()]) -> Response[ItemOut]:
    created = services().inventory.create(item)
    return Response(status_code=201, content_type="application/json", body=ItemOut.of(ItemView(created)))


@router.get("/items/<item_id>", tags=["Items"], summary="An item with its stock and components")
def get_item(item_id: ItemId) -> ItemOut:
    return ItemOut.of(services().inventory.get(item_id))


@router.patch("/items/<item_id>", tags=["Items"], summary="Change an item's fields")
def update_item(item_id: ItemId, patch: Annotated[ItemPatch, Body()]) -> ItemOut:
    services().inventory.update(item_id, patch)
    return ItemOut.of(services().inventory.get(item_id))


@router.delete("/items/<item_id>", tags=["Items"], summary="Delete an item and its stock", status_code=204)
def delete_item(item_id: ItemId) -> Response[None]:
    services().inventory.delete(item_id)
    return Response(status_code=204)


@router.put("/items/<item_id>/components", tags=["Items"], summary="Make an item a kit of other items")
def set_components(item_id: ItemId, body: Annotated[ComponentsIn, Body()]) -> ItemOut:
    return ItemOut.of(services().inventory.set_components(item_id, body.components))


@router.get("/items/<item_id>/available", tags=["Stock"], summary="What each channel may sell of the item")
def item_available(item_id: ItemId) -> AvailabilityOut:
    view, channels, every_location = services().stock.availability(item_id)
    return AvailabilityOut(
        item_id=view.item.item_id, sku=view.item.sku, is_composite=view.item.is_composite,
        all_locations=every_location, channels=[ChannelAvailabilityOut.of(row) for row in channels],
    )


@router.get("/items/<item_id>/stock", tags=["Stock"], summary="Stock levels at every location")
def item_stock(item_id: ItemId) -> list[StockLevelOut]:
    return [StockLevelOut.of(level) for level in services().stock.levels(item_id)]


@router.put("/items/<item_id>/stock/<location_id>", tags=["Stock"], summary="Set the stock level")
def set_stock(item_id: ItemId, location_id: LocationId, body: Annotated[StockSet, Body()]) -> StockChangeOut:
    return _change_out(services().stock.set_level(item_id, location_id, body))


@router.post("/items/<item_id>/stock/<location_id>/adjustments", tags=["Stock"],
             summary="Adjust the stock level by a signed quantity")
def adjust_stock(item_id: ItemId, location_id: LocationId,
                 body: Annotated[StockAdjustment, Body()]) -> StockChangeOut:
    return _change_out(services().stock.adjust(item_id, location_id, body))


@router.get("/items/<item_id>/stock-history", tags=["Stock"], summary="Every stock change, newest first")
def stock_history(
    item_id: ItemId,
    limit: Limit = 50,
    cursor: Cursor = None,
    location_id: Annotated[str | None, Query(max_length=64)] = None,
) -> HistoryPage:
    rows, next_cursor = services().stock.history(item_id, limit=limit, cursor=cursor, location_id=location_id)
    return HistoryPage(entries=[HistoryEntryOut.of(row) for row in rows], next_cursor=next_cursor)


def _change_out(result: StockResult) -> StockChangeOut:
    return StockChangeOut(**StockLevelOut.of(result.level).model_dump(), replayed=result.replayed)
