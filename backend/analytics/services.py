"""Services that write the summary tables.

Every path that changes source data (per-row signals, bulk roll call, imports, the rebuild) ends in
the same functions, one per table, each recomputing a set of keys from source rows and writing the
difference with one upsert and one delete:

- ``daily_summaries_refresh(keys={(student_id, date)})``
- ``term_performances_refresh(keys={(student_id, term_id, subject_id)})``
- ``teacher_metrics_refresh(keys={(teacher_id, week_start)})``
- ``term_attendance_refresh(keys={(student_id, term_id)})`` and ``school_days_refresh(keys={(school_id, date)})``,
  the rollups of the daily rows (and of fees) behind the dashboards

``keys_refresh`` brings every table up to date for the keys a change names. A recomputation never
increments: it reads the source rows of its keys, so running it again, or for keys that did not
change, is harmless. On PostgreSQL it first takes transaction-level advisory locks (per student, per
teacher, per school day; all in one statement, in one global order, so no two writers deadlock), then
reads: a writer that waited sees the rows the other one committed, and no update is lost.
"""

import datetime
import zlib
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Sum
from django.db.models.functions import Round

from analytics.definitions import (
    AttendanceCounts,
    AttendanceRules,
    attendance_counts,
    daily_attendance_status,
    mean_percentage,
    submission_deadline,
    week_end,
    week_start,
)
from analytics.keys import (
    GRADES,
    MARKS,
    Keys,
    daily_keys_discover,
    school_days_discover,
    teacher_keys_discover,
    term_attendance_keys_discover,
    term_keys_discover,
)
from analytics.models import (
    SchoolDailySummary,
    StudentDailySummary,
    StudentTermAttendance,
    StudentTermPerformance,
    TeacherPerformanceMetric,
)
from attendance.models import Attendance, AttendanceStatus, Lesson
from communication.models import Communication
from core.bounds import school_date_errors
from core.conflicts import conflict_retried
from core.dates import local_date, utc_midnight
from finance.models import FeeInvoice, Payment
from homework.models import Grade, Homework, HomeworkSubmission
from schools.models import AcademicTerm, School, Student, Teacher

DailyKey = tuple[int, datetime.date]
TermKey = tuple[int, int, int]
TeacherKey = tuple[int, datetime.date]

# Above this many distinct dates a filter uses a range instead of an IN list (the rows outside the
# keys are read and ignored, never written).
_MAX_DATES_IN_LIST = 40


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
class _Table:
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
_STUDENT_LOCK, _TEACHER_LOCK, _SCHOOL_DAY_LOCK = 0x5C401, 0x5C402, 0x5C403


DAILY = _Table(
    StudentDailySummary,
    ("student_id", "date"),
    {
        "attendance_status": None,
        "lessons_marked": 0,
        "lessons_attended": 0,
        "lessons_counted": 0,
        "homework_due": 0,
        "homework_on_time": 0,
        "homework_late": 0,
        "homework_completed": None,
    },
    {"behavior_score": None},
    lock_class=_STUDENT_LOCK,
    lock_width=1,
)
TERM = _Table(
    StudentTermPerformance,
    ("student_id", "term_id", "subject_id"),
    {
        "average_grade": None,
        "grades_count": 0,
        "attendance_percentage": None,
        "lessons_marked": 0,
        "lessons_attended": 0,
        "lessons_counted": 0,
    },
    {"teacher_comment": ""},
    lock_class=_STUDENT_LOCK,
    lock_width=1,
)
TEACHER = _Table(
    TeacherPerformanceMetric,
    ("teacher_id", "week_start"),
    {
        "classes_taught": 0,
        "homeworks_assigned": 0,
        "parent_communications": 0,
        "average_student_attendance": None,
        "lessons_attended": 0,
        "lessons_counted": 0,
    },
    {},
    lock_class=_TEACHER_LOCK,
    lock_width=1,
)

TERM_ATTENDANCE = _Table(
    StudentTermAttendance,
    ("student_id", "term_id"),
    {
        "days_marked": 0,
        "days_present": 0,
        "days_late": 0,
        "days_absent": 0,
        "days_excused": 0,
        "lessons_marked": 0,
        "lessons_attended": 0,
        "lessons_counted": 0,
        "attendance_percentage": None,
    },
    {},
    lock_class=_STUDENT_LOCK,
    lock_width=1,
)
SCHOOL_DAY = _Table(
    SchoolDailySummary,
    ("school_id", "date"),
    {
        "students_marked": 0,
        "students_present": 0,
        "students_late": 0,
        "students_absent": 0,
        "students_excused": 0,
        "lessons_attended": 0,
        "lessons_counted": 0,
        "homework_due": 0,
        "homework_on_time": 0,
        "homework_late": 0,
        "amount_invoiced": Decimal("0.00"),
        "payments_received": Decimal("0.00"),
        "payments_count": 0,
    },
    {},
    lock_class=_SCHOOL_DAY_LOCK,
    lock_width=2,
)

