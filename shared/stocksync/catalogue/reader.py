"""Streaming catalogue reader: bytes in, validated listing rows (or row errors) out. No AWS here.

Constant memory: the file is read through gzip (when its magic bytes say so), a TextIOWrapper and
the csv module, one record at a time. `sniff` reads only the head of the file to decide the
compression, encoding, delimiter, source and column positions (a `ParsePlan`); `parse_rows` then
reads any byte range of the body with that plan, so a big file can be read by several workers.

Rows come out as tuples (see `Row`) that sort by SKU key first, so they can be staged in sorted
runs and merged without ever holding the whole file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import math
import operator
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

from stocksync.catalogue.formats import LAYOUTS, STATES, Layout, Source, header_key, sniff_source
from stocksync.inventory.rules import normalize_sku

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
MAX_FIELD_CHARS = 128 * 1024  # a cell longer than this is refused (with its row), never buffered further
MAX_ROW_ERRORS = 1000  # kept per range; the rest are only counted
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_TRUE = frozenset({"1", "true", "yes", "y", "x"})
_FALSE = frozenset({"", "0", "false", "no", "n"})
_STATE_WORDS = {
    "": "active", "active": "active", "true": "active", "1": "active", "yes": "active", "live": "active",
    "inactive": "disabled", "incomplete": "disabled", "disabled": "disabled", "suspended": "disabled",
    "false": "disabled", "0": "disabled", "no": "disabled", "ended": "ended", "closed": "ended",
    "removed": "removed", "deleted": "removed",
}
_BARCODE_ID_TYPES = frozenset({"2", "3", "4", "isbn", "upc", "ean", "gtin", "ean13"})

# Row = (sku_key, range_index, row_in_range, sku, title, price, quantity, currency, barcode, asin, fba,
#        listing_id, listing_kind, offer, state). The first three make every row unique and sortable;
# `offer` is the offer as exported (`Layout.offer`'s non-empty cells as compact JSON) or None.
Row = tuple[Any, ...]
(KEY, RANGE, REL_ROW, SKU, TITLE, PRICE, QUANTITY, CURRENCY, BARCODE, ASIN, FBA, LISTING_ID, KIND, OFFER,
 STATE) = range(15)


class CatalogueFileError(Exception):
    """The file as a whole cannot be loaded: empty, not text, wrong kind, cut short, wrong encoding."""

    def __init__(self, reason: str, *, row: int = 0, field: str = "", code: str = "invalid_file") -> None:
        super().__init__(reason)
        self.reason, self.row, self.field, self.code = reason, row, field, code


@dataclass(frozen=True)
class RowError:
    """One problem in one row. `row` counts records in the range (1 = first data record of the range)."""

    row: int
    field: str
    reason: str
    value: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ParsePlan:
    """Everything needed to read any byte range of the file's body (after the header)."""

    source: str
    compressed: bool
    encoding: str
    delimiter: str
    quoting: bool
    columns: dict[str, int]  # listing field or helper column -> index
    header: list[str]
    body_offset: int  # bytes (of the decompressed stream) before the first data record

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, data: dict[str, Any]) -> ParsePlan:
        return cls(**data)


