"""The streaming reader: formats, encodings, delimiters, and a clear error for every bad input."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from infrastructure.standins.contract import spec
from stocksync.catalogue.diff import Current, diff
from stocksync.catalogue.reader import (
    MAX_FIELD_CHARS,
    OFFER,
    PARENT,
    PRICE,
    QUANTITY,
    SKU,
    STATE,
    VARIATION,
    CatalogueFileError,
    RangeReport,
    decompressed,
    parse_rows,
    sniff,
)
from stocksync.catalogue.staging import MemoryRunStore, merged, validate_sorted, write_runs

SAMPLE = spec("amazon", "sample-reports", "GET_MERCHANT_LISTINGS_ALL_DATA.synthetic.cp1252.tsv")


def read(data: bytes, charset: str | None = None, source: str | None = None):
    plan = sniff(io.BytesIO(data), charset=charset, source=source)
    body, _ = decompressed(io.BytesIO(data))
    body.read(plan.body_offset)
    report = RangeReport()
    rows = list(parse_rows(body, plan, report))
    return plan, rows, report


def test_given_the_amazon_sample_gzipped_when_read_then_fba_rows_have_no_quantity_and_cp1252_is_decoded():
    data = gzip.compress(SAMPLE.read_bytes())
    plan, rows, report = read(data)
    assert plan.compressed and plan.encoding == "cp1252" and plan.source == "amazon_merchant_listings"
    assert report.error_count == 0
    fba = [row for row in rows if row[10]]
    assert fba and all(row[6] is None for row in fba)
    assert any("Caf\u00e9" in row[4] for row in rows)


@pytest.mark.parametrize(("prefix", "encoding"), [(b"\xef\xbb\xbf", "utf-8-sig"), (b"", "utf-8")])
def test_given_utf8_with_or_without_bom_when_sniffed_then_the_encoding_is_found(prefix, encoding):
    plan, rows, _ = read(prefix + "sku;title;price;quantity\nA;Th\u00e9;1,50;2\n".encode())
    assert plan.encoding == encoding and plan.delimiter == ";"
    assert rows[0][3:7] == ("A", "Th\u00e9", 1.5, 2)


def test_given_a_declared_charset_when_sniffed_then_it_wins():
    plan, rows, _ = read("sku,title,price,quantity\nA,\u00e9,1,2\n".encode("latin-1"), charset="ISO-8859-1")
    assert plan.encoding == "iso8859-1" and rows[0][4] == "\u00e9"


def test_given_a_file_declared_utf8_holding_cp1252_when_read_then_the_row_is_named():
    good = "".join(f"S{i},a,1,2\n" for i in range(10_000))
    _, _, report = read(f"sku,title,price,quantity\n{good}B,caf\u00e9,1,2\n".encode("cp1252"), charset="utf-8")
    assert report.fatal and 9_000 < report.errors[0].row <= 10_001 and "utf-8" in report.errors[0].reason


def test_given_wrong_encoding_in_the_head_when_sniffed_then_the_file_is_refused():
    with pytest.raises(CatalogueFileError) as error:
        sniff(io.BytesIO("sku,title,price,quantity\nB,caf\u00e9,1,2\n".encode("cp1252")), charset="utf-8")
    assert error.value.code == "wrong_encoding"


def test_given_quoted_cells_with_newlines_and_formulas_when_read_then_values_are_kept_as_data():
    _, rows, report = read(b'sku,title,price,quantity\n"=A1","multi\nline, with comma",1,2\n+B,@x,1,2\n')
    assert report.error_count == 0
    assert [(row[3], row[4]) for row in rows] == [("=A1", "multi\nline, with comma"), ("+B", "@x")]


def test_given_non_numeric_price_and_quantity_when_read_then_each_error_names_row_and_field():
    _, rows, report = read(b"sku,title,price,quantity\nA,a,abc,1\nB,b,1,many\nC,c,-1,1\n")
    assert rows == []
    assert [(e.row, e.field) for e in report.errors] == [(1, "price"), (2, "quantity"), (3, "price")]
    assert report.errors[0].value == "abc"


def test_given_a_required_column_missing_when_sniffed_then_the_file_is_refused_naming_the_column():
    with pytest.raises(CatalogueFileError) as error:
        sniff(io.BytesIO(b"sku,title,quantity\nA,a,1\n"))
    assert error.value.code == "missing_column" and error.value.field == "price"


@pytest.mark.parametrize(("data", "code"), [
    (b"", "empty_file"),
    (b"   \n", "empty_file"),
    (bytes(range(256)) * 20, "not_text"),
])
def test_given_empty_or_binary_files_when_sniffed_then_they_are_refused(data, code):
    with pytest.raises(CatalogueFileError) as error:
        sniff(io.BytesIO(data))
    assert error.value.code == code


def test_given_a_truncated_gzip_when_read_then_the_load_stops_with_a_cut_short_error():
    text = "sku,title,price,quantity\n" + "".join(f"S{i},t,1,1\n" for i in range(2_000))
    data = gzip.compress(text.encode())
    with pytest.raises(CatalogueFileError, match="cut short"):
        read(data[:200])
    big = "sku,title,price,quantity\n" + "".join(f"S{i},title {i * 7919 % 100003},1,{i}\n" for i in range(300_000))
    compressed = gzip.compress(big.encode())
    _, _, report = read(compressed[: len(compressed) * 3 // 4])
    assert report.fatal and "cut short" in report.fatal


def test_given_a_1mb_line_when_read_then_it_is_refused_with_its_row():
    data = b"sku,title,price,quantity\nA,a,1,1\nB," + b"x" * 1_048_576 + b",1,1\n"
    _, _, report = read(data)
    assert report.fatal and report.errors[-1].row == 2 and str(MAX_FIELD_CHARS) in report.errors[-1].reason


def test_given_duplicate_skus_in_different_runs_when_merged_then_both_rows_are_found():
    _, rows, _ = read(b"sku,title,price,quantity\nA,a,1,1\nb,b,1,1\nC,c,1,1\na,again,1,1\n")
    store = MemoryRunStore()
    runs = write_runs(iter(rows), store, "r-", run_rows=2)
    checked = validate_sorted(merged(runs, store), rows_per_partition=100)
    assert checked.duplicate_count == 1
    first, repeat = checked.duplicates[0]
    assert (first[2], repeat[2]) == (1, 4)


def test_given_sorted_runs_when_read_from_a_key_then_only_that_slice_comes_back():
    _, rows, _ = read(("sku,title,price,quantity\n" + "".join(f"S{i:03d},t,1,1\n" for i in range(500))).encode())
    store = MemoryRunStore()
    runs = write_runs(iter(rows), store, "r-", run_rows=120)
    keys = [row[0] for row in merged(runs, store, "s100", "s200")]
    assert keys == [f"s{i:03d}" for i in range(100, 200)]


def test_given_a_load_and_current_listings_when_diffed_then_only_differences_are_changes():
    _, rows, _ = read(b"sku,title,price,quantity\nA,a,1,1\nB,b,2,2\nD,d,4,4\n")
    current = [Current("a", rows[0][3:], False, None, None, False),
               Current("b", ("B", "old", 2.0, 2, None, None, None, False, None, None, None, "active", None, None),
                       False, "i1", 5, False),
               Current("c", ("C", "c", 3.0, 3, None, None, None, False, None, None, None, "active", None, None), False,
                       None, None, False)]
    changes = [(c.kind, (c.row or c.current)[0]) for c in diff(rows, current)]
    assert changes == [("same", "a"), ("update", "b"), ("remove", "c"), ("create", "d")]
    assert [change.drift for change in diff(rows, current)] == [False, True, False, False]


def test_given_runs_with_interleaved_and_duplicate_keys_when_merged_then_the_order_is_a_full_sort():
    import random

    rng = random.Random(7)
    rows = [(f"k{rng.randrange(3_000):05d}", 0, row) for row in range(1, 9_001)]  # many repeated keys
    store = MemoryRunStore()
    runs = write_runs(iter(rows), store, "r-", run_rows=700)
    assert list(merged(runs, store)) == sorted(rows)
    assert list(merged(runs, store, "k00500", "k02000")) == sorted(r for r in rows if "k00500" <= r[0] < "k02000")



MIRAKL_EXPORT = ("offer-id;shop-sku;price;origin-price;quantity;active;deleted;description;discount-price;"
                 "leadtime-to-ship;logistic-class;shipping-price[zone=FR,method=STD]\n"
                 "2001;LAMP-1;27.00;30.00;4;true;false;Lampe; bleue;27.00;2;M;5.00\n"
                 "2002;LAMP-2;30.00;;0;false;false;;;;;\n"
                 "2003;LAMP-3;;;;false;true;;;;;\n").replace("Lampe; bleue", '"Lampe; bleue"')


def test_given_a_mirakl_offers_export_when_read_then_each_row_keeps_the_offer_fields_of24_would_reset():
    _, rows, report = read(MIRAKL_EXPORT.encode(), source="mirakl_offer_changes")

    assert report.error_count == 0
    first, bare, gone = rows
    assert json.loads(first[OFFER]) == {"origin-price": "30.00", "description": "Lampe; bleue",
                                        "discount-price": "27.00", "leadtime-to-ship": "2", "logistic-class": "M"}
    assert (bare[OFFER], bare[STATE]) == (None, "disabled")
    # a differential export's deleted offer carries only its ids, and removes its listing
    assert (gone[SKU], gone[PRICE], gone[QUANTITY], gone[STATE]) == ("LAMP-3", None, None, "removed")


def test_given_a_load_that_lists_only_active_or_only_changed_listings_when_diffed_then_the_absent_are_kept():
    _, rows, _ = read(b"sku,title,price,quantity,state\nB,b,2,2,active\nD,,,0,removed\n")
    ended = Current("a", ("A", "a", 1.0, 0, None, None, None, False, None, None, None, "ended", None, None), False,
                    "i1", 0, False)
    active = Current("c", ("C", "c", 3.0, 3, None, None, None, False, None, None, None, "active", None, None), False,
                     None, None, False)
    deleted = Current("d", ("D", "d", 4.0, 4, None, None, None, False, None, None, None, "active", None, None), False,
                      None, None, False)
    current = [ended, Current("b", rows[0][3:], False, None, None, False), active, deleted]

    def kinds(changes):
        return [(c.kind, (c.row or c.current)[0]) for c in changes]

    assert kinds(diff(rows, current)) == [("remove", "a"), ("same", "b"), ("remove", "c"), ("remove", "d")]
    assert kinds(diff(rows, current, kept_when_absent=frozenset({"ended", "disabled"}))) == [
        ("same", "b"), ("remove", "c"), ("remove", "d")]
    assert kinds(diff(rows, current, complete=False)) == [("same", "b"), ("remove", "d")]


# --- what DynamoDB can store is checked per row, before anything is written (issue 18) ---------------

HEADER = b"sku,title,price,quantity\n"


def _errors(report: RangeReport) -> list[tuple[int, str]]:
    return [(error.row, error.field) for error in report.errors]


@pytest.mark.parametrize("sku", ["\u5546" * 400, "A" * 2_048, "\u0390" * 170])  # ΐ: 2 bytes, 6 case-folded
def test_given_a_sku_its_keys_cannot_hold_when_read_then_it_is_a_row_error_and_the_other_rows_load(sku):
    _, rows, report = read(HEADER + f"{sku},Too long,1,1\nOK-1,Fine,1,1\n".encode())

    assert [row[SKU] for row in rows] == ["OK-1"]
    assert _errors(report) == [(1, "sku")]
    assert "SKU" in report.errors[0].reason


def test_given_the_longest_sku_we_keep_when_read_then_it_loads():
    _, rows, report = read(HEADER + ("\u5546" * 200 + ",Long,1,1\n").encode())
    assert report.error_count == 0 and len(rows) == 1


@pytest.mark.parametrize(("cells", "field"), [
    ("1,10000000000000000000000000000000000000000", "quantity"),  # 10^40
    ("1,1000000001", "quantity"),
    ("1," + "9" * 5_000, "quantity"),  # past int()'s 4,300 digits: was an uncaught ValueError
    ("1e300,1", "price"),
    ("1e-200,1", "price"),
    ("1.0000000000000000000000000000000000000001,1", "price"),  # 41 significant digits
])
def test_given_a_number_outside_what_we_store_when_read_then_it_is_a_row_error(cells, field):
    _, rows, report = read(HEADER + f"A,Alpha,{cells}\n".encode())
    assert rows == [] and _errors(report) == [(1, field)]


def test_given_the_largest_quantity_and_price_we_keep_when_read_then_they_load():
    _, rows, report = read(HEADER + b"A,Alpha,1000000000,1000000000\nB,Beta,0,0\n")
    assert report.error_count == 0
    assert [(row[PRICE], row[QUANTITY]) for row in rows] == [(1e9, 1_000_000_000), (0.0, 0)]


def test_given_a_row_that_would_make_an_item_over_400_kb_when_read_then_it_is_a_row_error():
    title = "\u5546" * (MAX_FIELD_CHARS - 10)  # 384 KB of UTF-8, kept twice on the listing
    _, rows, report = read(HEADER + f"A,{title},1,1\nB,Fine,1,1\n".encode())
    assert [row[SKU] for row in rows] == ["B"] and _errors(report) == [(1, "")]
    assert "400" in report.errors[0].reason or "409,600" in report.errors[0].reason


# --- charsets: a clean load error, never a crash --------------------------------------------------


@pytest.mark.parametrize("charset", ["utf-16", "utf-32", "base64", "rot13", "hex", "zlib", "utf-7", "cp037",
                                     "no-such-charset", '"x-unknown"'])
def test_given_a_charset_we_cannot_read_csv_in_when_sniffed_then_it_is_a_file_error_naming_it(charset):
    with pytest.raises(CatalogueFileError) as error:
        sniff(io.BytesIO(HEADER + b"A,Alpha,1,1\n"), charset=charset)
    assert error.value.code in {"wrong_encoding", "unknown_charset"}
    assert charset.strip('"') in error.value.reason


def test_given_a_utf32_file_when_sniffed_then_it_is_called_utf32_not_utf16():
    with pytest.raises(CatalogueFileError, match="UTF-32"):
        sniff(io.BytesIO("sku,title,price,quantity\nA,x,1,1\n".encode("utf-32")))


def test_given_a_file_lying_about_its_charset_when_sniffed_then_the_error_says_the_byte_and_its_line():
    data = HEADER + b"A,Alpha,1,1\n" * 27 + b"B,xx\xff,1,1\n"  # the bad byte at 353, on line 29
    with pytest.raises(CatalogueFileError) as error:
        sniff(io.BytesIO(data), charset="utf-8")
    assert "byte 353" in error.value.reason and "line 29" in error.value.reason and error.value.row == 29


def test_given_invalid_utf8_past_the_head_when_read_then_the_error_says_its_byte_and_row():
    data = HEADER + "A,\u00e9,1,1\n".encode() * 20_000 + b"B,\xff,1,1\n"
    _, rows, report = read(data, charset="utf-8")
    assert len(rows) < 20_000 and report.fatal
    bad_byte = data.index(b"\xff")
    assert f"byte {bad_byte:,}" in report.fatal
    assert report.errors[-1].row == 20_001  # the record number in the body: file row 20,002


# --- RFC 4180, headers, and messages that say where --------------------------------------------------


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_given_a_quoted_cell_holding_a_bare_cr_when_read_then_it_stays_in_its_row(newline):
    data = newline.join([b"sku,title,price,quantity", b'A,"one\rtwo",1,1', b"B,Beta,1,1", b""])
    _, rows, report = read(data)
    assert report.error_count == 0
    assert [(row[SKU], row[4]) for row in rows] == [("A", "one\rtwo"), ("B", "Beta")]


def test_given_two_quantity_columns_when_sniffed_then_the_file_is_refused_naming_both():
    with pytest.raises(CatalogueFileError) as error:
        sniff(io.BytesIO(b"sku,quantity,title,price,Quantity\nA,1,Alpha,1,2\n"))
    assert error.value.code == "duplicate_column" and error.value.row == 1
    assert "column 2 ('quantity')" in error.value.reason and "column 5 ('Quantity')" in error.value.reason


def test_given_a_five_megabyte_data_line_when_sniffed_then_the_header_is_not_blamed():
    data = HEADER + b"A,Alpha,1," + b"1" * 5_000_000 + b"\n"
    _, rows, report = read(data)
    assert rows == [] and _errors(report) == [(1, "")]
    assert "header" not in report.errors[0].reason


def test_given_variation_children_when_read_then_each_row_keeps_its_parent_and_attributes():
    _, rows, report = read(b'sku,title,price,quantity,parent,variation\n'
                           b'TEE-M,Tee M,9,2,TEE,"{""Size"": "" M "", ""Colour"": ""Black""}"\n'
                           b'MUG,Mug,5,1,,\n')
    assert not report.errors
    tee, mug = rows
    assert (tee[PARENT], json.loads(tee[VARIATION])) == ("TEE", {"Size": "M", "Colour": "Black"})
    assert (mug[PARENT], mug[VARIATION]) == (None, None)


def test_given_a_variation_that_is_not_an_object_of_text_when_read_then_the_row_is_refused():
    _, rows, report = read(b'sku,title,price,quantity,parent,variation\nTEE-M,t,9,2,TEE,"[""M""]"\n'
                           b'TEE-L,t,9,2,TEE,"{""Size"": 3}"\nTEE-S,t,9,2,TEE,not json\n')
    assert rows == []
    assert [(e.row, e.field) for e in report.errors] == [(1, "variation"), (2, "variation"), (3, "variation")]


def test_given_a_variation_we_sent_0_when_absent_from_an_active_only_load_then_it_is_kept():
    _, rows, _ = read(b"sku,title,price,quantity\nB,b,2,2\n")
    fields = ("A", "a", 1.0, 0, None, None, None, False, "110", "inventory_api", None, "active", "HOOD", None)
    sold_out = Current("a", fields, False, "i1", 0, False)
    selling = Current("c", (*fields[:-2], "HOOD", None), False, "i2", 3, False)
    kept = frozenset({"ended", "disabled"})

    changes = [(c.kind, (c.row or c.current)[0]) for c in diff(rows, [sold_out, selling], kept_when_absent=kept)]

    assert changes == [("create", "b"), ("remove", "c")]
