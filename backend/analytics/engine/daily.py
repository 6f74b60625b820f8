"""StudentDailySummary: a student's day (attendance status from the marks, homework due and handed in)."""

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable

from analytics.definitions import attendance_counts, daily_attendance_status, submission_deadline
from analytics.engine.machinery import (
    STUDENT_LOCK,
    Computed,
    Lookups,
    RefreshResult,
    Table,
    in_filter,
    in_range,
    refresh,
    rules,
)
from analytics.keys import MARKS
from analytics.models import StudentDailySummary
from attendance.models import Attendance
from homework.models import Homework, HomeworkSubmission
from schools.models import Student

DailyKey = tuple[int, datetime.date]


DAILY = Table(
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
    lock_class=STUDENT_LOCK,
    lock_width=1,
)


def daily_summaries_refresh(*, keys: Iterable[DailyKey], dry_run: bool = False) -> RefreshResult:
    """Recompute StudentDailySummary rows of the given (student_id, date) keys."""
    return refresh(DAILY, keys, daily_compute, dry_run=dry_run)


_DAILY_HOMEWORK = ("homework_due", "homework_on_time", "homework_late", "homework_completed")


def daily_compute(
    keys: set[DailyKey], *, lookups: Lookups | None = None, stored: dict | None = None, changed=frozenset()
) -> Computed:
    """Daily rows of the keys. When only marks changed, a stored row keeps its homework figures."""
    student_ids = {student_id for student_id, _ in keys}
    dates = {day for _, day in keys}
    students = (lookups or Lookups()).students(student_ids)
    marks = defaultdict(list)
    for student_id, day, status in (
        Attendance.objects.filter(in_filter("lesson__date", dates), student_id__in=student_ids)
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
        counts = attendance_counts(statuses, rules(student))
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
            Homework.objects.filter(in_filter("due_date", dates), class_group_id__in=class_ids)
            .order_by()
            .values_list("id", "class_group_id", "due_date")
        ):
            due[class_id, day].append(homework_id)
    submitted = {}
    if due:
        submitted = {
            (homework_id, student_id): at
            for homework_id, student_id, at in HomeworkSubmission.objects.filter(
                in_filter("homework__due_date", dates),
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


def daily_keys_discover(*, student_ids: Iterable[int], period=None) -> set:
    student_ids = set(student_ids)
    keys = set(
        Attendance.objects.filter(student_id__in=student_ids, **in_range("lesson__date", period))
        .values_list("student_id", "lesson__date")
        .distinct()
    )
    keys.update(
        Student.objects.filter(id__in=student_ids, **in_range("class_group__homework__due_date", period))
        .exclude(class_group__homework__isnull=True)
        .values_list("id", "class_group__homework__due_date")
        .distinct()
    )
    keys.update(
        StudentDailySummary.objects.filter(student_id__in=student_ids, **in_range("date", period)).values_list(
            "student_id", "date"
        )
    )
    return keys