# key -> (school_id, derived values); a key absent from the mapping has no source data. In place of
# the school id, _KEPT_BY_INPUT: the values hold only if a teacher input keeps the row.
Computed = dict[tuple, tuple[Any, dict[str, Any]]]
_KEPT_BY_INPUT = object()


def daily_summaries_refresh(*, keys: Iterable[DailyKey], dry_run: bool = False) -> RefreshResult:
    """Recompute StudentDailySummary rows of the given (student_id, date) keys."""
    return _refresh(DAILY, keys, _daily_compute, dry_run=dry_run)


def term_performances_refresh(*, keys: Iterable[TermKey], dry_run: bool = False) -> RefreshResult:
    """Recompute the derived fields of StudentTermPerformance rows of (student_id, term_id, subject_id) keys."""
    return _refresh(TERM, keys, _term_compute, dry_run=dry_run)


def teacher_metrics_refresh(*, keys: Iterable[TeacherKey], dry_run: bool = False) -> RefreshResult:
    """Recompute TeacherPerformanceMetric rows of the given (teacher_id, week_start) keys."""
    keys = {(teacher_id, week_start(day)) for teacher_id, day in keys}
    return _refresh(TEACHER, keys, _teacher_compute, dry_run=dry_run)


def term_attendance_refresh(*, keys: Iterable[tuple[int, int]], dry_run: bool = False) -> RefreshResult:
    """Recompute StudentTermAttendance rows of (student_id, term_id) keys from the student's daily rows."""
    return _refresh(TERM_ATTENDANCE, keys, _term_attendance_compute, dry_run=dry_run)


def school_days_refresh(*, keys: Iterable[tuple[int, datetime.date]], dry_run: bool = False) -> RefreshResult:
    """Recompute SchoolDailySummary rows of (school_id, date) keys from daily rows, invoices and payments."""
    return _refresh(SCHOOL_DAY, keys, _school_day_compute, dry_run=dry_run)


class _Lookups:
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
            for row in rows.values("id", "school_id", "class_group_id", *_SCHOOL_FIELDS):
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


def rollup_keys(*, daily_keys: set[DailyKey]) -> tuple[set[tuple[int, int]], set[tuple[int, datetime.date]]]:
    """The (student, term) and (school, date) rollup keys that the given daily keys feed."""
    if not daily_keys:
        return set(), set()
    lookups = _Lookups()
    students = lookups.students({student_id for student_id, _ in daily_keys})
    terms = lookups.school_terms({row["school_id"] for row in students.values()})
    student_terms, school_days = set(), set()
    for student_id, day in daily_keys:
        if student_id not in students:
            continue
        school_id = students[student_id]["school_id"]
        school_days.add((school_id, day))
        student_terms.update((student_id, term_id) for term_id, start, end in terms[school_id] if start <= day <= end)
    return student_terms, school_days


def keys_refresh(*, keys: Keys, dry_run: bool = False) -> RefreshResult:
    """Recompute every summary row the keys name, widening scopes (student, term, teacher, school) first."""
    result = RefreshResult()
    for school_id in sorted(keys.schools):
        result += analytics_rebuild(school_id=school_id, dry_run=dry_run)
    daily = keys.daily | daily_keys_discover(student_ids=keys.students) if keys.students else keys.daily
    term = keys.term | term_keys_discover(term_ids=keys.terms) if keys.terms else keys.term
    teacher = keys.teacher | teacher_keys_discover(teacher_ids=keys.teachers) if keys.teachers else keys.teacher
    student_terms, school_days = rollup_keys(daily_keys=daily)
    if keys.terms:
        # A term whose dates change takes in or leaves out days of every student's term attendance.
        student_terms |= term_attendance_keys_discover(term_ids=keys.terms)
    result += _refresh_together(
        daily=daily,
        term=term,
        teacher={(teacher_id, week_start(day)) for teacher_id, day in teacher},
        student_terms=student_terms,
        school_days=school_days | keys.school_days,
        term_all_subjects=keys.term_all_subjects,
        dry_run=dry_run,
        changed=keys.changed,
    )
    return result


Progress = Callable[[str, int, int], None]
MAX_BATCH_SIZE = 1000


