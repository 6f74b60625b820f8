"""The machinery every summary table shares: its description, the locks, the upsert of differences.

A table module (``daily``, ``term``, ``teacher``, ``term_attendance``, ``school_day``) describes its table
with a ``Table`` and computes its rows for a set of keys; ``refresh`` locks the keys (unless the caller
holds them), reads the stored rows, calls the compute function and writes the difference with one upsert
and one delete. On PostgreSQL the locks are transaction-level advisory locks (per student, per teacher, per
school day), all taken in one statement, in one global order, so no two writers deadlock.
"""

import datetime
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Q

from analytics.definitions import AttendanceRules
from core.compiled import CompiledRead
from core.dates import utc_midnight
from schools.models import AcademicTerm, Student

# Above this many distinct dates a filter uses a range instead of an IN list (the rows outside the
# keys are read and ignored, never written).
MAX_DATES_IN_LIST = 40


@dataclass(frozen=True)
class Difference:
    """A summary row that differs from its recomputation."""

    table: str
    key: tuple
    kind: str  # "missing": should exist; "unexpected": should not exist; "changed": fields differ
    fields: dict[str, tuple[Any, Any]]  # name -> (stored, expected)

    def __str__(self) -> str:
        key = ", ".join(str(part) for part in self.key)
        details = "; ".join(f"{name}: stored {old!r}, expected {new!r}" for name, (old, new) in self.fields.items())
        return f"{self.table}({key}) {self.kind}" + (f": {details}" if details else "")


@dataclass
class RefreshResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted

    def __iadd__(self, other: "RefreshResult") -> "RefreshResult":
        self.created += other.created
        self.updated += other.updated
        self.deleted += other.deleted
        self.differences.extend(other.differences)
        return self


@dataclass(frozen=True)
class Table:
    model: type[models.Model]
    key_fields: tuple[str, ...]
    derived: dict[str, Any]  # derived field -> its value in a row that has no source data
    inputs: dict[str, Any]  # teacher-input field -> its empty value
    lock_class: int  # first key of the PostgreSQL advisory lock that guards a key of the table
    lock_width: int  # how many leading parts of the key the lock covers

    @property
    def name(self) -> str:
        return self.model.__name__

    def locks(self, keys: Iterable[tuple]) -> set[tuple[int, tuple]]:
        return {(self.lock_class, key[: self.lock_width]) for key in keys}


# What a lock guards: every row of a student (their days, terms and subjects together, so a daily
# register mark and a new subject row of the same student wait for each other), every week of a
# teacher, one day of a school. Taken in the order of these numbers, so no two writers wait on each other.
STUDENT_LOCK, TEACHER_LOCK, SCHOOL_DAY_LOCK = 0x5C401, 0x5C402, 0x5C403


# key -> (school_id, derived values); a key absent from the mapping has no source data. In place of
# the school id, KEPT_BY_INPUT: the values hold only if a teacher input keeps the row.
Computed = dict[tuple, tuple[Any, dict[str, Any]]]
KEPT_BY_INPUT = object()


