"""Mapping CSV files, pure: export rows (formula-safe) and import validation. No AWS here.

Import is two steps: `parse_import` checks every row on its own (fields, numbers, flags, duplicate
channel SKUs) and `check_references` checks what needs the table's answer (does the listing exist,
does the item SKU exist), given those answers as plain mappings. Rows are numbered as a
spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stocksync.channels.types import MAX_LIMIT
from stocksync.inventory.rules import normalize_sku


class ExportField(StrEnum):
    CHANNEL_SKU = "channel_sku"
    TITLE = "title"
    LINKED_SKU = "linked_sku"
    LINKED_TITLE = "linked_title"
    FBA = "fba"
    IGNORE_SYNC = "ignore_sync"
    MAX_LISTED = "max_listed"
    END_WHEN = "end_when"
    PERCENTAGE = "percentage"
    SUBMITTED_QUANTITY = "submitted_quantity"
    LAST_UPDATE = "last_update"
    STATUS = "status"
    PRICE = "price"
    QUANTITY = "quantity"


EXPORT_HEADERS: dict[ExportField, str] = {
    ExportField.CHANNEL_SKU: "Channel SKU", ExportField.TITLE: "Title", ExportField.LINKED_SKU: "Linked SKU",
    ExportField.LINKED_TITLE: "Linked Title", ExportField.FBA: "FBA", ExportField.IGNORE_SYNC: "Ignore Sync",
    ExportField.MAX_LISTED: "Max Listed", ExportField.END_WHEN: "End When", ExportField.PERCENTAGE: "Percentage",
    ExportField.SUBMITTED_QUANTITY: "Submitted Quantity", ExportField.LAST_UPDATE: "Last Update",
    ExportField.STATUS: "Status", ExportField.PRICE: "Price", ExportField.QUANTITY: "Quantity",
}
DEFAULT_EXPORT_FIELDS = (ExportField.CHANNEL_SKU, ExportField.TITLE, ExportField.LINKED_SKU,
                         ExportField.LINKED_TITLE, ExportField.FBA, ExportField.IGNORE_SYNC, ExportField.MAX_LISTED,
                         ExportField.END_WHEN, ExportField.PERCENTAGE)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, made plain text by a leading apostrophe.

    A cell that already starts with apostrophes before such a character gets one more, so that
    `plain_text` gives every exported cell back exactly: a file we export imports unchanged."""
    return "'" + cell if cell.lstrip("'").startswith(_FORMULA_STARTS) else cell


def plain_text(cell: str) -> str:
    """The value `neutralise` was given: its apostrophe taken off again."""
    return cell[1:] if cell.startswith("'") and cell[1:].lstrip("'").startswith(_FORMULA_STARTS) else cell


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return neutralise(str(value))


def export_lines(fields: Iterable[ExportField], rows: Iterable[Mapping[ExportField, Any]]) -> Iterator[str]:
    """The CSV, line by line (header first), every cell neutralised."""
    chosen = list(fields)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line([EXPORT_HEADERS[f] for f in chosen])
    for row in rows:
        yield line([_cell(row.get(f)) for f in chosen])


def parse_export_fields(text: str | None) -> list[ExportField]:
    if not text:
        return list(DEFAULT_EXPORT_FIELDS)
    chosen: list[ExportField] = []
    unknown: list[str] = []
    for name in (part.strip() for part in text.split(",")):
        if not name:
            continue
        try:
            member = ExportField(name)
        except ValueError:
            unknown.append(name)
            continue
        if member not in chosen:
            chosen.append(member)
    if unknown or not chosen:
        raise ValueError(f"unknown export fields {unknown}; choose from {[f.value for f in ExportField]}")
    return chosen


# --- import ------------------------------------------------------------------------------------


class ImportField(StrEnum):
    CHANNEL_SKU = "channel_sku"
    ITEM_SKU = "item_sku"
    IGNORE_SYNC = "ignore_sync"
    MAX_LISTED = "max_listed"
    END_WHEN = "end_when"
    PERCENTAGE = "percentage"


