"""Reads whose SQL is compiled once: a query of the same shape asked for on every request, with new values.

Building a queryset and compiling it to SQL costs more Python than reading its few rows: on the student overview
it was a fifth of the request. A ``CompiledRead`` builds its queryset once with placeholder values, compiles it,
and from then on runs that SQL with each call's values in the placeholders' places, turning the rows into Python
values with the same converters the queryset would use.
"""

import datetime
import typing
from collections.abc import Callable
from itertools import count

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import ValuesIterable, ValuesListIterable

# Placeholder values no real read asks for: ids far beyond any table's, dates of the 1800s.
_ids = count(2_000_000_001)
_days = count(1)
PLACEHOLDER_DATE_START = datetime.date(1801, 1, 1)


def placeholder(kind: type):
    """A value of ``kind`` (int, date or str) that is unique among every placeholder."""
    if kind is int:
        return next(_ids)
    if kind is datetime.date:
        return PLACEHOLDER_DATE_START + datetime.timedelta(days=next(_days))
    if kind is str:
        return f"\x1fplaceholder {next(_ids)}"
    raise TypeError(f"No placeholder for {kind}: only ints, dates and text are read this way.")


def item_kind(kind) -> type | None:
    """The kind of a list's items (``list`` alone: ints; ``list[datetime.date]``: dates), None for a single value."""
    if kind is list:
        return int
    if typing.get_origin(kind) is list:
        return typing.get_args(kind)[0]
    return None


class _Compiled:
    def __init__(self, read: "CompiledRead", names: frozenset, connection, lengths: dict):
        values = {
            name: (
                [placeholder(item_kind(read.kinds[name])) for _ in range(lengths[name])]
                if name in lengths
                else placeholder(read.kinds[name])
            )
            for name in names
        }
        queryset = read.build(**values)
        if queryset._iterable_class not in (ValuesIterable, ValuesListIterable):
            raise TypeError("A compiled read gives values() or values_list() rows.")
        query = queryset.query
        self.compiler = query.get_compiler(connection=connection)
        self.sql, params = self.compiler.as_sql()
        # Placeholder -> (name, the item's place in the list, or None for a single value).
        prepared = {}
        for name, value in values.items():
            if isinstance(value, list):
                prepared.update({self._prepare(item, connection): (name, index) for index, item in enumerate(value)})
            else:
                prepared[self._prepare(value, connection)] = (name, None)
        # Each parameter: where its value comes from (the name, and the place in a list), or the query's constant.
        self.slots = [
            (*prepared[param], None) if _hashable(param) and param in prepared else (None, None, param)
            for param in params
        ]
        missing = set(names) - {name for name, _, _ in self.slots}
        if missing:
            raise ValueError(f"Not a parameter of the SQL: {', '.join(sorted(missing))}.")
        self.dicts = queryset._iterable_class is ValuesIterable
        self.names = (
            list(query.selected)
            if query.selected
            else [*query.extra_select, *query.values_select, *query.annotation_select]
        )

    @staticmethod
    def _prepare(value, connection):
        if isinstance(value, datetime.date):
            return connection.ops.adapt_datefield_value(value)
        return value

    def rows(self, values: dict, connection) -> list:
        params = [
            constant
            if name is None
            else self._prepare(values[name][index] if index is not None else values[name], connection)
            for name, index, constant in self.slots
        ]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        rows = self.compiler.results_iter(results=[fetched], tuple_expected=not self.dicts)
        if self.dicts:
            names = self.names
            return [dict(zip(names, row, strict=True)) for row in rows]
        return list(rows)


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class CompiledRead:
    """``build(**values)``: a ``values()`` or ``values_list()`` queryset whose ``values`` (ints, dates, text or lists
    of them, by ``kinds``: int, datetime.date, str, ``list`` for ints or ``list[kind]``) only fill its filters'
    parameters. Called with the values, it
    returns the queryset's rows as a list; the SQL is compiled once per database, set of names given and length of
    each list (``x__in=ids`` has a parameter per id). A value of None is not a parameter (``x=None`` filters
    ``IS NULL``) and an empty list has none (``x__in=[]`` matches nothing): such a call builds and runs the
    queryset as usual, as does a list longer than ``max_length``."""

    def __init__(self, build: Callable[..., QuerySet], *, max_length: int | None = None, **kinds: type):
        self.build = build
        self.kinds = kinds
        # A list longer than this builds and runs the queryset as usual (one compiled SQL per length is kept: a
        # bound keeps that cache small where lists can be of any length).
        self.max_length = max_length
        # By database (vendor) and set of names given. The converters of the first connection to compile serve
        # every thread's: they read the row's values and the settings, never the connection's session.
        self.compiled: dict[tuple, _Compiled] = {}

    def __call__(self, **values) -> list:
        lists = {name for name in values if item_kind(self.kinds[name]) is not None}
        if any(
            value is None or (name in lists and not (0 < len(value) <= (self.max_length or len(value))))
            for name, value in values.items()
        ):
            return list(self.build(**values))
        connection = connections[DEFAULT_DB_ALIAS]
        lengths = {name: len(values[name]) for name in lists}
        key = (connection.vendor, frozenset(values), frozenset(lengths.items()))
        compiled = self.compiled.get(key)
        if compiled is None:
            compiled = self.compiled[key] = _Compiled(self, key[1], connection, lengths)
        return compiled.rows(values, connection)
