"""TeacherGradingDay: a teacher's homework due on a day that has submissions without a grade.

The missing data's grading figures (``analytics.missing``) are read from these rows: the homework due more than a
week before today is a cut-off applied on read, by due date, so what is stored does not depend on today.
"""

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable

from analytics.engine.machinery import TEACHER_LOCK, Computed, Table, in_filter, in_range
from analytics.models import TeacherGradingDay
from homework.models import Homework, HomeworkSubmission

GradingKey = tuple[int, datetime.date]  # (teacher_id, due_date)

GRADING = Table(
    TeacherGradingDay,
    ("teacher_id", "due_date"),
    {"homework_ungraded": 0, "submissions_ungraded": 0},
    {},
    # Under the teacher's lock, with their weeks: a writer of a teacher's rows holds every one of them.
    lock_class=TEACHER_LOCK,
    lock_width=1,
)


def grading_compute(keys: set[GradingKey], **kwargs) -> Computed:
    """For each (teacher, due date): the teacher's homework due that day with a submission not graded, and those
    submissions; no row where every submission is graded. The row's school is the teacher's."""
    teachers = {teacher_id for teacher_id, _ in keys}
    dates = {day for _, day in keys}
    homework = defaultdict(set)
    submissions = Counter()
    schools = {}
    for teacher_id, due_date, homework_id, school_id in (
        HomeworkSubmission.objects.filter(
            in_filter("homework__due_date", dates), homework__teacher_id__in=teachers, grade__isnull=True
        )
        .order_by()
        .values_list("homework__teacher_id", "homework__due_date", "homework_id", "homework__teacher__school_id")
    ):
        key = (teacher_id, due_date)
        if key in keys:
            homework[key].add(homework_id)
            submissions[key] += 1
            schools[key] = school_id
    return {
        key: (schools[key], {"homework_ungraded": len(homework[key]), "submissions_ungraded": count})
        for key, count in submissions.items()
    }


def grading_keys_discover(*, teacher_ids: Iterable[int], period=None) -> set[GradingKey]:
    """Every due date of the teachers' homework (within the period), and of their stored rows."""
    teacher_ids = set(teacher_ids)
    keys = set(
        Homework.objects.filter(teacher_id__in=teacher_ids, **in_range("due_date", period))
        .order_by()
        .values_list("teacher_id", "due_date")
        .distinct()
    )
    keys.update(
        TeacherGradingDay.objects.filter(teacher_id__in=teacher_ids, **in_range("due_date", period)).values_list(
            "teacher_id", "due_date"
        )
    )
    return keys