def analytics_rebuild(
    *,
    school_id: int | None = None,
    term_id: int | None = None,
    dry_run: bool = False,
    batch_size: int = 250,
    progress: Progress | None = None,
) -> RefreshResult:
    """Recompute every summary row (of one school / one term) from source data and repair what differs.

    Works in batches of students (and of teachers), one transaction each, so memory stays bounded
    and a rebuild that stops halfway leaves whole batches done. Teacher inputs are kept; ranks are
    the nightly job's and are not touched.
    """
    # A batch holds one advisory lock per student (PostgreSQL allows a few thousand per transaction).
    batch_size = max(1, min(batch_size, MAX_BATCH_SIZE))
    result = RefreshResult()
    schools = School.objects.order_by("id")
    terms = AcademicTerm.objects.order_by("start_date")
    if term_id is not None:
        terms = terms.filter(id=term_id)
        schools = schools.filter(terms__id=term_id)
    if school_id is not None:
        schools = schools.filter(id=school_id)
    for school in schools:
        school_terms = list(terms.filter(school=school))
        term_ids = [term.pk for term in school_terms]
        period = (school_terms[0].start_date, school_terms[-1].end_date) if term_id is not None else None
        students = list(Student.objects.filter(school=school).order_by("id").values_list("id", flat=True))
        for done, batch in _batches(students, batch_size):
            with transaction.atomic():
                daily = daily_keys_discover(student_ids=batch, period=period)
                student_terms = term_attendance_keys_discover(term_ids=term_ids, student_ids=batch)
                rolled_up, _ = rollup_keys(daily_keys=daily)
                student_terms |= {key for key in rolled_up if key[1] in term_ids}
                result += _refresh_together(
                    daily=daily,
                    term=term_keys_discover(term_ids=term_ids, student_ids=batch),
                    student_terms=student_terms,
                    dry_run=dry_run,
                )
            if progress:
                progress(f"{school.name}: students", done, len(students))
        days = sorted(school_days_discover(school_id=school.pk, period=period))
        for done, batch in _batches(days, batch_size):
            with transaction.atomic():
                result += school_days_refresh(keys=batch, dry_run=dry_run)
            if progress:
                progress(f"{school.name}: school days", done, len(days))
        teachers = list(Teacher.objects.filter(school=school).order_by("id").values_list("id", flat=True))
        for done, batch in _batches(teachers, batch_size):
            with transaction.atomic():
                result += teacher_metrics_refresh(
                    keys=teacher_keys_discover(teacher_ids=batch, period=period), dry_run=dry_run
                )
            if progress:
                progress(f"{school.name}: teachers", done, len(teachers))
    return result