class ColumnMapping(BaseModel):
    """Which CSV column (by its header, any case) feeds which field. Unmapped fields are left as they are."""

    model_config = ConfigDict(extra="forbid")
    channel_sku: str = Field(min_length=1, max_length=200, description="Column of the channel SKU (required)")
    item_sku: str | None = Field(default=None, max_length=200,
                                 description="Column of the item SKU to link to; an empty cell unlinks")
    ignore_sync: str | None = Field(default=None, max_length=200,
                                    description="Column of Ignore Sync: true/false, yes/no, 1/0")
    max_listed: str | None = Field(default=None, max_length=200,
                                   description="Column of Max Listed (>= 0; empty = channel default)")
    end_when: str | None = Field(default=None, max_length=200,
                                 description="Column of End When (>= 0; empty = channel default)")
    percentage: str | None = Field(default=None, max_length=200,
                                   description="Column of Percentage (0-100; empty = channel default)")

    @model_validator(mode="after")
    def _distinct(self) -> ColumnMapping:
        names = [normalize_sku(v) for v in self.model_dump().values() if v]
        if len(names) != len(set(names)):
            raise ValueError("a column may feed only one field")
        return self

    def mapped(self) -> dict[ImportField, str]:
        return {ImportField(name): column for name, column in self.model_dump().items() if column}


@dataclass(frozen=True)
class FileLayout:
    """What a kind of import file may look like: other spellings of each column's header, and the
    fields whose column may be missing (the file then leaves them as they are)."""

    aliases: Mapping[ImportField, tuple[str, ...]] = field(default_factory=dict)
    optional: frozenset[ImportField] = frozenset()


LIMITS_COLUMNS = ColumnMapping(channel_sku="SKU", max_listed="Max Listed", end_when="End When",
                               percentage="Percentage")
LIMITS_ALIASES = {ImportField.CHANNEL_SKU: ("sku", "channel sku", "channel_sku"),
                  ImportField.MAX_LISTED: ("max listed", "max_listed", "max", "maximum"),
                  ImportField.END_WHEN: ("end when", "end_when", "min", "minimum"),
                  ImportField.PERCENTAGE: ("percentage", "percent", "%")}
# The seed's Min/Max file: the SKU and any of the three limits.
LAYOUTS = {
    "mapping": FileLayout(),
    "limits": FileLayout(aliases=LIMITS_ALIASES, optional=frozenset(
        {ImportField.MAX_LISTED, ImportField.END_WHEN, ImportField.PERCENTAGE})),
}

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


@dataclass
class RowError:
    row: int
    column: str
    reason: str
    value: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason, "value": self.value[:200]}


@dataclass
class ImportRow:
    """One valid row: the channel SKU and the fields the file sets (absent = leave as is)."""

    row: int
    channel_sku: str
    values: dict[ImportField, Any] = field(default_factory=dict)

    @property
    def sku_key(self) -> str:
        return normalize_sku(self.channel_sku)


@dataclass
class ParsedImport:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    row_count: int = 0


def resolve_columns(header: list[str], mapping: Mapping[ImportField, str],
                    layout: FileLayout = FileLayout()) -> tuple[dict[ImportField, int], list[RowError]]:
    positions = {normalize_sku(name): index for index, name in reversed(list(enumerate(header)))}
    found: dict[ImportField, int] = {}
    errors: list[RowError] = []
    for target, column in mapping.items():
        names = [column, *layout.aliases.get(target, ())]
        index = next((positions[normalize_sku(n)] for n in names if normalize_sku(n) in positions), None)
        if index is not None:
            found[target] = index
        elif target not in layout.optional:
            errors.append(RowError(1, column, f"no column {column!r} in the header (for {target.value})"))
    wanted = [mapping[target] for target in ImportField if target in layout.optional and target in mapping]
    if not errors and wanted and not any(target in found for target in layout.optional):
        errors.append(RowError(1, "", f"the file sets nothing: give a column {_either(wanted)}"))
    return found, errors


def _either(columns: list[str]) -> str:
    return ", ".join(columns[:-1]) + f" or {columns[-1]}" if len(columns) > 1 else columns[0]


