"""Mapping CSV export and import validation: pure, no AWS."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stocksync.mapping.csv_io import (
    LAYOUTS,
    LIMITS_COLUMNS,
    ColumnMapping,
    ExportField,
    ImportField,
    check_references,
    export_lines,
    neutralise,
    parse_export_fields,
    parse_import,
    plain_text,
)


def test_given_cells_a_spreadsheet_would_run_when_exported_then_they_are_plain_text():
    rows = [{ExportField.CHANNEL_SKU: "=HYPERLINK(\"x\")", ExportField.TITLE: "+1", ExportField.LINKED_SKU: "-2",
             ExportField.LINKED_TITLE: "@SUM(A1)", ExportField.FBA: True, ExportField.MAX_LISTED: 5.0}]
    fields = [ExportField.CHANNEL_SKU, ExportField.TITLE, ExportField.LINKED_SKU, ExportField.LINKED_TITLE,
              ExportField.FBA, ExportField.MAX_LISTED, ExportField.END_WHEN]

    text = "".join(export_lines(fields, rows))

    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["Channel SKU", "Title", "Linked SKU", "Linked Title", "FBA", "Max Listed", "End When"]
    assert parsed[1] == ["'=HYPERLINK(\"x\")", "'+1", "'-2", "'@SUM(A1)", "TRUE", "5", ""]
    assert neutralise("\tx") == "'\tx" and neutralise("\rx") == "'\rx" and neutralise("ok") == "ok"


@given(st.text(alphabet="'=+-@\t\rab", max_size=6))
def test_given_any_cell_when_neutralised_then_the_import_reads_it_back_as_it_was(cell):
    assert plain_text(neutralise(cell)) == cell
    assert not neutralise(cell).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_given_field_names_when_parsed_then_unknown_ones_are_refused():
    assert parse_export_fields("channel_sku, linked_sku,channel_sku") == [ExportField.CHANNEL_SKU,
                                                                           ExportField.LINKED_SKU]
    with pytest.raises(ValueError, match="bogus"):
        parse_export_fields("channel_sku,bogus")


MAPPING = ColumnMapping(channel_sku="Listing", item_sku="Ours", ignore_sync="Skip", max_listed="Max",
                        end_when="End", percentage="Pct").mapped()


def test_given_a_valid_file_when_parsed_then_every_row_has_its_values():
    text = "listing,OURS,skip,max,end,pct\r\nA-1,X,yes,5,1,50%\r\nB-2,,0,,,\r\n,,,,,\r\n"

    parsed = parse_import(text, MAPPING)

    assert parsed.errors == [] and parsed.row_count == 2
    assert parsed.rows[0].values == {ImportField.ITEM_SKU: "X", ImportField.IGNORE_SYNC: True,
                                     ImportField.MAX_LISTED: 5, ImportField.END_WHEN: 1, ImportField.PERCENTAGE: 50}
    assert parsed.rows[1].values[ImportField.ITEM_SKU] is None and parsed.rows[1].values[ImportField.MAX_LISTED] is None


def test_given_bad_rows_when_parsed_then_every_bad_cell_is_reported_with_row_and_column():
    text = ("Listing,Ours,Skip,Max,End,Pct\n"
            "A-1,X,maybe,-1,1,50\n"
            ",X,no,1,x,101\n"
            "a-1 ,Y,no,1,1,1\n")

    parsed = parse_import(text, MAPPING)

    found = {(e.row, e.column, e.reason.split(" must")[0]) for e in parsed.errors}
    assert found == {(2, "Skip", "Ignore Sync"), (2, "Max", "Max Listed"), (3, "Listing", "the channel SKU is empty"),
                     (3, "End", "End When"), (3, "Pct", "Percentage"),
                     (4, "Listing", "channel SKU repeated (first on row 2)")}
    assert parsed.rows == []


def test_given_a_mapped_column_missing_from_the_header_when_parsed_then_row_1_is_reported():
    parsed = parse_import("Listing,Ours\nA,B\n", MAPPING)

    assert {(e.row, e.column) for e in parsed.errors} == {(1, "Skip"), (1, "Max"), (1, "End"), (1, "Pct")}


def test_given_unknown_listings_and_items_when_checked_then_each_is_reported():
    parsed = parse_import("Listing,Ours\nA,X\nB,Y\n", ColumnMapping(channel_sku="Listing", item_sku="Ours").mapped())

    errors = check_references(parsed, {"a": object()}, {"x": "i1"}, "Listing", "Ours")

    assert [(e.row, e.column, e.reason) for e in errors] == [(3, "Listing", "no listing with this SKU on the channel"),
                                                              (3, "Ours", "no item with this SKU")]


def test_given_a_limits_file_with_other_header_spellings_when_parsed_then_aliases_find_the_columns():
    parsed = parse_import("Channel SKU,MAX_LISTED,end when,Percent\nA,3,1,100\n", LIMITS_COLUMNS.mapped(),
                          LAYOUTS["limits"])

    assert parsed.errors == []
    assert parsed.rows[0].values == {ImportField.MAX_LISTED: 3, ImportField.END_WHEN: 1, ImportField.PERCENTAGE: 100}


def test_given_one_column_mapped_twice_when_validated_then_refused():
    with pytest.raises(ValueError, match="only one field"):
        ColumnMapping(channel_sku="SKU", item_sku="sku")