def analytics_verify(
    *, school_id: int | None = None, term_id: int | None = None, progress: Progress | None = None
) -> list[Difference]:
    """Every summary row that differs from a from-scratch recomputation (writes nothing)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # One snapshot for the whole check, so writers running meanwhile cause no false alarms.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return analytics_rebuild(school_id=school_id, term_id=term_id, dry_run=True, progress=progress).differences


def _batches(items: list, size: int):
    for start in range(0, len(items), size):
        batch = items[start : start + size]
        yield start + len(batch), batch


# --- the write machinery shared by the three tables -------------------------------------------


def _refresh(
    table: _Table,
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
            _lock(table.locks(keys))
        existing = _stored(table, keys)
        computed = compute(keys, stored=existing if changed else {}, changed=changed or frozenset())
        return _apply(table, keys, existing, computed, dry_run=dry_run)


def _refresh_together(
    *,
    daily: set,
    term: set,
    teacher: set = frozenset(),
    student_terms: set = frozenset(),
    school_days: set = frozenset(),
    term_all_subjects: set = frozenset(),
    dry_run: bool = False,
    changed: frozenset | None = None,
) -> RefreshResult:
    """Lock every key at once, then recompute the daily rows, their rollups, the term rows and the weeks.

    ``term_all_subjects`` are (student, term) pairs whose every subject row is to be recomputed.
    ``changed``: the only kinds of source data that changed (``Keys.changed``), or None.
    """
    result = RefreshResult()
    with transaction.atomic(savepoint=False):
        if not dry_run:
            # The student locks cover every term row of the students, so ``term_all_subjects`` can be
            # listed once they are held.
            _lock(
                DAILY.locks(daily)
                | TERM.locks(term)
                | TERM_ATTENDANCE.locks(student_terms)
                | {(_STUDENT_LOCK, (student,)) for student, _ in term_all_subjects}
                | TEACHER.locks(teacher)
                | SCHOOL_DAY.locks(school_days)
            )
        if term_all_subjects:
            term = term | _subject_rows(term_all_subjects)
        # Read after the locks: a writer that held them (a student changing class, a school changing its
        # rules) has committed, and its change is seen.
        lookups = _Lookups()
        for table, table_keys, compute in (
            (DAILY, daily, partial(_daily_compute, lookups=lookups)),
            (TERM_ATTENDANCE, student_terms, partial(_term_attendance_compute, lookups=lookups)),
            (SCHOOL_DAY, school_days, _school_day_compute),
            (TERM, term, _term_compute),
            (TEACHER, teacher, _teacher_compute),
        ):
            result += _refresh(table, table_keys, compute, dry_run=dry_run, locked=True, changed=changed)
    return result


def _subject_rows(pairs: set[tuple[int, int]]) -> set[TermKey]:
    """The term rows stored for (student, term) pairs."""
    return {
        key
        for key in StudentTermPerformance.objects.filter(
            student_id__in={student for student, _ in pairs}, term_id__in={term for _, term in pairs}
        ).values_list("student_id", "term_id", "subject_id")
        if key[:2] in pairs
    }


def _key_hash(key: tuple) -> int:
    digest = zlib.crc32(":".join(str(part) for part in key).encode())
    return digest - (1 << 32) if digest >= (1 << 31) else digest


def _lock(locks: set[tuple[int, tuple]]) -> None:
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


def _in_filter(lookup: str, values: set) -> Q:
    values = set(values)
    if values and isinstance(next(iter(values)), datetime.date) and len(values) > _MAX_DATES_IN_LIST:
        return Q(**{f"{lookup}__range": (min(values), max(values))})
    return Q(**{f"{lookup}__in": values})


def _keys_filter(fields: tuple[str, ...], keys: set[tuple]) -> Q:
    condition = Q()
    for position, name in enumerate(fields):
        condition &= _in_filter(name, {key[position] for key in keys})
    return condition


def _stored(table: _Table, keys: set[tuple]) -> dict[tuple, dict]:
    """The stored rows of the keys: key -> {id, school_id, key fields, derived fields, inputs}."""
    existing = {}
    columns = tuple(dict.fromkeys(("id", "school_id", *table.key_fields, *table.derived, *table.inputs)))
    for row in table.model.objects.filter(_keys_filter(table.key_fields, keys)).order_by().values(*columns):
        key = tuple(row[name] for name in table.key_fields)
        if key in keys:
            existing[key] = row
    return existing


def _apply(
    table: _Table, keys: set[tuple], existing: dict[tuple, dict], computed: Computed, *, dry_run: bool
) -> RefreshResult:
    """Write the computed rows of the keys over the stored ones: create, update or delete only what differs."""
    result = RefreshResult()
    upserts, deletes = [], []
    for key in sorted(keys):
        row = existing.get(key)
        target = computed.get(key)
        has_input = row is not None and any(row[f] != empty for f, empty in table.inputs.items())
        if target is not None and target[0] is _KEPT_BY_INPUT:
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


def _rules(row: dict, prefix: str = "school__") -> AttendanceRules:
    return AttendanceRules(
        late_counts_as_present=row[f"{prefix}late_counts_as_present"],
        excused_absences_excluded=row[f"{prefix}excused_absences_excluded"],
    )


_SCHOOL_FIELDS = ("school__timezone", "school__late_counts_as_present", "school__excused_absences_excluded")


# --- StudentDailySummary ------------------------------------------------------------------------


_DAILY_HOMEWORK = ("homework_due", "homework_on_time", "homework_late", "homework_completed")


def _daily_compute(
    keys: set[DailyKey], *, lookups: _Lookups | None = None, stored: dict | None = None, changed=frozenset()
) -> Computed:
    """Daily rows of the keys. When only marks changed, a stored row keeps its homework figures."""
    student_ids = {student_id for student_id, _ in keys}
    dates = {day for _, day in keys}
    students = (lookups or _Lookups()).students(student_ids)
    marks = defaultdict(list)
    for student_id, day, status in (
        Attendance.objects.filter(_in_filter("lesson__date", dates), student_id__in=student_ids)
        .order_by()
        .values_list("student_id", "lesson__date", "status")
    ):
        marks[student_id, day].append(status)

    kept = {key: row for key, row in (stored or {}).items() if changed == {MARKS}}
    homework = _daily_homework({key for key in keys if key not in kept}, students)

    computed = {}
    for key in keys:
        student_id, day = key
        student = students.get(student_id)
        if student is None:
            continue
        statuses = marks.get(key, [])
        figures = {name: kept[key][name] for name in _DAILY_HOMEWORK} if key in kept else homework(key, student)
        if not statuses and not figures["homework_due"]:
            continue
        counts = attendance_counts(statuses, _rules(student))
        computed[key] = (
            student["school_id"],
            {
                "attendance_status": daily_attendance_status(statuses),
                "lessons_marked": counts.marked,
                "lessons_attended": counts.attended,
                "lessons_counted": counts.counted,
                **figures,
            },
        )
    return computed


def _daily_homework(keys: set[DailyKey], students: dict[int, dict]) -> Callable[[DailyKey, dict], dict]:
    """Read the homework due on the keys' days and its submissions; returns key, student -> homework figures."""
    student_ids = {student_id for student_id, _ in keys}
    dates = {day for _, day in keys}
    class_ids = {students[s]["class_group_id"] for s in student_ids if s in students and students[s]["class_group_id"]}
    due = defaultdict(list)  # (class_group_id, date) -> homework ids due
    if keys and class_ids:
        for homework_id, class_id, day in (
            Homework.objects.filter(_in_filter("due_date", dates), class_group_id__in=class_ids)
            .order_by()
            .values_list("id", "class_group_id", "due_date")
        ):
            due[class_id, day].append(homework_id)
    submitted = {}
    if due:
        submitted = {
            (homework_id, student_id): at
            for homework_id, student_id, at in HomeworkSubmission.objects.filter(
                _in_filter("homework__due_date", dates),
                student_id__in=student_ids,
                homework__class_group_id__in=class_ids,
            )
            .order_by()
            .values_list("homework_id", "student_id", "submitted_at")
        }

    def figures(key: DailyKey, student: dict) -> dict:
        student_id, day = key
        homework_ids = due.get((student["class_group_id"], day), [])
        deadline = submission_deadline(day, zoneinfo.ZoneInfo(student["school__timezone"]))
        times = [
            submitted[homework_id, student_id] for homework_id in homework_ids if (homework_id, student_id) in submitted
        ]
        on_time = sum(1 for at in times if at < deadline)
        return {
            "homework_due": len(homework_ids),
            "homework_on_time": on_time,
            "homework_late": len(times) - on_time,
            "homework_completed": (on_time == len(homework_ids)) if homework_ids else None,
        }

    return figures