class Lookups:
    """Rows that several computations of one refresh need, read once: students with their school's
    settings, and the schools' terms."""

    def __init__(self):
        self._students: dict[int, dict | None] = {}
        self._terms: dict[int, tuple[int, datetime.date, datetime.date]] = {}  # id -> (school, start, end)
        self._schools_with_terms: set[int] = set()

    def students(self, ids: Iterable[int]) -> dict[int, dict]:
        ids = set(ids)
        missing = ids - self._students.keys()
        if missing:
            self._students.update(dict.fromkeys(missing))
            rows = Student.objects.filter(id__in=missing).order_by()
            for row in rows.values("id", "school_id", "class_group_id", *SCHOOL_FIELDS):
                self._students[row["id"]] = row
        return {student_id: self._students[student_id] for student_id in ids if self._students[student_id]}

    def school_terms(self, school_ids: Iterable[int]) -> dict[int, list[tuple[int, datetime.date, datetime.date]]]:
        """school id -> [(term id, start, end)] of every term of the schools."""
        school_ids = set(school_ids)
        self._read_terms(Q(school_id__in=school_ids - self._schools_with_terms))
        self._schools_with_terms |= school_ids
        terms = defaultdict(list)
        for term_id, (school_id, start, end) in self._terms.items():
            if school_id in school_ids:
                terms[school_id].append((term_id, start, end))
        return terms

    def terms(self, ids: Iterable[int]) -> dict[int, tuple[int, datetime.date, datetime.date]]:
        """term id -> (school id, start, end) of the terms that exist."""
        ids = set(ids)
        self._read_terms(Q(id__in=ids - self._terms.keys()))
        return {term_id: self._terms[term_id] for term_id in ids if term_id in self._terms}

    def _read_terms(self, condition: Q) -> None:
        if not any(values for _, values in condition.children):
            return
        rows = AcademicTerm.objects.filter(condition).order_by()
        for term_id, school_id, start, end in rows.values_list("id", "school_id", "start_date", "end_date"):
            self._terms[term_id] = (school_id, start, end)


def refresh(
    table: Table,
    keys: Iterable[tuple],
    compute: Callable[..., Computed],
    *,
    dry_run: bool,
    locked: bool = False,
    changed: frozenset | None = None,
) -> RefreshResult:
    keys = set(keys)
    if not keys:
        return RefreshResult()
    with transaction.atomic(savepoint=False):
        if not (dry_run or locked):
            lock(table.locks(keys))
        existing = stored_rows(table, keys)
        computed = compute(keys, stored=existing if changed else {}, changed=changed or frozenset())
        return apply(table, keys, existing, computed, dry_run=dry_run)


def _key_hash(key: tuple) -> int:
    digest = zlib.crc32(":".join(str(part) for part in key).encode())
    return digest - (1 << 32) if digest >= (1 << 31) else digest


def lock(locks: set[tuple[int, tuple]]) -> None:
    """Hold a transaction-level advisory lock per (lock class, key), all in one statement, in sorted order.

    Every transaction takes its locks in this one global order, so no two can wait on each other.
    PostgreSQL only; SQLite needs none: its writers hold the whole database (IMMEDIATE transactions).
    """
    if connection.vendor != "postgresql":
        return
    pairs = sorted({(lock_class, _key_hash(key)) for lock_class, key in locks})
    if not pairs:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(c, k) FROM "
            "(SELECT c, k FROM unnest(%s::int4[], %s::int4[]) AS t(c, k) ORDER BY c, k) AS ordered",
            [[lock_class for lock_class, _ in pairs], [key for _, key in pairs]],
        )


def in_filter(lookup: str, values: set) -> Q:
    values = set(values)
    if values and isinstance(next(iter(values)), datetime.date) and len(values) > MAX_DATES_IN_LIST:
        return Q(**{f"{lookup}__range": (min(values), max(values))})
    return Q(**{f"{lookup}__in": values})


# The stored rows of a few keys (a save's, a class's roll call) are read with SQL compiled once per table and
# number of values of each key field (``core.compiled``): building the queryset cost more than running it. Up to
# this many values of a field (a class); more (a rebuild's batch) are built as usual, so few SQL are kept.
STORED_COMPILED_MAX = 40
_stored_reads: dict[type[models.Model], CompiledRead] = {}


def _stored_read(table: Table) -> CompiledRead:
    read = _stored_reads.get(table.model)
    if read is None:
        columns = tuple(dict.fromkeys(("id", "school_id", *table.key_fields, *table.derived, *table.inputs)))

        def build(**values):
            condition = Q()
            for name in table.key_fields:
                condition &= in_filter(name, values[name])
            return table.model.objects.filter(condition).order_by().values(*columns)

        kinds = {name: list[_python_kind(table.model, name)] for name in table.key_fields}
        read = _stored_reads[table.model] = CompiledRead(build, max_length=STORED_COMPILED_MAX, **kinds)
    return read


