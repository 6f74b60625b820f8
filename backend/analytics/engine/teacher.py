"""TeacherPerformanceMetric: a teacher's week (lessons, homework set, messages, attendance at their lessons)."""

import datetime
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db.models import Count, Q

from analytics.definitions import AttendanceCounts, attendance_counts, week_end, week_start
from analytics.engine.machinery import (
    SCHOOL_FIELDS,
    TEACHER_LOCK,
    Computed,
    RefreshResult,
    Table,
    in_range,
    moments_around,
    refresh,
    rules,
)
from analytics.keys import MARKS, communication_keys
from analytics.models import TeacherPerformanceMetric
from attendance.models import AttendanceStatus, Lesson
from communication.models import Communication
from core.dates import local_date
from homework.models import Homework
from schools.models import Teacher

TeacherKey = tuple[int, datetime.date]


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


def teacher_metrics_refresh(*, keys: Iterable[TeacherKey], dry_run: bool = False) -> RefreshResult:
    """Recompute TeacherPerformanceMetric rows of the given (teacher_id, week_start) keys."""
    keys = {(teacher_id, week_start(day)) for teacher_id, day in keys}
    return refresh(TEACHER, keys, teacher_compute, dry_run=dry_run)


def teacher_compute(keys: set[TeacherKey], *, stored: dict | None = None, changed=frozenset()) -> Computed:
    """Teacher weeks of the keys. When only marks changed, a stored week keeps its homework and message counts."""
    kept = {key: row for key, row in (stored or {}).items() if changed == {MARKS}}
    teacher_ids = {teacher_id for teacher_id, _ in keys}
    weeks = {week for _, week in keys}
    first, last = min(weeks), week_end(max(weeks))
    teachers = {
        row["id"]: row
        for row in Teacher.objects.filter(id__in=teacher_ids)
        .order_by()
        .values("id", "school_id", "user_id", *SCHOOL_FIELDS)
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