# --- StudentTermPerformance ----------------------------------------------------------------------


def _subject_lessons_in_term() -> Exists:
    return Exists(
        Lesson.objects.filter(
            class_group__school_id=OuterRef("school_id"),
            subject__isnull=False,
            date__gte=OuterRef("start_date"),
            date__lte=OuterRef("end_date"),
        )
    )


_TERM_GRADES = ("average_grade", "grades_count")
_TERM_ATTENDANCE = ("attendance_percentage", "lessons_marked", "lessons_attended", "lessons_counted")


def _term_compute(keys: set[TermKey], *, stored: dict | None = None, changed=frozenset()) -> Computed:
    """Term rows of the keys. When only marks (only grades) changed, a stored row keeps its grade
    (attendance) figures."""
    student_ids = {key[0] for key in keys}
    subject_ids = {key[2] for key in keys}
    terms = {
        row["id"]: row
        for row in AcademicTerm.objects.filter(id__in={key[1] for key in keys})
        .order_by()
        .annotate(has_subject_lessons=_subject_lessons_in_term())
        .values(
            "id",
            "school_id",
            "start_date",
            "end_date",
            "has_subject_lessons",
            "school__late_counts_as_present",
            "school__excused_absences_excluded",
        )
    }
    if not terms:
        return {}
    period = (min(t["start_date"] for t in terms.values()), max(t["end_date"] for t in terms.values()))
    stored = stored or {}
    kept_grades = {key: row for key, row in stored.items() if changed == {MARKS}}
    kept_attendance = {key: row for key, row in stored.items() if changed == {GRADES}}

    grades = defaultdict(list)  # (student_id, subject_id) -> [(due_date, score, max_score)]
    if any(key not in kept_grades for key in keys):
        for student_id, subject_id, due, score, maximum in (
            Grade.objects.filter(
                submission__student_id__in=student_ids,
                submission__homework__subject_id__in=subject_ids,
                submission__homework__due_date__range=period,
            )
            .order_by()
            .values_list(
                "submission__student_id",
                "submission__homework__subject_id",
                "submission__homework__due_date",
                "score",
                "submission__homework__max_score",
            )
        ):
            grades[student_id, subject_id].append((due, score, maximum))

    # Marks by (student, subject); the student's every mark under (student, None) for terms whose
    # school takes a daily register only.
    daily_register = any(not t["has_subject_lessons"] for t in terms.values())
    lesson_filter = Q(lesson__subject_id__in=subject_ids)
    if daily_register:
        lesson_filter = Q()
    marks = defaultdict(list)
    if any(key not in kept_attendance for key in keys):
        for student_id, subject_id, day, status in (
            Attendance.objects.filter(lesson_filter, student_id__in=student_ids, lesson__date__range=period)
            .order_by()
            .values_list("student_id", "lesson__subject_id", "lesson__date", "status")
        ):
            if subject_id is not None and subject_id in subject_ids:
                marks[student_id, subject_id].append((day, status))
            if daily_register:
                marks[student_id, None].append((day, status))

    computed = {}
    for key in keys:
        student_id, term_id, subject_id = key
        term = terms.get(term_id)
        if term is None:
            continue
        start, end = term["start_date"], term["end_date"]
        if key in kept_grades:
            grade_figures = {name: kept_grades[key][name] for name in _TERM_GRADES}
        else:
            scores = [
                (score, maximum)
                for due, score, maximum in grades.get((student_id, subject_id), [])
                if start <= due <= end
            ]
            grade_figures = {"average_grade": mean_percentage(scores), "grades_count": len(scores)}
        if key in kept_attendance:
            attendance_figures = {name: kept_attendance[key][name] for name in _TERM_ATTENDANCE}
        else:
            # A daily-register school: the row exists for its grades (or a comment); attendance is the day's.
            by = subject_id if term["has_subject_lessons"] else None
            statuses = [status for day, status in marks.get((student_id, by), []) if start <= day <= end]
            counts = attendance_counts(statuses, _rules(term))
            attendance_figures = {
                "attendance_percentage": counts.rate,
                "lessons_marked": counts.marked,
                "lessons_attended": counts.attended,
                "lessons_counted": counts.counted,
            }
        graded = grade_figures["grades_count"] > 0
        if not graded and not attendance_figures["lessons_marked"]:
            continue
        computed[key] = (
            term["school_id"] if graded or term["has_subject_lessons"] else _KEPT_BY_INPUT,
            {**grade_figures, **attendance_figures},
        )
    return computed


