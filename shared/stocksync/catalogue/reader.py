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
import operator
import re
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO, cast

from stocksync.catalogue.formats import LAYOUTS, STATES, Layout, Source, header_key, sniff_source
from stocksync.inventory.rules import normalize_sku

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
MAX_FIELD_CHARS = 128 * 1024  # a cell longer than this is refused (with its row), never buffered further
MAX_ROW_ERRORS = 1000  # kept per range; the rest are only counted
# What a listing can hold, checked per row before anything is written (a write DynamoDB refuses
# half-way through a load would leave it half-applied). DynamoDB numbers hold 38 significant digits
# from 1e-130 to 1e126; these are far inside, and far above any real stock or price.
MAX_QUANTITY = 1_000_000_000
MAX_PRICE = 1_000_000_000.0
MIN_PRICE = 0.0001  # a price between 0 and this is a typo (or 1e-200, which DynamoDB cannot store)
_MAX_NUMBER_CHARS = 40  # longer number cells are refused before they are converted
# A SKU as long as an item's may be (every listing can become an item), and its keys within DynamoDB's
# 1,024-byte sort key: LISTING#<sku key> and, once linked, LISTING#<channel id>#<sku> on the item's index.
MAX_SKU_CHARS = 200
MAX_KEY_BYTES = 1024
_KEY_OVERHEAD_BYTES = len("LISTING#") + 64 + 1  # channel ids are 32 hex digits: room to spare
# DynamoDB's 400 KB item limit. A listing stores the SKU, title and text fields twice (as attributes
# and in load_fields) and the offer cells once; only rows long enough to come near it are measured.
MAX_ITEM_BYTES = 400 * 1024
_ITEM_OVERHEAD_BYTES = 4 * 1024  # attribute names, keys, dates and flags, generously
# A row of fewer bytes in the file makes an item under the limit: a byte of the file is at most 3 bytes
# of UTF-8 (Cp1252's euro) stored twice, once JSON-escaped (a control character: 6), so 12 at most;
# less the decoder's 8 KB read-ahead, which the byte count at a row may include.
_BIG_ROW_BYTES = (MAX_ITEM_BYTES - _ITEM_OVERHEAD_BYTES) // 12 - 8 * 1024
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
#        listing_id, listing_kind, offer, state, parent, variation). The first three make every row unique
# and sortable; `offer` is the offer as exported (`Layout.offer`'s non-empty cells as compact JSON) or
# None; `parent` the variation parent's key or None, `variation` its attributes as compact JSON or None.
Row = tuple[Any, ...]
(KEY, RANGE, REL_ROW, SKU, TITLE, PRICE, QUANTITY, CURRENCY, BARCODE, ASIN, FBA, LISTING_ID, KIND, OFFER,
 STATE, PARENT, VARIATION) = range(17)
MAX_PARENT_CHARS = 200  # a parent key is a SKU or a listing id
MAX_VARIATION_ATTRIBUTES = 30


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
    """The document's declared charset wins; otherwise a BOM, then strict UTF-8, then Cp1252/Latin-1.

    Only ASCII-compatible text encodings are read (the delimiters, quotes and newlines must be the
    bytes the CSV reader looks for): a declared charset that is unknown, not a text encoding
    (`base64`, `zlib`...) or not ASCII-compatible (UTF-16/32) is a load error at once, never a crash.
    """
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE 00 00 starts both
        raise CatalogueFileError("UTF-32 files are not supported: save the file as UTF-8 or Cp1252",
                                 code="wrong_encoding")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CatalogueFileError("UTF-16 files are not supported: save the file as UTF-8 or Cp1252",
                                 code="wrong_encoding")
    if charset and (declared := charset.strip().strip('"').strip("'")):
        name = _readable_charset(declared)
        return "utf-8-sig" if name == "utf-8" and head.startswith(codecs.BOM_UTF8) else name
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a cut multi-byte tail is fine
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1" if _CP1252_UNDEFINED & set(head) else "cp1252"


_ASCII_PROBE = "sku,;\t\"\r\n+-=0123456789AZaz"