def parse_import(text: str, mapping: Mapping[ImportField, str], layout: FileLayout = FileLayout()) -> ParsedImport:
    """Every row checked on its own; every problem reported (row, column, reason)."""
    result = ParsedImport()
    reader = _records(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")), result)
    header = next(reader, None)
    if not header and result.errors:
        return result
    if not header:
        result.errors.append(RowError(1, "", "the file is empty: a header row is needed"))
        return result
    columns, errors = resolve_columns(header, mapping, layout)
    result.errors.extend(errors)
    if errors:
        return result
    names = {target: header[index] for target, index in columns.items()}
    seen: dict[str, int] = {}
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        result.row_count += 1
        row_errors: list[RowError] = []
        values: dict[ImportField, Any] = {}
        for target, index in columns.items():
            raw = cells[index] if index < len(cells) else ""
            value, reason = _parse_value(target, raw)
            if reason:
                row_errors.append(RowError(number, names[target], reason, raw))
            elif target != ImportField.CHANNEL_SKU:
                values[target] = value
        sku = (cells[columns[ImportField.CHANNEL_SKU]] if columns[ImportField.CHANNEL_SKU] < len(cells) else "")
        sku = plain_text(sku).strip()
        first = seen.setdefault(normalize_sku(sku), number) if sku else number
        if first != number:
            row_errors.append(RowError(number, names[ImportField.CHANNEL_SKU],
                                       f"channel SKU repeated (first on row {first})", sku))
        if row_errors:
            result.errors.extend(row_errors)
        else:
            result.rows.append(ImportRow(number, sku, values))
    return result


def _records(reader: Iterator[list[str]], result: ParsedImport) -> Iterator[list[str]]:
    """The reader's records; a record the csv module cannot read (a cell longer than its field
    limit) ends the file with a row error, the rest of the file being unreadable after it."""
    read = 0
    try:
        for cells in reader:
            read += 1
            yield cells
    except csv.Error as exc:
        reason = (f"a cell is longer than {csv.field_size_limit()} characters" if "field larger" in str(exc)
                  else f"the CSV cannot be read here: {exc}")
        result.errors.append(RowError(read + 1, "", reason))


def _parse_value(target: ImportField, raw: str) -> tuple[Any, str | None]:
    return _PARSERS[target](plain_text(raw).strip())


def _channel_sku(text: str) -> tuple[Any, str | None]:
    return text, None if text else "the channel SKU is empty"


def _item_sku(text: str) -> tuple[Any, str | None]:
    return (text or None), None


def _flag(text: str) -> tuple[Any, str | None]:
    folded = text.casefold()
    if folded in _TRUE or folded in _FALSE:
        return folded in _TRUE, None
    return None, "Ignore Sync must be true or false (yes/no, 1/0)"


def _percentage(text: str) -> tuple[Any, str | None]:
    if not text:
        return None, None  # the channel's default
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        return None, "Percentage must be a number from 0 to 100"
    return (number, None) if 0 <= number <= 100 else (None, "Percentage must be from 0 to 100")


def _whole(label: str) -> Callable[[str], tuple[Any, str | None]]:
    def parse(text: str) -> tuple[Any, str | None]:
        if not text:
            return None, None  # the channel's default
        try:
            whole = int(text)
        except ValueError:
            return None, f"{label} must be a whole number >= 0"
        if not 0 <= whole <= MAX_LIMIT:
            return None, f"{label} must be a whole number from 0 to {MAX_LIMIT}"
        return whole, None

    return parse


_PARSERS: dict[ImportField, Callable[[str], tuple[Any, str | None]]] = {
    ImportField.CHANNEL_SKU: _channel_sku, ImportField.ITEM_SKU: _item_sku, ImportField.IGNORE_SYNC: _flag,
    ImportField.MAX_LISTED: _whole("Max Listed"), ImportField.END_WHEN: _whole("End When"),
    ImportField.PERCENTAGE: _percentage,
}


def check_references(parsed: ParsedImport, listings: Mapping[str, Any], item_ids: Mapping[str, str],
                     channel_sku_column: str, item_sku_column: str | None) -> list[RowError]:
    """Row errors for channel SKUs with no listing (`listings` by SKU key) and item SKUs with no item
    (`item_ids` by SKU key)."""
    errors: list[RowError] = []
    for row in parsed.rows:
        if row.sku_key not in listings:
            errors.append(RowError(row.row, channel_sku_column, "no listing with this SKU on the channel",
                                   row.channel_sku))
        item_sku = row.values.get(ImportField.ITEM_SKU)
        if item_sku and normalize_sku(item_sku) not in item_ids:
            errors.append(RowError(row.row, item_sku_column or "", "no item with this SKU", item_sku))
    return errors