# --- TeacherPerformanceMetric -------------------------------------------------------------------


def _teacher_compute(keys: set[TeacherKey], *, stored: dict | None = None, changed=frozenset()) -> Computed:
    """Teacher weeks of the keys. When only marks changed, a stored week keeps its homework and message counts."""
    kept = {key: row for key, row in (stored or {}).items() if changed == {MARKS}}
    teacher_ids = {teacher_id for teacher_id, _ in keys}
    weeks = {week for _, week in keys}
    first, last = min(weeks), week_end(max(weeks))
    teachers = {
        row["id"]: row
        for row in Teacher.objects.filter(id__in=teacher_ids)
        .order_by()
        .values("id", "school_id", "user_id", *_SCHOOL_FIELDS)
    }

    # Lessons and their marks in one read: per teacher and day, the lessons and the marks of each status.
    lessons = Counter()
    counts: dict[TeacherKey, AttendanceCounts] = defaultdict(AttendanceCounts)
    marks = {f"marks_{status}": Count("marks", filter=Q(marks__status=status)) for status in AttendanceStatus}
    for row in (
        Lesson.objects.filter(teacher_id__in=teacher_ids, date__range=(first, last))
        .values("teacher_id", "date")
        .annotate(lessons=Count("id", distinct=True), **marks)
    ):
        key = (row["teacher_id"], week_start(row["date"]))
        lessons[key] += row["lessons"]
        statuses = [status for status in AttendanceStatus for _ in range(row[f"marks_{status}"])]
        counts[key] += attendance_counts(statuses, _rules(teachers[row["teacher_id"]]))
    homework, messages = Counter(), Counter()
    if any(key not in kept for key in keys):
        _teacher_homework_and_messages(teachers, (first, last), homework, messages)
    for key, row in kept.items():
        homework[key], messages[key] = row["homeworks_assigned"], row["parent_communications"]

    computed = {}
    for key in keys:
        teacher = teachers.get(key[0])
        if teacher is None or not (lessons[key] or homework[key] or messages[key]):
            continue
        week_counts = counts.get(key, AttendanceCounts())
        computed[key] = (
            teacher["school_id"],
            {
                "classes_taught": lessons[key],
                "homeworks_assigned": homework[key],
                "parent_communications": messages[key],
                "average_student_attendance": week_counts.rate,
                "lessons_attended": week_counts.attended,
                "lessons_counted": week_counts.counted,
            },
        )
    return computed