def _python_kind(model: type[models.Model], name: str) -> type:
    kind = model._meta.get_field(name).get_internal_type()
    return datetime.date if kind == "DateField" else str if kind in ("CharField", "TextField") else int


def stored_rows(table: Table, keys: set[tuple]) -> dict[tuple, dict]:
    """The stored rows of the keys: key -> {id, school_id, key fields, derived fields, inputs}."""
    existing = {}
    # Sorted: a long list of dates is read as the range from its first to its last (``in_filter``).
    values = {name: sorted({key[position] for key in keys}) for position, name in enumerate(table.key_fields)}
    for row in _stored_read(table)(**values):
        key = tuple(row[name] for name in table.key_fields)
        if key in keys:
            existing[key] = row
    return existing


def apply(
    table: Table, keys: set[tuple], existing: dict[tuple, dict], computed: Computed, *, dry_run: bool
) -> RefreshResult:
    """Write the computed rows of the keys over the stored ones: create, update or delete only what differs."""
    result = RefreshResult()
    upserts, deletes = [], []
    for key in sorted(keys):
        row = existing.get(key)
        target = computed.get(key)
        has_input = row is not None and any(row[f] != empty for f, empty in table.inputs.items())
        if target is not None and target[0] is KEPT_BY_INPUT:
            # Figures that exist only on a row a teacher input keeps alive.
            target = (row["school_id"], target[1]) if has_input else None
        elif target is None and has_input:
            target = (row["school_id"], table.derived)  # teacher input keeps the row alive
        if target is None:
            if row is not None:
                deletes.append(row["id"])
                stored = {name: (row[name], None) for name in table.derived}
                result.differences.append(Difference(table.name, key, "unexpected", stored))
            continue
        school_id, values = target
        if row is None:
            expected = {name: (None, value) for name, value in values.items()}
            result.differences.append(Difference(table.name, key, "missing", expected))
            result.created += 1
        else:
            changed = {name: (row[name], value) for name, value in values.items() if row[name] != value}
            if row["school_id"] != school_id:
                changed["school_id"] = (row["school_id"], school_id)
            if not changed:
                continue
            result.differences.append(Difference(table.name, key, "changed", changed))
            result.updated += 1
        upserts.append(
            table.model(**{"school_id": school_id, **dict(zip(table.key_fields, key, strict=True)), **values})
        )
    result.deleted = len(deletes)

    if not dry_run:
        if upserts:
            table.model.objects.bulk_create(
                upserts,
                update_conflicts=True,
                unique_fields=[name.removesuffix("_id") for name in table.key_fields],
                update_fields=[*table.derived, *(() if "school_id" in table.key_fields else ("school",)), "updated_at"],
            )
        if deletes:
            table.model.objects.filter(id__in=deletes).delete()
    return result


def rules(row: dict, prefix: str = "school__") -> AttendanceRules:
    return AttendanceRules(
        late_counts_as_present=row[f"{prefix}late_counts_as_present"],
        excused_absences_excluded=row[f"{prefix}excused_absences_excluded"],
    )


SCHOOL_FIELDS = ("school__timezone", "school__late_counts_as_present", "school__excused_absences_excluded")


def moments_around(field: str, first: datetime.date, last: datetime.date) -> dict:
    """Filter of timestamps whose date in some school's time zone can fall within first..last: a day either side
    in UTC (time zones are within a day of it); no bound on a side that would leave the calendar."""
    bounds = {f"{field}__gte": utc_midnight(first, plus_days=-1), f"{field}__lt": utc_midnight(last, plus_days=2)}
    return {lookup: moment for lookup, moment in bounds.items() if moment is not None}


def in_range(lookup: str, period: tuple[datetime.date, datetime.date] | None) -> dict:
    return {f"{lookup}__range": period} if period else {}