def _readable_charset(declared: str) -> str:
    """The codec name of a declared charset we can read CSV in; CatalogueFileError otherwise."""
    shown = declared[:40]
    try:
        info = codecs.lookup(declared)
    except LookupError:
        raise CatalogueFileError(f"the file declares charset {shown!r}, which is not a known character set: "
                                 "upload it as UTF-8 (or declare its real charset)", code="unknown_charset") from None
    try:
        # str.encode refuses bytes-to-bytes codecs (LookupError); UTF-16/32 add a BOM and wider units
        compatible = _ASCII_PROBE.encode(info.name) == _ASCII_PROBE.encode("ascii")
    except (LookupError, UnicodeError, TypeError, ValueError):
        compatible = False
    if not compatible:
        raise CatalogueFileError(f"the file declares charset {shown!r}, which is not a character set a CSV "
                                 "catalogue can be read in: save it as UTF-8 or Cp1252", code="wrong_encoding")
    return info.name


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
    if not head.removeprefix(codecs.BOM_UTF8).strip():
        raise CatalogueFileError("the file is empty", code="empty_file")
    encoding = detect_encoding(head, charset)
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError as exc:
        line = head.count(b"\n", 0, exc.start) + 1
        raise CatalogueFileError(f"the file is not valid {encoding}: {exc.reason} at byte {exc.start}, in line {line}"
                                 f"{' of the uncompressed file' if compressed else ''}", row=line,
                                 code="wrong_encoding") from exc
    if _looks_binary(text):
        raise CatalogueFileError("the file is not a text (CSV/TSV) catalogue: it holds binary data",
                                 code="not_text")
    first_line = _LINE_END.split(text, 1)[0]
    delimiter = detect_delimiter(first_line)
    chosen = Source(source) if source else sniff_source(_split_header(first_line, delimiter), fallback)
    layout = LAYOUTS[chosen]
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if layout.quoting else csv.QUOTE_NONE)
    try:
        header = next(reader)
    except (csv.Error, StopIteration) as exc:
        raise CatalogueFileError(f"the header row cannot be read ({exc})", row=1, code="bad_header") from exc
    if not lines.ended_line and len(head) == HEAD_BYTES:  # the header's own line runs past the head
        raise CatalogueFileError(f"the header row is longer than {HEAD_BYTES} bytes", row=1, code="bad_header")
    columns = _map_columns(header, layout)
    # The same line ends in bytes (an ASCII-compatible encoding has no CR or LF inside a character).
    byte_lines = _BYTE_LINES.finditer(head)
    body_offset = sum(len(next(byte_lines).group()) for _ in range(lines.taken))
    return ParsePlan(source=str(chosen), compressed=compressed, encoding=encoding, delimiter=delimiter,
                     quoting=layout.quoting, columns=columns, header=header, body_offset=body_offset)


# The line ends the CSV reader (on a TextIOWrapper with newline="") splits records at: \r\n, \r or \n.
_LINE_END = re.compile(r"\r\n|\r|\n")
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_BYTE_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class _Lines:
    """The head's lines for the header's CSV reader, split as the body's reader splits them (a bare CR
    ends a line too, inside quotes the CSV reader joins them again), counting the lines it took."""

    def __init__(self, text: str) -> None:
        self._lines = (match.group() for match in _LINES.finditer(text))
        self.taken = 0
        self.ended_line = False  # whether the last line taken ended with a line end (not cut by the head)

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken += 1
        self.ended_line = line.endswith(("\n", "\r"))
        return line


def _split_header(line: str, delimiter: str) -> list[str]:
    return [cell.strip().strip('"') for cell in line.split(delimiter)]


def _map_columns(header: list[str], layout: Layout) -> dict[str, int]:
    keys = [header_key(name) for name in header]
    if keys:
        keys[0] = keys[0].lstrip("\ufeff")
    columns: dict[str, int] = {}
    for name, aliases in (*layout.aliases.items(), *layout.extra.items()):
        found = [index for index, key in enumerate(keys) if key in aliases]
        if len(found) > 1:  # which one holds the figure? Loading from the first would be a guess
            named = " and ".join(f"column {index + 1} ({header[index].strip()[:60]!r})" for index in found)
            raise CatalogueFileError(f"the header has {len(found)} {name} columns: {named}; keep one",
                                     row=1, field=name, code="duplicate_column")
        if found:
            columns[name] = found[0]
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


class _Counted(io.BufferedIOBase):
    """The body as the text decoder reads it, block by block, counting bytes and line ends before
    the block being decoded: a decoding error can then say its byte and line exactly (one count per
    8 KB block; nothing per row)."""

    def __init__(self, body: BinaryIO) -> None:
        super().__init__()
        self._body = body
        self.position = self.block_start = self.lines_before_block = 0
        self.block = b""

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        read1 = getattr(self._body, "read1", self._body.read)
        return self._took(read1(size if size and size > 0 else 1 << 16))

    def read(self, size: int | None = -1) -> bytes:
        return self._took(self._body.read(size if size is not None else -1))

    def _took(self, data: bytes) -> bytes:
        self.lines_before_block += self.block.count(b"\n")
        self.block_start, self.block = self.position, data
        self.position += len(data)
        return data

    def where(self, error: UnicodeDecodeError) -> tuple[int, int]:
        """(byte, line) of a decoding error in the block, both counted from 0 at the range's start."""
        pending = max(len(error.object) - len(self.block), 0)  # bytes of a character cut by the last block
        at = max(error.start - pending, 0)
        return self.block_start + at, self.lines_before_block + self.block.count(b"\n", 0, at)