def _teacher_homework_and_messages(teachers: dict[int, dict], period, homework: Counter, messages: Counter) -> None:
    """Add the homework set and the messages sent per (teacher, week) in the period to the counters."""
    first, last = period
    for row in (
        Homework.objects.filter(teacher_id__in=teachers, assigned_date__range=(first, last))
        .values("teacher_id", "assigned_date")
        .annotate(n=Count("id"))
    ):
        homework[row["teacher_id"], week_start(row["assigned_date"])] += row["n"]

    # Messages are dated in the teacher's school time zone: read a day either side, then place each.
    teacher_of_user = {row["user_id"]: row for row in teachers.values()}
    for sender_id, sent_at in (
        Communication.objects.filter(sender_id__in=teacher_of_user, **_moments_around("sent_at", first, last))
        .order_by()
        .values_list("sender_id", "sent_at")
    ):
        teacher = teacher_of_user[sender_id]
        local_day = local_date(sent_at, zoneinfo.ZoneInfo(teacher["school__timezone"]))
        messages[teacher["id"], week_start(local_day)] += 1


def _moments_around(field: str, first: datetime.date, last: datetime.date) -> dict:
    """Filter of timestamps whose date in some school's time zone can fall within first..last: a day either side
    in UTC (time zones are within a day of it); no bound on a side that would leave the calendar."""
    bounds = {f"{field}__gte": utc_midnight(first, plus_days=-1), f"{field}__lt": utc_midnight(last, plus_days=2)}
    return {lookup: moment for lookup, moment in bounds.items() if moment is not None}


# --- rollups: StudentTermAttendance and SchoolDailySummary --------------------------------------


def _term_attendance_compute(keys: set[tuple[int, int]], *, lookups: _Lookups | None = None, **_) -> Computed:
    terms = (lookups or _Lookups()).terms({term_id for _, term_id in keys})
    if not terms:
        return {}
    period = (min(start for _, start, _ in terms.values()), max(end for _, _, end in terms.values()))
    days = defaultdict(list)
    for row in StudentDailySummary.objects.filter(
        student_id__in={s for s, _ in keys}, date__range=period, lessons_marked__gt=0
    ).values("student_id", "date", "attendance_status", "lessons_marked", "lessons_attended", "lessons_counted"):
        days[row["student_id"]].append(row)

    computed = {}
    for key in keys:
        student_id, term_id = key
        if term_id not in terms:
            continue
        school_id, start, end = terms[term_id]
        rows = [row for row in days.get(student_id, []) if start <= row["date"] <= end]
        if not rows:
            continue
        statuses = Counter(row["attendance_status"] for row in rows)
        counts = AttendanceCounts(
            sum(row["lessons_marked"] for row in rows),
            sum(row["lessons_attended"] for row in rows),
            sum(row["lessons_counted"] for row in rows),
        )
        computed[key] = (
            school_id,
            {
                "days_marked": len(rows),
                "days_present": statuses[AttendanceStatus.PRESENT] + statuses[AttendanceStatus.LATE],
                "days_late": statuses[AttendanceStatus.LATE],
                "days_absent": statuses[AttendanceStatus.ABSENT],
                "days_excused": statuses[AttendanceStatus.EXCUSED],
                "lessons_marked": counts.marked,
                "lessons_attended": counts.attended,
                "lessons_counted": counts.counted,
                "attendance_percentage": counts.rate,
            },
        )
    return computed


def _cents(value) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-2)


_SCHOOL_DAY_MONEY = ("amount_invoiced", "payments_received", "payments_count")


def _school_day_compute(
    keys: set[tuple[int, datetime.date]], *, stored: dict | None = None, changed=frozenset()
) -> Computed:
    """School days of the keys. When only marks changed, a stored day keeps its money figures."""
    kept = {key: row for key, row in (stored or {}).items() if changed == {MARKS}}
    school_ids = {school_id for school_id, _ in keys}
    dates = {day for _, day in keys}
    present = [AttendanceStatus.PRESENT, AttendanceStatus.LATE]
    values = defaultdict(lambda: dict(SCHOOL_DAY.derived))
    for row in (
        StudentDailySummary.objects.filter(_in_filter("date", dates), school_id__in=school_ids)
        .values("school_id", "date")
        .annotate(
            students_marked=Count("id", filter=Q(lessons_marked__gt=0)),
            students_present=Count("id", filter=Q(attendance_status__in=present)),
            students_late=Count("id", filter=Q(attendance_status=AttendanceStatus.LATE)),
            students_absent=Count("id", filter=Q(attendance_status=AttendanceStatus.ABSENT)),
            students_excused=Count("id", filter=Q(attendance_status=AttendanceStatus.EXCUSED)),
            lessons_attended_sum=Sum("lessons_attended"),
            lessons_counted_sum=Sum("lessons_counted"),
            homework_due_sum=Sum("homework_due"),
            homework_on_time_sum=Sum("homework_on_time"),
            homework_late_sum=Sum("homework_late"),
        )
    ):
        day = values[row.pop("school_id"), row.pop("date")]
        day.update({name.removesuffix("_sum"): value for name, value in row.items()})

    if any(key not in kept for key in keys):
        _school_day_money(keys, values)
    for key, row in kept.items():
        values[key].update({name: row[name] for name in _SCHOOL_DAY_MONEY})

    return {
        key: (key[0], day)
        for key, day in values.items()
        if key in keys
        and (day["students_marked"] or day["homework_due"] or day["amount_invoiced"] or day["payments_count"])
    }


