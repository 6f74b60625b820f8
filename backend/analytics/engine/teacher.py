"""TeacherPerformanceMetric: a teacher's week (lessons, homework set, messages, attendance at their lessons)."""

import datetime
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Q

from analytics.definitions import AttendanceCounts, attendance_counts, week_end, week_start
from analytics.engine.machinery import (
    SCHOOL_FIELDS,
    STORED_COMPILED_MAX,
    TEACHER_LOCK,
    Computed,
    RefreshResult,
    Table,
    apply,
    in_range,
    lock,
    moments_around,
    refresh,
    rules,
    stored_rows,
)
from analytics.keys import MARKS, communication_keys
from analytics.models import SchoolTeacherWeek, TeacherPerformanceMetric
from attendance.models import AttendanceStatus, Lesson
from communication.models import Communication
from core.compiled import CompiledRead
from core.dates import local_date
from homework.models import Homework
from schools.models import Teacher

TeacherKey = tuple[int, datetime.date]
SchoolWeekKey = tuple[int, datetime.date]

# The advisory lock of a school's week of teacher figures (machinery's locks are 0x5C401..0x5C403).
SCHOOL_WEEK_LOCK = 0x5C404


TEACHER = Table(
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
    lock_class=TEACHER_LOCK,
    lock_width=1,
)


# The school's week of teacher figures, from which the school's median of each metric is read.
COUNT_METRICS = ("classes_taught", "homeworks_assigned", "parent_communications")
RATE_METRIC = "average_student_attendance"
SCHOOL_WEEK = Table(
    SchoolTeacherWeek,
    ("school_id", "week_start"),
    {**{name: {} for name in COUNT_METRICS}, RATE_METRIC: None},
    {},
    lock_class=SCHOOL_WEEK_LOCK,
    lock_width=2,
)


def teacher_metrics_refresh(*, keys: Iterable[TeacherKey], dry_run: bool = False) -> RefreshResult:
    """Recompute TeacherPerformanceMetric rows of the given (teacher_id, week_start) keys, and the school weeks
    they belong to."""
    keys = {(teacher_id, week_start(day)) for teacher_id, day in keys}
    return teacher_weeks_refresh(keys=keys, dry_run=dry_run)


def teacher_weeks_refresh(
    *, keys: set[TeacherKey], dry_run: bool = False, locked: bool = False, changed: frozenset | None = None
) -> RefreshResult:
    """Recompute the teacher weeks of the keys (as ``machinery.refresh`` does), then the school weeks they were
    and are in (SchoolTeacherWeek), in the same transaction.

    The school weeks are named from the rows read for the teacher weeks: the stored rows give the school a week
    was counted in (a teacher who moved leaves their old school's week), the computed ones the school it is in
    now. No query more than the teacher weeks' own for that.
    """
    if not keys:
        return RefreshResult()
    with transaction.atomic(savepoint=False):
        if not (dry_run or locked):
            lock(TEACHER.locks(keys))
        existing = stored_rows(TEACHER, keys)
        computed = teacher_compute(keys, stored=existing if changed else {}, changed=changed or frozenset())
        result = apply(TEACHER, keys, existing, computed, dry_run=dry_run)
        if not (dry_run or result.changed):
            # A school week is a function of its teacher weeks alone: none changed, so neither did it (a drifted
            # one is the check's and the rebuild's to find, which pass dry_run or rebuild every school week).
            return result
        school_weeks = {(row["school_id"], key[1]) for key, row in existing.items()}
        school_weeks |= {(school_id, key[1]) for key, (school_id, _) in computed.items()}
        result += school_weeks_refresh(keys=school_weeks, dry_run=dry_run)
    return result