def parse_rows(body: BinaryIO, plan: ParsePlan, report: RangeReport, *, range_index: int = 0,
               start: int | None = None) -> Iterator[Row]:
    """Rows of one byte range of the body (already positioned at a record start), errors into `report`.

    A decoding error, a cut-short gzip or a malformed record stops the range (the reader's position
    can no longer be trusted) and is recorded as `report.fatal` with its row. `start`: the range's
    byte offset in the file (default: the body's start), to say where a bad byte is.
    """
    csv.field_size_limit(MAX_FIELD_CHARS)
    counted = _Counted(body)
    reader = csv.reader(io.TextIOWrapper(cast(BinaryIO, counted), encoding=plan.encoding, errors="strict", newline=""),
                        delimiter=plan.delimiter, strict=True,
                        quoting=csv.QUOTE_MINIMAL if plan.quoting else csv.QUOTE_NONE)
    convert = _row_converter(plan, range_index, report)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    measured_at = 0  # bytes read when a row was last measured against the item size limit
    row_number = 0  # records read so far, bad ones included
    try:
        for row_number, cells in enumerate(reader, 1):  # row_number is read back after the loop
            if len(cells) < 2 and not (cells and cells[0].strip()):
                continue  # a blank line
            row = convert(cells, row_number)
            if row is None:
                continue
            # Only a row that took over _BIG_ROW_BYTES of the file can make an item near 400 KB (the
            # decoder reads at most 8 KB ahead), so one comparison a row; the few measured cost nothing.
            if counted.position - measured_at > _BIG_ROW_BYTES:
                measured_at = counted.position
                if (size := _item_bytes(row, dumps)) > MAX_ITEM_BYTES:
                    report.add(RowError(row_number, "", f"the row would make a listing of {size:,} bytes, over "
                                                        f"DynamoDB's {MAX_ITEM_BYTES:,}: shorten its longest cells"))
                    continue
            report.rows += 1
            yield row
    except UnicodeDecodeError as exc:
        # Text is decoded in blocks of about 8 KB, ahead of the rows read: the row is the bad byte's line
        # (exactly, unless a quoted cell before it holds a line end).
        offset, line = counted.where(exc)
        offset += plan.body_offset if start is None else start
        _fatal(report, max(line + 1, row_number + 1), "",
               f"not valid {plan.encoding} text: {exc.reason} at byte {offset:,}"
               f"{' of the uncompressed file' if plan.compressed else ''}; save the file as UTF-8 or declare "
               "its charset")
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
    """A price of 0 or MIN_PRICE to MAX_PRICE from a stripped cell ("12.50", "12,50"); ValueError otherwise."""
    if len(text) > _MAX_NUMBER_CHARS:
        raise ValueError(text)
    try:
        price = float(text)
    except ValueError:
        price = float(_number_text(text))  # only now worth the rewrite
    if not 0.0 <= price <= MAX_PRICE or 0.0 < price < MIN_PRICE:  # also refuses nan and inf
        raise ValueError(text)
    return price


def _quantity(text: str) -> int:
    """A whole number of 0 to MAX_QUANTITY from a stripped cell ("3", "3.0", "3,0"); ValueError otherwise."""
    if len(text) > _MAX_NUMBER_CHARS:  # also keeps int() far from its 4,300-digit limit
        raise ValueError(text)
    number = int(text) if text.isdecimal() else float(_number_text(text))
    if not 0 <= number <= MAX_QUANTITY or (isinstance(number, float) and not number.is_integer()):
        raise ValueError(text)
    return int(number)


_FIELD_ORDER = ("sku", "title", "price", "quantity", "currency", "barcode", "asin", "fba", "listing_id",
                "listing_kind", "state", "fulfillment_channel", "product_id", "product_id_type", "parent", "variation")