def _school_day_money(keys: set[tuple[int, datetime.date]], values: dict) -> None:
    """Set the money figures of the keys' days in ``values``: invoiced, received, payments."""
    school_ids = {school_id for school_id, _ in keys}
    dates = {day for _, day in keys}
    # Money is summed exactly: in whole cents by the database (SQLite has no decimal type), or in Python.
    for row in (
        FeeInvoice.objects.filter(_in_filter("issued_on", dates), student__school_id__in=school_ids)
        .exclude(status=FeeInvoice.Status.VOID)
        .values("student__school_id", "issued_on")
        .annotate(cents=Sum(Round(F("amount") * 100), output_field=IntegerField()))
    ):
        values[row["student__school_id"], row["issued_on"]]["amount_invoiced"] = _cents(row["cents"])
    for school_id, tz, paid_at, amount in (
        Payment.objects.filter(
            invoice__student__school_id__in=school_ids, **_moments_around("paid_at", min(dates), max(dates))
        )
        .exclude(invoice__status=FeeInvoice.Status.VOID)
        .values_list("invoice__student__school_id", "invoice__student__school__timezone", "paid_at", "amount")
    ):
        key = (school_id, local_date(paid_at, zoneinfo.ZoneInfo(tz)))
        if key in keys:
            values[key]["payments_received"] += amount
            values[key]["payments_count"] += 1


# --- teacher inputs ------------------------------------------------------------------------------


def behavior_score_problem(*, school: School, score: int | None) -> str | None:
    """Why a behaviour score is not acceptable at the school (outside its range), or None."""
    low, high = school.behavior_score_min, school.behavior_score_max
    if score is not None and not low <= score <= high:
        return f"The school's behaviour scores run from {low} to {high}."
    return None


@conflict_retried
def behavior_score_set(*, student: Student, day: datetime.date, score: int | None) -> StudentDailySummary | None:
    """Set (or clear, with None) a student's behaviour score for a day; the row's other fields stay the engine's."""
    school = student.school
    problem = behavior_score_problem(school=school, score=score)
    if problem:
        raise ValidationError({"score": problem})
    # A score is for a school day that has been: within a term, not after today.
    if not school.terms.filter(start_date__lte=day, end_date__gte=day).exists():
        raise ValidationError({"date": f"{day} is not within any term of the school."})
    errors = school_date_errors(school, dates={"date": day}, past={"date"})
    if errors:
        raise ValidationError(errors)
    key = (student.pk, day)
    with transaction.atomic():
        # The engine's lock of the key: a recomputation running now cannot delete the row under us.
        _lock(DAILY.locks({key}))
        StudentDailySummary.objects.update_or_create(
            student=student,
            date=day,
            defaults={"behavior_score": score},
            create_defaults={"school": school, "behavior_score": score},
        )
        daily_summaries_refresh(keys={key})  # fills a new row, or drops one that nothing keeps any more
    return StudentDailySummary.objects.filter(student=student, date=day).first()


@conflict_retried
def teacher_comment_set(
    *, student: Student, term: AcademicTerm, subject, comment: str
) -> StudentTermPerformance | None:
    """Set (or clear, with "") the teacher's comment on a student's term in a subject."""
    errors = {}
    if term.school_id != student.school_id:
        errors["term"] = "The term belongs to another school."
    if subject.school_id != student.school_id:
        errors["subject"] = "The subject belongs to another school."
    if errors:
        raise ValidationError(errors)
    key = (student.pk, term.pk, subject.pk)
    with transaction.atomic():
        _lock(TERM.locks({key}))
        StudentTermPerformance.objects.update_or_create(
            student=student,
            term=term,
            subject=subject,
            defaults={"teacher_comment": comment},
            create_defaults={"school_id": student.school_id, "teacher_comment": comment},
        )
        term_performances_refresh(keys={key})
    return StudentTermPerformance.objects.filter(student=student, term=term, subject=subject).first()