def school_weeks_refresh(*, keys: Iterable[SchoolWeekKey], dry_run: bool = False) -> RefreshResult:
    """Recompute the SchoolTeacherWeek rows of the given (school_id, week_start) keys from the teacher weeks.

    Its lock is taken after the teacher weeks' (a writer of one teacher's week waits for another writer of the
    same school's week to commit, then reads its row), and is the last lock of a refresh: whoever holds it waits
    for no other lock of the engine.
    """
    return refresh(SCHOOL_WEEK, set(keys), school_week_compute, dry_run=dry_run)


def _school_week_rows(*, school_ids: list[int], weeks: list[datetime.date]):
    return (
        TeacherPerformanceMetric.objects.filter(school_id__in=school_ids, week_start__in=weeks)
        .order_by()
        .values_list("school_id", "week_start", *COUNT_METRICS, RATE_METRIC)
    )


# Compiled once per number of schools and weeks (a save's one or two; more are built as usual).
_SCHOOL_WEEK_ROWS = CompiledRead(
    _school_week_rows, max_length=STORED_COMPILED_MAX, school_ids=list, weeks=list[datetime.date]
)


def school_week_compute(keys: set[SchoolWeekKey], **kwargs) -> Computed:
    """For each school week: how many teachers' rows have each count, and the median of the rates."""
    values = defaultdict(list)
    school_ids = sorted({school_id for school_id, _ in keys})
    weeks = sorted({week for _, week in keys})
    for row in _SCHOOL_WEEK_ROWS(school_ids=school_ids, weeks=weeks):
        key = (row[0], row[1])
        if key in keys:
            values[key].append(row[2:])
    computed = {}
    for key, rows in values.items():
        figures = {name: value_counts(row[position] for row in rows) for position, name in enumerate(COUNT_METRICS)}
        figures[RATE_METRIC] = rate_median([row[-1] for row in rows if row[-1] is not None])
        computed[key] = (key[0], figures)
    return computed


def value_counts(values: Iterable[int]) -> dict[str, int]:
    """How many times each value occurs, keyed by the value as text (a JSON object's keys are text)."""
    return {str(value): count for value, count in sorted(Counter(values).items())}


def rate_median(rates: list[Decimal]) -> Decimal | None:
    """The median of the rates (no padding); the mean of the middle two is rounded half-up to 2 places."""
    if not rates:
        return None
    rates = sorted(rates)
    middle = len(rates) // 2
    median = rates[middle] if len(rates) % 2 else (rates[middle - 1] + rates[middle]) / 2
    return Decimal(median).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def counts_median(counts: dict[str, int], teachers: int) -> Decimal | None:
    """The median of the values counted in ``counts``, with a zero for each of the ``teachers`` that has no row
    (``teachers`` fewer than the rows counted: no padding). None for an empty list."""
    rows = sum(counts.values())
    total = max(teachers, rows)
    if not total:
        return None
    ordered = sorted((int(value), count) for value, count in counts.items())

    def at(index: int) -> int:
        index -= total - rows  # the zeros of the teachers without a row come first
        if index < 0:
            return 0
        for value, count in ordered:
            if index < count:
                return value
            index -= count
        raise IndexError(index)

    middle = total // 2
    return Decimal(at(middle)) if total % 2 else Decimal(at(middle - 1) + at(middle)) / 2


def school_weeks_of(*, teacher_ids: Iterable[int]) -> set[SchoolWeekKey]:
    """The school weeks the teachers' stored weeks are counted in."""
    rows = TeacherPerformanceMetric.objects.filter(teacher_id__in=set(teacher_ids)).order_by()
    return set(rows.values_list("school_id", "week_start").distinct())


def school_weeks_discover(*, school_id: int, period=None) -> set[SchoolWeekKey]:
    """The school's weeks that have a teacher week or a SchoolTeacherWeek row (within the period, if given)."""
    keys = set()
    for model in (TeacherPerformanceMetric, SchoolTeacherWeek):
        weeks = model.objects.filter(school_id=school_id).values_list("week_start", flat=True).distinct()
        keys.update((school_id, week) for week in weeks if not period or _week_overlaps(week, period))
    return keys


