"""Set-based writes: a summary table's rows for a set of keys recomputed and written by the database.

A table's set-based refresh is one statement: ``WITH keys AS (VALUES ...) INSERT INTO table (...) SELECT ...
GROUP BY ... ON CONFLICT (key) DO UPDATE SET ... WHERE (stored) IS DISTINCT FROM (excluded) RETURNING ...``;
the rows it returns (written now) tell which ones are left empty and are deleted with one more statement,
only when there are any. Arithmetic is in integers (counts; a percentage in whole hundredths, rounded half up
as ``analytics.definitions.percentage`` does), so SQLite (3.35 or later: ``RETURNING``; 3.39: ``IS DISTINCT
FROM``) and PostgreSQL give the same digits. Values are parameters; names are quoted by the connection.
"""

import datetime
from collections.abc import Iterable, Iterator, Sequence

from django.db import connection, models

# Key rows per statement: SQLite allows 32766 parameters, and a key carries up to 8 of them.
CHUNK = 2000


def name(identifier: str) -> str:
    return connection.ops.quote_name(identifier)


def column(model: type[models.Model], field: str) -> str:
    return name(model._meta.get_field(field).column)


def table(model: type[models.Model]) -> str:
    return name(model._meta.db_table)


def chunks(rows: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def adapt(value):
    """A parameter as the database stores it (SQLite: dates and times as ISO text, in UTC)."""
    if isinstance(value, datetime.datetime):
        try:
            return connection.ops.adapt_datetimefield_value(value)
        except OverflowError:
            # Later in UTC than the calendar's last moment (the last day's deadline west of UTC): as text, after
            # every moment SQLite can hold.
            return "9999-12-31 24:00:00"
    if isinstance(value, datetime.date):
        return connection.ops.adapt_datefield_value(value)
    if isinstance(value, bool) and connection.vendor != "postgresql":
        return int(value)
    return value


def values_cte(cte: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence]) -> tuple[str, list]:
    """``cte(c1, c2) AS (VALUES (...), ...)`` with the rows as parameters; columns are (name, PostgreSQL type),
    the type cast on PostgreSQL only (SQLite compares the ISO text its columns hold)."""
    if connection.vendor == "postgresql":
        placeholder = "(" + ", ".join(f"%s::{kind}" for _, kind in columns) + ")"
    else:
        placeholder = "(" + ", ".join("%s" for _ in columns) + ")"
    rows = list(rows)
    params = [adapt(value) for row in rows for value in row]
    names = ", ".join(name(column_name) for column_name, _ in columns)
    return f"{name(cte)}({names}) AS (VALUES {', '.join([placeholder] * len(rows))})", params


def hundredths(expression: str) -> str:
    """A whole number of hundredths as the decimal it stands for (exact on PostgreSQL; on SQLite the REAL nearest
    to it, as Django stores a decimal there)."""
    if connection.vendor == "postgresql":
        return f"(CAST({expression} AS numeric) / 100)"
    return f"(({expression}) / 100.0)"


def rounded_percentage(part: str, whole: str) -> str:
    """part / whole x 100 in hundredths, rounded half up in integer arithmetic (NULL when whole is 0)."""
    return f"CASE WHEN {whole} > 0 THEN {hundredths(f'(20000 * {part} + {whole}) / (2 * {whole})')} END"


def upsert(
    model: type[models.Model],
    *,
    with_sql: str,
    select_sql: str,
    columns: Sequence[str],
    key: Sequence[str],
    update: Sequence[str],
    force: str = "",
    touched: str = "excluded.updated_at",
    returning: Sequence[str],
    params: list,
) -> list[tuple]:
    """Insert the selected rows, or update the stored row of a key where a field differs (or ``force`` holds on
    the new row, ``excluded``); returns ``returning`` (SQL expressions of the row) of every row written.

    ``params`` are those of ``with_sql``, ``select_sql`` and ``touched`` (the updated row's ``updated_at``),
    in that order."""
    target = table(model)
    names = [column(model, field) for field in columns]
    differs = [f"{target}.{column(model, field)} IS DISTINCT FROM excluded.{column(model, field)}" for field in update]
    if force:
        differs.append(f"({force})")
    sets = ", ".join(f"{column(model, field)} = excluded.{column(model, field)}" for field in update)
    sets += f", {column(model, 'updated_at')} = {touched}"
    sql = (
        f"WITH {with_sql} INSERT INTO {target} ({', '.join(names)}) {select_sql} "
        f"ON CONFLICT ({', '.join(column(model, field) for field in key)}) DO UPDATE SET {sets} "
        f"WHERE {' OR '.join(differs)} RETURNING {', '.join(returning)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def delete(model: type[models.Model], ids: Iterable[int]) -> int:
    ids = sorted(set(ids))
    if not ids:
        return 0
    placeholders = ", ".join(["%s"] * len(ids))
    statement = f"DELETE FROM {table(model)} WHERE {column(model, 'id')} IN ({placeholders})"  # noqa: S608 (quoted)
    with connection.cursor() as cursor:
        cursor.execute(statement, ids)
        return cursor.rowcount