def variation_attributes(text: str) -> dict[str, str]:
    """A `variation` cell: a JSON object of non-empty names to text values ({} when empty); ValueError
    says what is wrong with any other."""
    if not text.strip():
        return {}
    try:
        attributes = json.loads(text)
    except ValueError as exc:
        raise ValueError("the variation is not a JSON object (e.g. {\"Size\": \"M\"})") from exc
    if not isinstance(attributes, dict) or not all(
            isinstance(name, str) and name.strip() and isinstance(value, str) for name, value in attributes.items()):
        raise ValueError("the variation must map attribute names to text values (e.g. {\"Size\": \"M\"})")
    if len(attributes) > MAX_VARIATION_ATTRIBUTES:
        raise ValueError(f"the variation has {len(attributes)} attributes; at most {MAX_VARIATION_ATTRIBUTES}")
    return {name.strip(): value.strip() for name, value in attributes.items()}


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
         channel, product_id, product_id_type, parent, variation_text) = take(cells)
        sku = sku.strip()
        if not sku:
            add(RowError(row, "sku", "the SKU is empty"))
            return None
        if len(sku) > _SKU_CHARS_CHECKED and (problem := _sku_problem(sku)):
            add(RowError(row, "sku", problem, sku[:100]))
            return None
        if i_deleted is not None and cells[i_deleted].strip().casefold() in _TRUE:
            # a differential export's offer deleted since: Mirakl sends only its ids, and it is removed
            return (normalize_sku(sku), range_index, row, sku, title.strip(), None, None, None, None, None, False,
                    listing_id.strip() or None, None, None, "removed", None, None)
        ok = True
        price = None
        text = price_text.strip()
        if text:
            try:
                price = _price(text)
            except ValueError:
                add(RowError(row, "price", _PRICE_RULE, price_text[:100]))
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
            if quantity_text.isdecimal() and len(quantity_text) < _CLEAN_QUANTITY_DIGITS:  # the usual case
                quantity = int(quantity_text)
            elif text := quantity_text.strip():
                try:
                    quantity = _quantity(text)
                except ValueError:
                    add(RowError(row, "quantity", _QUANTITY_RULE, quantity_text[:100]))
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
        parent = parent.strip()
        if len(parent) > MAX_PARENT_CHARS:
            add(RowError(row, "parent", f"the parent is over {MAX_PARENT_CHARS} characters", parent[:100]))
            ok = False
        variation = None
        if variation_text:
            try:
                attributes = variation_attributes(variation_text)
            except ValueError as exc:
                add(RowError(row, "variation", str(exc), variation_text[:100]))
                ok = False
            else:
                variation = dumps(attributes) if attributes else None
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
                kind.strip() or None, offer, state, parent or None, variation)

    return convert


_PRICE_RULE = f"the price is not 0 or a number from {MIN_PRICE} to {MAX_PRICE:,.0f}"
_QUANTITY_RULE = f"the quantity is not a whole number from 0 to {MAX_QUANTITY:,}"
_CLEAN_QUANTITY_DIGITS = len(str(MAX_QUANTITY))  # fewer digits than this: within the limit
_SKU_CHARS_CHECKED = 60  # shorter SKUs fit every key whatever their characters (4 bytes each, case-folded)


def _sku_problem(sku: str) -> str:
    """Why a (long) SKU cannot be a listing's key; "" when it can."""
    if len(sku) > MAX_SKU_CHARS:
        return f"the SKU is {len(sku):,} characters long; at most {MAX_SKU_CHARS} are kept"
    longest = max(len(sku.encode()), len(normalize_sku(sku).encode())) + _KEY_OVERHEAD_BYTES
    if longest > MAX_KEY_BYTES:
        return (f"the SKU takes {longest - _KEY_OVERHEAD_BYTES:,} bytes in UTF-8; its keys must fit "
                f"DynamoDB's {MAX_KEY_BYTES:,}-byte sort key, so at most {MAX_KEY_BYTES - _KEY_OVERHEAD_BYTES:,}")
    return ""


def _item_bytes(listing: Row, dumps: Any) -> int:
    """About what the listing's item takes in DynamoDB: its text attributes, the SKU key twice (SK and
    sku_key), load_fields (the catalogue fields again, as JSON) and the offer cells."""
    texts = (listing[SKU], listing[TITLE], listing[CURRENCY], listing[BARCODE], listing[ASIN], listing[LISTING_ID],
             listing[KIND], listing[OFFER], listing[PARENT], listing[VARIATION])
    fields = dumps([*listing[SKU:LISTING_ID], listing[KIND]])
    return (_ITEM_OVERHEAD_BYTES + 2 * len(listing[KEY].encode()) + len(fields.encode())
            + sum(len(text.encode()) for text in texts if text))
