"""Small builders and snapshots shared by the analytics tests (expected values never come from here)."""

import datetime
import io
from decimal import Decimal
from types import SimpleNamespace

from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.models import StudentDailySummary, StudentTermPerformance, TeacherPerformanceMetric
from attendance.models import Lesson
from homework.models import Homework
from tests.factories import (
    ClassGroupFactory,
    SchoolFactory,
    StudentFactory,
    SubjectFactory,
    TeacherFactory,
    TermFactory,
)

SUMMARY_MODELS = (StudentDailySummary, StudentTermPerformance, TeacherPerformanceMetric)
MONDAY = datetime.date(2026, 9, 14)


def stored_rows(*, with_timestamps: bool = True) -> dict[str, list[dict]]:
    """Every stored summary row with all its columns (ids, ranks and timestamps included)."""
    snapshot = {}
    for model in SUMMARY_MODELS:
        rows = list(model.objects.order_by("pk").values())
        if not with_timestamps:
            for row in rows:
                row.pop("updated_at")
        snapshot[model.__name__] = rows
    return snapshot


def small_class(size: int = 3, *, timezone: str = "Europe/London", day: datetime.date = MONDAY) -> SimpleNamespace:
    """A school with one term, a class of ``size``, a Maths lesson and a Maths homework due on ``day``."""
    w = SimpleNamespace(day=day)
    w.school = SchoolFactory(timezone=timezone)
    w.term = TermFactory(school=w.school)
    w.klass = ClassGroupFactory(school=w.school)
    w.subject = SubjectFactory(school=w.school, name="Maths")
    w.teacher = TeacherFactory(school=w.school)
    w.students = [StudentFactory(school=w.school, class_group=w.klass) for _ in range(size)]
    w.lesson = Lesson.objects.create(class_group=w.klass, subject=w.subject, teacher=w.teacher, date=day, period=1)
    w.homework = Homework.objects.create(
        class_group=w.klass,
        subject=w.subject,
        teacher=w.teacher,
        title="Fractions",
        assigned_date=day,
        due_date=day,
        max_score=Decimal("20"),
    )
    return w


def run_command(name: str, *args: str) -> tuple[int, str]:
    """Run a management command as the shell would: its exit status and everything it printed."""
    out, err = io.StringIO(), io.StringIO()
    status = 0
    try:
        call_command(name, *args, stdout=out, stderr=err)
    except CommandError as error:
        status = error.returncode
        err.write(f"CommandError: {error}\n")
    except SystemExit as error:
        status = error.code if isinstance(error.code, int) else 1
    return status, out.getvalue() + err.getvalue()