def _teachers_query(*, teacher_ids: list[int]):
    return Teacher.objects.filter(id__in=teacher_ids).order_by().values("id", "school_id", "user_id", *SCHOOL_FIELDS)


def _lessons_query(*, teacher_ids: list[int], first: datetime.date, last: datetime.date):
    """Per teacher and day: the lessons, and their marks of each status."""
    marks = {f"marks_{status}": Count("marks", filter=Q(marks__status=status)) for status in AttendanceStatus}
    return (
        Lesson.objects.filter(teacher_id__in=teacher_ids, date__range=(first, last))
        .values("teacher_id", "date")
        .annotate(lessons=Count("id", distinct=True), **marks)
    )


# Compiled once per number of teachers (a save's one or two; more are built as usual).
_TEACHERS = CompiledRead(_teachers_query, max_length=STORED_COMPILED_MAX, teacher_ids=list)
_LESSONS = CompiledRead(
    _lessons_query, max_length=STORED_COMPILED_MAX, teacher_ids=list, first=datetime.date, last=datetime.date
)


def teacher_compute(keys: set[TeacherKey], *, stored: dict | None = None, changed=frozenset()) -> Computed:
    """Teacher weeks of the keys. When only marks changed, a stored week keeps its homework and message counts."""
    kept = {key: row for key, row in (stored or {}).items() if changed == {MARKS}}
    teacher_ids = {teacher_id for teacher_id, _ in keys}
    weeks = {week for _, week in keys}
    first, last = min(weeks), week_end(max(weeks))
    teachers = {row["id"]: row for row in _TEACHERS(teacher_ids=sorted(teacher_ids))}

    # Lessons and their marks in one read: per teacher and day, the lessons and the marks of each status.
    lessons = Counter()
    counts: dict[TeacherKey, AttendanceCounts] = defaultdict(AttendanceCounts)
    for row in _LESSONS(teacher_ids=sorted(teacher_ids), first=first, last=last):
        key = (row["teacher_id"], week_start(row["date"]))
        lessons[key] += row["lessons"]
        statuses = [status for status in AttendanceStatus for _ in range(row[f"marks_{status}"])]
        counts[key] += attendance_counts(statuses, rules(teachers[row["teacher_id"]]))
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
        Communication.objects.filter(sender_id__in=teacher_of_user, **moments_around("sent_at", first, last))
        .order_by()
        .values_list("sender_id", "sent_at")
    ):
        teacher = teacher_of_user[sender_id]
        local_day = local_date(sent_at, zoneinfo.ZoneInfo(teacher["school__timezone"]))
        messages[teacher["id"], week_start(local_day)] += 1


def teacher_keys_discover(*, teacher_ids: Iterable[int], period=None) -> set:
    teacher_ids = set(teacher_ids)
    keys = set()
    for teacher_id, day in (
        Lesson.objects.filter(teacher_id__in=teacher_ids, **in_range("date", period))
        .values_list("teacher_id", "date")
        .distinct()
    ):
        keys.add((teacher_id, week_start(day)))
    for teacher_id, day in (
        Homework.objects.filter(teacher_id__in=teacher_ids, **in_range("assigned_date", period))
        .values_list("teacher_id", "assigned_date")
        .distinct()
    ):
        keys.add((teacher_id, week_start(day)))
    messages = Communication.objects.filter(sender__teacher__id__in=teacher_ids).values_list("id", flat=True)
    keys.update(key for key in communication_keys(messages).teacher if not period or _week_overlaps(key[1], period))
    keys.update(
        (teacher_id, week)
        for teacher_id, week in TeacherPerformanceMetric.objects.filter(teacher_id__in=teacher_ids).values_list(
            "teacher_id", "week_start"
        )
        if not period or _week_overlaps(week, period)
    )
    return keys


def _week_overlaps(monday: datetime.date, period: tuple[datetime.date, datetime.date]) -> bool:
    return monday <= period[1] and week_end(monday) >= period[0]