@dataclass
class RangeReport:
    """What reading one range found: rows, bytes, errors (first MAX_ROW_ERRORS kept)."""

    rows: int = 0
    records: int = 0  # data records read, bad ones included (row numbers continue from here)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    fatal: str = ""  # the reason reading stopped early, if it did

    def add(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ROW_ERRORS:
            self.errors.append(error)


class _Prefixed(io.RawIOBase):
    """A raw stream that gives `head` first, then the rest of `stream` (lets us sniff then stream on)."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def decompressed(stream: BinaryIO) -> tuple[BinaryIO, bool]:
    """The stream, gunzipped when it starts with gzip's magic bytes, and whether it was."""
    magic = stream.read(2)
    prefixed = io.BufferedReader(_Prefixed(magic, stream), buffer_size=1 << 20)
    if magic == GZIP_MAGIC:
        return io.BufferedReader(gzip.GzipFile(fileobj=prefixed, mode="rb"), buffer_size=1 << 20), True
    return prefixed, False


def read_head(stream: BinaryIO, size: int = HEAD_BYTES) -> bytes:
    try:
        return stream.read(size)
    except (EOFError, OSError, zlib.error) as exc:
        raise CatalogueFileError(f"the compressed file is damaged or cut short ({exc})", code="truncated") from exc


def detect_encoding(head: bytes, charset: str | None = None) -> str:
    """The document's declared charset wins; otherwise a BOM, then strict UTF-8, then Cp1252/Latin-1."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CatalogueFileError("UTF-16 files are not supported: save the file as UTF-8 or Cp1252",
                                 code="wrong_encoding")
    if charset:
        try:
            name = codecs.lookup(charset.strip().strip('"')).name
        except LookupError:
            name = ""
        if name:
            return "utf-8-sig" if name == "utf-8" and head.startswith(codecs.BOM_UTF8) else name
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a cut multi-byte tail is fine
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1" if _CP1252_UNDEFINED & set(head) else "cp1252"


def detect_delimiter(header_line: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in ("\t", ";", ",")}
    return max(counts, key=lambda delimiter: counts[delimiter])


def _looks_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    controls = sum(1 for char in text if char < " " and char not in "\t\r\n")
    return controls > max(len(text) // 100, 2)


def sniff(stream: BinaryIO, *, charset: str | None = None, source: str | None = None,
          fallback: Source = Source.GENERIC) -> ParsePlan:
    """Read the head of a (possibly gzipped) file and decide how to read the rest of it."""
    body, compressed = decompressed(stream)
    head = read_head(body)
    if not head.strip():
        raise CatalogueFileError("the file is empty", code="empty_file")
    encoding = detect_encoding(head, charset)
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise CatalogueFileError(f"the file is not valid {encoding} ({exc.reason} at byte {exc.start})",
                                 row=1, code="wrong_encoding") from exc
    if _looks_binary(text):
        raise CatalogueFileError("the file is not a text (CSV/TSV) catalogue: it holds binary data",
                                 code="not_text")
    first_line = text.split("\n", 1)[0]
    delimiter = detect_delimiter(first_line)
    chosen = Source(source) if source else sniff_source(_split_header(first_line, delimiter), fallback)
    layout = LAYOUTS[chosen]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                        quoting=csv.QUOTE_MINIMAL if layout.quoting else csv.QUOTE_NONE)
    try:
        header = next(reader)
    except (csv.Error, StopIteration) as exc:
        raise CatalogueFileError(f"the header row cannot be read ({exc})", row=1, code="bad_header") from exc
    header_lines = reader.line_num
    if header_lines >= text.count("\n") and len(head) == HEAD_BYTES:
        raise CatalogueFileError(f"the header row is longer than {HEAD_BYTES} bytes", row=1, code="bad_header")
    columns = _map_columns(header, layout)
    body_offset = _offset_after_lines(head, header_lines)
    return ParsePlan(source=str(chosen), compressed=compressed, encoding=encoding, delimiter=delimiter,
                     quoting=layout.quoting, columns=columns, header=header, body_offset=body_offset)


def _split_header(line: str, delimiter: str) -> list[str]:
    return [cell.strip().strip('"') for cell in line.rstrip("\r").split(delimiter)]


def _offset_after_lines(head: bytes, lines: int) -> int:
    offset = 0
    for _ in range(lines):
        found = head.find(b"\n", offset)
        offset = len(head) if found < 0 else found + 1
    return offset


def _map_columns(header: list[str], layout: Layout) -> dict[str, int]:
    keys = [header_key(name) for name in header]
    if keys:
        keys[0] = keys[0].lstrip("\ufeff")
    columns: dict[str, int] = {}
    for name, aliases in (*layout.aliases.items(), *layout.extra.items()):
        for alias in aliases:
            if alias in keys:
                columns[name] = keys.index(alias)
                break
    missing = [name for name in layout.required if name not in columns]
    if missing:
        expected = "; ".join(f"{name} ({' / '.join(layout.aliases[name])})" for name in missing)
        raise CatalogueFileError(
            f"not a {layout.source} file: required column(s) missing: {expected}",
            row=1, field=",".join(missing), code="missing_column",
        )
    return columns


def text_stream(body: BinaryIO, plan: ParsePlan) -> io.TextIOWrapper:
    # utf-8-sig only matters at byte 0; a range further in must not expect a BOM.
    return io.TextIOWrapper(body, encoding=plan.encoding, errors="strict", newline="")


def parse_rows(body: BinaryIO, plan: ParsePlan, report: RangeReport, *, range_index: int = 0) -> Iterator[Row]:
    """Rows of one byte range of the body (already positioned at a record start), errors into `report`.

    A decoding error, a cut-short gzip or a malformed record stops the range (the reader's position
    can no longer be trusted) and is recorded as `report.fatal` with its row.
    """
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.reader(text_stream(body, plan), delimiter=plan.delimiter, strict=True,
                        quoting=csv.QUOTE_MINIMAL if plan.quoting else csv.QUOTE_NONE)
    convert = _row_converter(plan, range_index, report)
    row_number = 0  # records read so far, bad ones included
    try:
        for row_number, cells in enumerate(reader, 1):  # row_number is read back after the loop
            if len(cells) < 2 and not (cells and cells[0].strip()):
                continue  # a blank line
            row = convert(cells, row_number)
            if row is not None:
                report.rows += 1
                yield row
    except UnicodeDecodeError as exc:
        # Text is decoded in blocks of about 8 KB, so the bad byte is in this row or a few after it.
        _fatal(report, row_number + 1, "", f"not valid {plan.encoding} text at or shortly after this row "
               f"({exc.reason}); save the file as UTF-8 or declare its charset")
    except csv.Error as exc:
        reason = str(exc)
        if "field larger than field limit" in reason:
            reason = f"a cell is longer than {MAX_FIELD_CHARS} characters"
        elif "unexpected end of data" in reason:
            reason = "the file ends inside a quoted cell (cut short or an unclosed quote)"
        _fatal(report, row_number + 1, "", reason)
    except (EOFError, OSError, zlib.error) as exc:
        _fatal(report, row_number + 1, "", f"the compressed file is damaged or cut short ({exc})")
    finally:
        report.records = row_number


def _fatal(report: RangeReport, row: int, field: str, reason: str) -> None:
    report.fatal = reason
    report.add(RowError(row=row, field=field, reason=reason))


def _number_text(value: str) -> str:
    text = value.strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # decimal comma (semicolon-separated European files)
    return text


def _price(text: str) -> float:
    """A non-negative finite price from a stripped cell ("12.50", "12,50"); ValueError otherwise."""
    try:
        price = float(text)
    except ValueError:
        price = float(_number_text(text))  # only now worth the rewrite
    if not 0.0 <= price < math.inf:  # also refuses nan
        raise ValueError(text)
    return price


def _quantity(text: str) -> int:
    """A whole number >= 0 from a stripped cell ("3", "3.0", "3,0"); ValueError otherwise."""
    if text.isdecimal():
        return int(text)
    number = float(_number_text(text))
    if not number.is_integer() or number < 0:
        raise ValueError(text)
    return int(number)


_FIELD_ORDER = ("sku", "title", "price", "quantity", "currency", "barcode", "asin", "fba", "listing_id",
                "listing_kind", "state", "fulfillment_channel", "product_id", "product_id_type")


def _row_converter(plan: ParsePlan, range_index: int, report: RangeReport):  # noqa: PLR0915
    """A function from one record's cells to a Row (or None, its errors added to `report`).

    It runs once per row of every file, so it is kept lean: the record is cut or padded to the
    header's width plus one empty cell, every column the layout lacks points at that empty cell,
    and one C-level itemgetter takes every field at once.
    """
    columns = plan.columns
    width = len(plan.header)
    take = operator.itemgetter(*(columns.get(name, width) for name in _FIELD_ORDER))
    padding = [""] * (width + 1)
    i_sku = columns["sku"]
    has_fulfilment, has_fba = "fulfillment_channel" in columns, "fba" in columns
    has_product_id = "product_id" in columns and "product_id_type" in columns
    strict_state = plan.source == Source.STOCKSYNC_LISTINGS
    states = {word: word for word in STATES} if strict_state else dict(_STATE_WORDS)  # grows: cell -> state
    add = report.add
    header_keys = [header_key(name).lstrip("\ufeff") for name in plan.header]
    offer_cells = [(name, header_keys.index(header_key(name))) for name in LAYOUTS[Source(plan.source)].offer
                   if header_key(name) in header_keys]
    i_deleted = columns.get("deleted")
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def convert(cells: list[str], row: int) -> Row | None:  # noqa: PLR0912, PLR0915
        count = len(cells)
        if count <= i_sku:  # short rows are fine (spreadsheets drop empty trailing cells) up to the SKU
            add(RowError(row, "", f"the row has {count} columns; the header has {width}"))
            return None
        if count == width:
            cells.append("")
        else:
            cells = cells[:width] + padding[min(count, width):]
        (sku, title, price_text, quantity_text, currency, barcode, asin, fba_text, listing_id, kind, state_text,
         channel, product_id, product_id_type) = take(cells)
        sku = sku.strip()
        if not sku:
            add(RowError(row, "sku", "the SKU is empty"))
            return None
        if i_deleted is not None and cells[i_deleted].strip().casefold() in _TRUE:
            # a differential export's offer deleted since: Mirakl sends only its ids, and it is removed
            return (normalize_sku(sku), range_index, row, sku, title.strip(), None, None, None, None, None, False,
                    listing_id.strip() or None, None, None, "removed")
        ok = True
        price = None
        text = price_text.strip()
        if text:
            try:
                price = _price(text)
            except ValueError:
                add(RowError(row, "price", "the price is not a non-negative number", price_text[:100]))
                ok = False
        fba = False
        if has_fulfilment:
            if channel != "DEFAULT":
                channel = channel.strip()
                fba = bool(channel) and channel.upper() != "DEFAULT"
        elif has_fba:
            flag = fba_text.strip().casefold()
            if flag in _TRUE:
                fba = True
            elif flag not in _FALSE:
                add(RowError(row, "fba", "FBA must be true/false, yes/no or 1/0", flag[:100]))
                ok = False
        quantity = None  # FBA: the channel holds the stock, we never sync it
        if not fba:
            if quantity_text.isdecimal():  # the usual case, and already clean
                quantity = int(quantity_text)
            elif text := quantity_text.strip():
                try:
                    quantity = _quantity(text)
                except ValueError:
                    add(RowError(row, "quantity", "the quantity is not a whole number of 0 or more",
                                 quantity_text[:100]))
                    ok = False
            elif not strict_state:
                add(RowError(row, "quantity", "the quantity is empty"))
                ok = False
        state = states.get(state_text)
        if state is None:
            word = state_text.strip().casefold()
            state = states.get(word or "active")
            if state is None:
                if strict_state:
                    add(RowError(row, "state", f"state must be one of {', '.join(sorted(STATES))}", word[:100]))
                else:
                    add(RowError(row, "state", "unknown listing status", word[:100]))
                ok = False
            else:
                states[state_text] = state  # e.g. "Active": the next rows spelling it so skip the casefold
        if not ok:
            return None
        barcode = barcode.strip()
        if not barcode and has_product_id and (product_id_type in _BARCODE_ID_TYPES
                                               or product_id_type.strip().casefold() in _BARCODE_ID_TYPES):
            barcode = product_id.strip()
        offer = None
        if offer_cells:
            kept = {name: text for name, index in offer_cells if (text := cells[index].strip())}
            offer = dumps(kept) if kept else None
        return (normalize_sku(sku), range_index, row, sku, title.strip(), price, quantity,
                currency.strip() or None, barcode or None, asin.strip() or None, fba, listing_id.strip() or None,
                kind.strip() or None, offer, state)

    return convert
