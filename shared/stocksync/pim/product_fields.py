"""An Akeneo product's values -> the changes a profile makes to an item. Pure: no AWS, no HTTP.

Values are read for the profile's scope and locale (a value with no scope/locale applies to all).
A setting left empty sends nothing; a value that is absent sends nothing; a value that is present
but cannot be read (a price that is not a number, a metric in an unknown unit) is a `BrokenValue`,
and the product is skipped and reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from stocksync.pim import units
from stocksync.pim.model import IDENTIFIER_TYPE, IMAGE_TYPES, AttributeInfo, MetricSetting, ProfileSettings

MAX_TITLE = 1000
MAX_DESCRIPTION = 100_000
MAX_PROPERTY_VALUE = 10_000
DIMENSIONS = ("width", "height", "depth")


class BrokenValue(ValueError):
    """A product value that is there but cannot be used."""

    def __init__(self, attribute: str, reason: str) -> None:
        super().__init__(f"{attribute}: {reason}")
        self.attribute = attribute
        self.reason = reason


@dataclass
class ProductChanges:
    """What the PIM says an item should hold. Only what the profile maps is present."""

    sku: str
    fields: dict[str, Any] = field(default_factory=dict)  # title, purchase_price, retail_price, description,
    #                                                      barcode, weight
    dimensions: dict[str, float] = field(default_factory=dict)  # width/height/depth that are mapped
    channel_fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # channel id -> title/price/description
    extended_properties: dict[str, str] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)  # media file codes, main image first


def map_product(product: Mapping[str, Any], settings: ProfileSettings,
                attributes: Mapping[str, AttributeInfo]) -> ProductChanges:
    values: Mapping[str, list[dict[str, Any]]] = product.get("values") or {}
    reader = _Reader(values, settings.scope, settings.locale)
    changes = ProductChanges(sku=sku_of(product, attributes))
    _map_mappings(reader, settings, changes)
    _map_product_settings(reader, settings, attributes, changes)
    if settings.extended_properties.map_all_attributes:
        prefix = settings.extended_properties.prefix
        for code in sorted(values):
            info = attributes.get(code)
            text = property_text(reader.get(code), info.type if info else "")
            if text is not None:
                changes.extended_properties[f"{prefix}{code}"] = text
    return changes


def _map_mappings(reader: _Reader, settings: ProfileSettings, changes: ProductChanges) -> None:
    """Price, title and description mappings: each to an item field or to a channel's field."""
    for price in settings.price_mappings:
        amount = _price(reader.get(price.attribute), price.attribute, price.currency)
        _place(changes, amount, price.target, price.channel_id, "price")
    for title in settings.title_mappings:
        text = _text(reader.get(title.attribute), title.attribute, MAX_TITLE)
        _place(changes, text, "title" if title.target == "item_title" else title.target, title.channel_id, "title")
    for description in settings.description_mappings:
        text = _text(reader.get(description.attribute), description.attribute, MAX_DESCRIPTION)
        target = "description" if description.target == "metadata" else description.target
        _place(changes, text, target, description.channel_id, "description")


ITEM_TARGETS = frozenset({"purchase_price", "retail_price", "title", "description"})


def _place(changes: ProductChanges, value: Any, target: str, channel_id: str | None, channel_key: str) -> None:
    if value is None:
        return
    if target == "channel" and channel_id:
        changes.channel_fields.setdefault(channel_id, {})[channel_key] = value
    elif target in ITEM_TARGETS:
        changes.fields[target] = value


def _map_product_settings(reader: _Reader, settings: ProfileSettings, attributes: Mapping[str, AttributeInfo],
                          changes: ProductChanges) -> None:
    product_settings = settings.product_settings
    if product_settings.barcode_attribute:
        barcode = _text(reader.get(product_settings.barcode_attribute), product_settings.barcode_attribute, 64)
        if barcode:
            changes.fields["barcode"] = barcode
    weight = _metric(reader, product_settings.weight, units.WEIGHT)
    if weight is not None:
        changes.fields["weight"] = weight
    for name in DIMENSIONS:
        amount = _metric(reader, getattr(product_settings, name), units.LENGTH)
        if amount is not None:
            changes.dimensions[name] = amount
    if product_settings.upload_images:
        changes.images = _images(reader, attributes, product_settings.main_image_attribute)


def sku_of(product: Mapping[str, Any], attributes: Mapping[str, AttributeInfo]) -> str:
    """The product's SKU: its identifier (the value of its only identifier attribute on /products-uuid)."""
    identifier = product.get("identifier")
    if not identifier:
        for code, values in (product.get("values") or {}).items():
            info = attributes.get(code)
            if (info and info.type == IDENTIFIER_TYPE) and values and isinstance(values[0].get("data"), str):
                identifier = values[0]["data"]
                break
    if not isinstance(identifier, str) or not identifier.strip():
        raise BrokenValue("identifier", "the product has no identifier (SKU)")
    return identifier.strip()


