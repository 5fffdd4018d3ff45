"""Akeneo metric units and conversion between units of one measurement family (pure)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

LENGTH = "Length"
WEIGHT = "Weight"

# Factor of each unit to its family's standard unit (METER, KILOGRAM), as Akeneo's measurement families define them.
FACTORS: dict[str, dict[str, Decimal]] = {
    LENGTH: {
        "MILLIMETER": Decimal("0.001"),
        "CENTIMETER": Decimal("0.01"),
        "DECIMETER": Decimal("0.1"),
        "METER": Decimal("1"),
        "DEKAMETER": Decimal("10"),
        "HECTOMETER": Decimal("100"),
        "KILOMETER": Decimal("1000"),
        "MIL": Decimal("0.0000254"),
        "INCH": Decimal("0.0254"),
        "FEET": Decimal("0.3048"),
        "YARD": Decimal("0.9144"),
        "MILE": Decimal("1609.344"),
    },
    WEIGHT: {
        "MILLIGRAM": Decimal("0.000001"),
        "GRAM": Decimal("0.001"),
        "KILOGRAM": Decimal("1"),
        "TON": Decimal("1000"),
        "GRAIN": Decimal("0.00006479891"),
        "DENIER": Decimal("0.001275"),
        "ONCE": Decimal("0.03059"),
        "MARC": Decimal("0.24475"),
        "LIVRE": Decimal("0.4895"),
        "OUNCE": Decimal("0.028349523125"),
        "POUND": Decimal("0.45359237"),
    },
}

# The units an item's dimensions and weight may be kept in.
TARGET_UNITS: dict[str, tuple[str, ...]] = {
    LENGTH: ("MILLIMETER", "CENTIMETER", "METER", "INCH"),
    WEIGHT: ("GRAM", "KILOGRAM", "OUNCE", "POUND"),
}
DEFAULT_UNITS = {LENGTH: "CENTIMETER", WEIGHT: "KILOGRAM"}
DECIMALS = 6


class UnitError(ValueError):
    """An amount or unit that cannot be converted."""


def family_of(unit: str) -> str | None:
    return next((family for family, units in FACTORS.items() if unit in units), None)


def convert(amount: str | int | float | Decimal, from_unit: str, to_unit: str) -> Decimal:
    """`amount` in `from_unit`, expressed in `to_unit` (same family), rounded to 6 decimals."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise UnitError(f"{amount!r} is not a number") from exc
    if not value.is_finite():
        raise UnitError(f"{amount!r} is not a number")
    source, target = family_of(from_unit), family_of(to_unit)
    if source is None:
        raise UnitError(f"unknown unit {from_unit!r}")
    if target is None:
        raise UnitError(f"unknown unit {to_unit!r}")
    if source != target:
        raise UnitError(f"cannot convert {from_unit} ({source}) to {to_unit} ({target})")
    converted = value * FACTORS[source][from_unit] / FACTORS[target][to_unit]
    return converted.quantize(Decimal(1).scaleb(-DECIMALS)).normalize()
