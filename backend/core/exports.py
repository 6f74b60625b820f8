"""CSV exports of the tables the API and the pages show: declared once as columns over plain rows, streamed.

A table's rows are the same plain data the JSON carries after its serializer (so the figures and their rounding
are the JSON's): a column names a dotted path into a row. The response is streamed row by row, UTF-8 with a
byte-order mark (spreadsheets then read accents right), a header row first; an empty figure is an empty cell.
"""

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet; free text is prefixed with ' to stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    header: str
    path: str  # dotted path into a row, e.g. "subject.name"
    text: bool = False  # free text typed by people (guarded against spreadsheet formulas)

    def value(self, row: Mapping) -> str:
        value = row
        for key in self.path.split("."):
            if isinstance(value, Mapping):
                value = value.get(key)
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                value = None
        if value is None:
            return ""
        value = str(value)
        if self.text and value.startswith(FORMULA_STARTS):
            return "'" + value
        return value


@dataclass(frozen=True)
class CsvTable:
    name: str
    columns: tuple[Column, ...]

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def rows(self, items: Iterable[Mapping]) -> Iterator[list[str]]:
        for item in items:
            yield [column.value(item) for column in self.columns]


def columns(*specs: str | tuple[str, str] | Column) -> tuple[Column, ...]:
    """Columns from short specs: "name" (header and path alike), (header, path), or a Column."""
    made = []
    for spec in specs:
        if isinstance(spec, Column):
            made.append(spec)
        elif isinstance(spec, tuple):
            made.append(Column(*spec))
        else:
            made.append(Column(spec, spec))
    return tuple(made)


class _Line:
    """A file-like object that hands back what csv.writer writes (one line at a time)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(*, table: CsvTable, items: Iterable[Mapping]) -> Iterator[str]:
    """The CSV text of a table, line by line: the byte-order mark and the header row first."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield BOM + writer.writerow(table.headers)
    for row in table.rows(items):
        yield writer.writerow(row)


def csv_response(*, table: CsvTable, items: Iterable[Mapping], filename: str) -> StreamingHttpResponse:
    """A streamed CSV download of the table's rows."""
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in csv_lines(table=table, items=items)), content_type=CSV_CONTENT_TYPE
    )
    safe = "".join(char if char.isalnum() or char in "-_." else "-" for char in filename)
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response


class CsvRenderer(BaseRenderer):
    """Lets an API view answer ``?format=csv``. The view streams its tables itself (``csv_response``); what
    reaches this renderer is an error (400, 401, 403, 404, 429), written as a small field,message table."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        items = []
        if isinstance(data, Mapping):
            for field, messages in data.items():
                for message in messages if isinstance(messages, list) else [messages]:
                    items.append({"field": field, "message": message})
        elif data is not None:
            items = [{"field": "", "message": message} for message in (data if isinstance(data, list) else [data])]
        table = CsvTable("errors", columns("field", Column("message", "message", text=True)))
        return "".join(csv_lines(table=table, items=items)).encode("utf-8")
