"""The CSV machinery: columns over plain rows, the text guard, the streamed lines and the error table."""

import csv
import io

from core.exports import Column, CsvRenderer, CsvTable, columns, csv_lines, csv_response


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def test_columns_read_dotted_paths_list_items_and_empty_for_null():
    table = CsvTable("t", columns("a", ("b_c", "b.c"), ("first", "items.0.name"), ("tenth", "items.9.name")))

    rows = list(table.rows([{"a": 1, "b": {"c": "2.50"}, "items": [{"name": "x"}]}, {"a": None, "b": None}]))

    assert table.headers == ["a", "b_c", "first", "tenth"]
    assert rows == [["1", "2.50", "x", ""], ["", "", "", ""]]


def test_only_free_text_is_guarded_against_formulas():
    """A negative figure stays a number; a comment starting with = or - is kept as text."""
    table = CsvTable("t", columns("outstanding", Column("comment", "comment", text=True)))

    rows = list(table.rows([{"outstanding": "-12.50", "comment": "-great term"}, {"comment": "@SUM(A1)"}]))

    assert rows == [["-12.50", "'-great term"], ["", "'@SUM(A1)"]]


def test_lines_start_with_the_bom_and_the_header_and_quote_what_needs_it():
    table = CsvTable("t", columns("name", "note"))

    text = "".join(csv_lines(table=table, items=[{"name": 'Ngũgĩ, "Jr"', "note": "two\nlines"}]))

    assert text.startswith("\ufeffname,note\r\n")
    assert parse(text) == [["name", "note"], ['Ngũgĩ, "Jr"', "two\nlines"]]


def test_the_response_streams_utf8_with_a_safe_file_name():
    response = csv_response(table=CsvTable("t", columns("name")), items=[{"name": "Zoë"}], filename='a"b/c.csv')

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="a-b-c.csv"'
    assert b"".join(response.streaming_content).decode("utf-8") == "\ufeffname\r\nZoë\r\n"


def test_the_renderer_writes_errors_as_a_field_message_table():
    rendered = CsvRenderer().render({"term": ["No such term.", "Another."], "detail": "Not found."}).decode()

    assert parse(rendered) == [
        ["field", "message"],
        ["term", "No such term."],
        ["term", "Another."],
        ["detail", "Not found."],
    ]