class _Reader:
    """Picks, for an attribute, the value for the profile's scope and locale."""

    def __init__(self, values: Mapping[str, list[dict[str, Any]]], scope: str, locale: str) -> None:
        self.values = values
        self.scope = scope
        self.locale = locale

    def get(self, code: str) -> Any:
        best: tuple[int, Any] | None = None
        for value in self.values.get(code) or []:
            if not isinstance(value, dict):
                raise BrokenValue(code, "the value is not an object")
            scope, locale = value.get("scope"), value.get("locale")
            if scope not in (None, self.scope) or locale not in (None, self.locale):
                continue
            rank = (scope is not None) + (locale is not None)  # the most specific value wins
            if best is None or rank > best[0]:
                best = (rank, value.get("data"))
        return None if best is None else best[1]


def _decimal(raw: Any, attribute: str, what: str) -> Decimal:
    if isinstance(raw, bool):
        raise BrokenValue(attribute, f"{what} {raw!r} is not a number")
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError) as exc:
        raise BrokenValue(attribute, f"{what} {raw!r} is not a number") from exc
    if not value.is_finite():
        raise BrokenValue(attribute, f"{what} {raw!r} is not a number")
    return value


def _price(data: Any, attribute: str, currency: str) -> float | None:
    if data is None:
        return None
    if not isinstance(data, list):
        raise BrokenValue(attribute, "a price collection is a list of {amount, currency}")
    for entry in data:
        if not isinstance(entry, dict):
            raise BrokenValue(attribute, "a price collection is a list of {amount, currency}")
        if entry.get("currency") != currency:
            continue
        if entry.get("amount") is None:
            return None
        amount = _decimal(entry["amount"], attribute, "price")
        if amount < 0:
            raise BrokenValue(attribute, f"price {entry['amount']!r} is negative")
        return float(round(amount, 4))
    return None


def _text(data: Any, attribute: str, limit: int) -> str | None:
    if data is None:
        return None
    if isinstance(data, bool) or not isinstance(data, str | int | float):
        raise BrokenValue(attribute, "expected a text value")
    text = str(data)
    if len(text) > limit:
        raise BrokenValue(attribute, f"longer than {limit} characters")
    return text


def _metric(reader: _Reader, setting: MetricSetting, family: str) -> float | None:
    if not setting.attribute:
        return None
    data = reader.get(setting.attribute)
    if data is None:
        return None
    if not isinstance(data, dict) or "amount" not in data or "unit" not in data:
        raise BrokenValue(setting.attribute, "a metric is {amount, unit}")
    if data["amount"] is None:
        return None
    amount = _decimal(data["amount"], setting.attribute, "amount")
    if amount < 0:
        raise BrokenValue(setting.attribute, f"amount {data['amount']!r} is negative")
    target = setting.unit or units.DEFAULT_UNITS[family]
    try:
        return float(units.convert(amount, str(data["unit"]), target))
    except units.UnitError as exc:
        raise BrokenValue(setting.attribute, str(exc)) from exc


def _images(reader: _Reader, attributes: Mapping[str, AttributeInfo], main: str | None) -> list[str]:
    """Media codes of the product's images: the main image attribute's first, then every other image."""
    codes = [main] if main else []
    codes += sorted(code for code, info in attributes.items() if info.type in IMAGE_TYPES and code != main)
    found: list[str] = []
    for code in codes:
        data = reader.get(code)
        if data is None:
            continue
        if not isinstance(data, str) or not data.strip():
            raise BrokenValue(code, "an image value is a media file code")
        if data not in found:
            found.append(data)
    return found


def property_text(data: Any, attribute_type: str) -> str | None:
    """An extended property's text for any attribute value (None when there is nothing to send)."""
    if data is None or data in ([], ""):
        return None
    if isinstance(data, bool):
        text = "true" if data else "false"
    elif isinstance(data, str | int | float):
        text = str(data)
    elif isinstance(data, list) and attribute_type == "pim_catalog_price_collection":
        text = ", ".join(f"{entry.get('amount')} {entry.get('currency')}" for entry in data if isinstance(entry, dict))
    elif isinstance(data, list):
        text = ",".join(str(entry) for entry in data)
    elif isinstance(data, dict) and "amount" in data and "unit" in data:
        text = f"{data['amount']} {data['unit']}"
    else:
        return None
    return text[:MAX_PROPERTY_VALUE]
