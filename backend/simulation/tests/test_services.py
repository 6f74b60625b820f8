"""The simulator on a small school: deterministic, realistic, and leaving the analytics exact in both modes.

The runs are expensive (service mode writes every record through the per-row signals), so each is done
once per module, inside a transaction that is rolled back, and the tests look at what was captured.
"""

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Count, F, Sum

from analytics.models import StudentDailySummary, StudentTermPerformance
from analytics.services import analytics_verify
from attendance.models import Attendance, Lesson
from communication.models import Communication
from core.models import User
from finance.models import FeeInvoice
from homework.models import Grade
from schools.models import ClassGroup, Guardian, School, Subject, Teacher
from simulation.services import (
    COUNTED,
    DEMO_PASSWORD,
    DemoLoginsRefused,
    default_start,
    demo_users_ensure,
    schools_simulate,
)
from simulation.tests.snapshots import summaries_snapshot, table_counts

# Every test needs the test database set up, including those reading the module's captured runs.
pytestmark = pytest.mark.django_db

START = datetime.date(2026, 9, 7)  # a Monday
SMALL = {"students": 40, "weeks": 2, "seed": 7, "start": START}


@dataclass
class Run:
    counts: dict
    tables: dict
    snapshot: dict
    differences: list
    facts: dict


def _facts(holidays: set[datetime.date]) -> dict:
    """What the realism tests look at, read while the simulated school is in the database."""
    per_student = defaultdict(lambda: [0, 0])
    for student_id, attended, counted in StudentDailySummary.objects.values_list(
        "student_id", "lessons_attended", "lessons_counted"
    ):
        per_student[student_id][0] += attended
        per_student[student_id][1] += counted
    averages = defaultdict(list)
    for student_id, average in StudentTermPerformance.objects.filter(average_grade__isnull=False).values_list(
        "student_id", "average_grade"
    ):
        averages[student_id].append(average)
    totals = StudentDailySummary.objects.aggregate(
        attended=Sum("lessons_attended"), counted=Sum("lessons_counted"), late=Sum("homework_late")
    )
    lessons_a_day = Counter(
        Lesson.objects.values("class_group_id", "date").annotate(n=Count("id")).values_list("n", flat=True)
    )
    teacher_users = set(Teacher.objects.values_list("user_id", flat=True))
    return {
        "attendance_rate": Decimal(100 * totals["attended"]) / totals["counted"],
        "student_rates": [Decimal(100 * a) / c for a, c in per_student.values()],
        "student_averages": [sum(values) / len(values) for values in averages.values()],
        "term_averages": [value for values in averages.values() for value in values],
        "statuses": Counter(Attendance.objects.values_list("status", flat=True)),
        "excused_notes": Attendance.objects.filter(status="EXCUSED").exclude(note="").count(),
        "late_submissions": totals["late"],
        "homework_missed_days": StudentDailySummary.objects.filter(homework_completed=False).count(),
        "class_sizes": list(ClassGroup.objects.annotate(n=Count("students")).values_list("n", flat=True)),
        "grade_levels": set(ClassGroup.objects.values_list("grade_level", flat=True)),
        "subjects_per_school": list(School.objects.annotate(n=Count("subjects")).values_list("n", flat=True)),
        "teachers_without_class": Teacher.objects.filter(assignments__isnull=True).count(),
        "guardians_of_several": Guardian.objects.annotate(n=Count("students")).filter(n__gte=2).count(),
        "lessons_a_day": lessons_a_day,
        "lessons_on_holidays": Lesson.objects.filter(date__in=holidays).count(),
        "lessons_without_subject": Lesson.objects.filter(subject__isnull=True).count(),
        "grades": list(Grade.objects.values_list("score", "max_score")),
        "messages": Communication.objects.count(),
        "messages_from_teachers": Communication.objects.filter(sender_id__in=teacher_users).count(),
        "invoice_statuses": Counter(FeeInvoice.objects.values_list("status", flat=True)),
        "overpaid_invoices": FeeInvoice.objects.annotate(paid=Sum("payments__amount"))
        .filter(paid__gt=F("amount"))
        .count(),
        "behaviour_scores": StudentDailySummary.objects.filter(behavior_score__isnull=False).count(),
        "teacher_comments": StudentTermPerformance.objects.exclude(teacher_comment="").count(),
        "ranked": StudentTermPerformance.objects.filter(rank__isnull=False).count(),
    }


def _simulate(**options) -> Run:
    """Simulate in a transaction that is rolled back, and capture the outcome."""
    with transaction.atomic():
        result = schools_simulate(**{**SMALL, **options}, demo_users=False)
        holidays = {day for school in result.schools for day in school.holidays}
        run = Run(
            counts=dict(result.counts),
            tables=table_counts(),
            snapshot=summaries_snapshot(),
            differences=[str(difference) for difference in analytics_verify()],
            facts=_facts(holidays),
        )
        assert result.jobs_failed == 0, result.jobs
        transaction.set_rollback(True)
    return run


@pytest.fixture(scope="module")
def service_run(django_db_setup, django_db_blocker) -> Run:
    with django_db_blocker.unblock():
        return _simulate(bulk=False)


@pytest.fixture(scope="module")
def bulk_run(django_db_setup, django_db_blocker) -> Run:
    with django_db_blocker.unblock():
        return _simulate(bulk=True)


@pytest.fixture(scope="module")
def bulk_run_again(django_db_setup, django_db_blocker) -> Run:
    with django_db_blocker.unblock():
        return _simulate(bulk=True)


def test_analytics_exact_after_service_mode(service_run):
    assert service_run.differences == []


def test_analytics_exact_after_bulk_mode(bulk_run):
    assert bulk_run.differences == []


def test_same_seed_same_school(bulk_run, bulk_run_again):
    assert bulk_run.counts == bulk_run_again.counts
    assert bulk_run.tables == bulk_run_again.tables
    assert bulk_run.snapshot == bulk_run_again.snapshot


def test_service_and_bulk_mode_agree(service_run, bulk_run):
    assert service_run.counts == bulk_run.counts
    assert service_run.tables == bulk_run.tables
    for table in ("daily", "term", "teacher"):
        assert service_run.snapshot[table] == bulk_run.snapshot[table], table


def test_another_seed_another_school(bulk_run):
    other = _simulate(bulk=True, seed=8)
    assert other.snapshot != bulk_run.snapshot


def test_counts_match_the_tables(service_run):
    counts, tables = service_run.counts, service_run.tables
    assert set(counts) <= set(COUNTED)
    assert counts["lessons"] == tables["attendance.Lesson"]
    assert counts["attendance marks"] == tables["attendance.Attendance"]
    assert counts["submissions"] == tables["homework.HomeworkSubmission"]
    assert counts["grades"] == tables["homework.Grade"]
    assert counts["payments"] == tables["finance.Payment"]
    assert counts["behaviour scores"] == service_run.facts["behaviour_scores"]
    assert counts["teacher comments"] == service_run.facts["teacher_comments"]


def test_attendance_is_realistic(service_run):
    facts = service_run.facts
    # This school's rate is 98.02% (97.96% before 2% of past roll calls were forgotten: the lessons dropped
    # out of the rate are a random draw, so the rate moves a little either way).
    assert 85 <= facts["attendance_rate"] <= 98.5
    rates = facts["student_rates"]
    assert sum(rate >= 95 for rate in rates) > len(rates) / 2  # most students
    assert 1 <= sum(rate < 90 for rate in rates) <= len(rates) / 5  # a few chronically absent
    statuses = facts["statuses"]
    assert statuses["LATE"] and statuses["ABSENT"] and statuses["EXCUSED"]
    assert statuses["PRESENT"] > 0.85 * sum(statuses.values())
    assert facts["excused_notes"] > 0


def test_grades_are_realistic(service_run):
    facts = service_run.facts
    assert 40 <= sum(facts["term_averages"]) / len(facts["term_averages"]) <= 95
    # Per student, over a few grades: nearly everyone between 40 and 95, the odd one struggling.
    students = facts["student_averages"]
    assert sum(40 <= average <= 95 for average in students) >= 0.9 * len(students)
    assert all(0 <= average <= 100 for average in students)
    for score, maximum in facts["grades"]:
        assert 0 <= score <= maximum
        assert score == score.quantize(Decimal("0.01"))
    assert facts["late_submissions"] > 0
    assert facts["homework_missed_days"] > 0
    assert facts["ranked"] > 0


def test_school_is_shaped_like_a_school(service_run):
    facts = service_run.facts
    assert all(20 <= size <= 35 for size in facts["class_sizes"])
    assert len(facts["grade_levels"]) == len(facts["class_sizes"])  # two classes: two grade levels
    assert all(8 <= n <= 10 for n in facts["subjects_per_school"])
    assert facts["teachers_without_class"] == 0
    assert facts["guardians_of_several"] > 0
    assert set(facts["lessons_a_day"]) <= {5, 6}
    assert facts["lessons_on_holidays"] == 0
    assert facts["lessons_without_subject"] == 0
    assert facts["messages_from_teachers"] > 0
    assert {"PAID", "PARTIAL", "OPEN"} <= set(facts["invoice_statuses"])
    assert facts["overpaid_invoices"] == 0
    assert facts["behaviour_scores"] > 0
    assert facts["teacher_comments"] > 0


def test_several_schools_in_their_time_zones():
    result = schools_simulate(students=45, weeks=1, seed=3, schools=2, start=START, bulk=True, demo_users=False)
    zones = [simulated.school.timezone for simulated in result.schools]
    assert len(set(zones)) == 2
    assert [simulated.students for simulated in result.schools] == [23, 22]
    assert result.differences == []
    assert set(Subject.objects.values_list("school_id", flat=True)) == {s.school.pk for s in result.schools}


def test_too_few_students_is_refused():
    with pytest.raises(ValueError, match="at least 20 students per school"):
        schools_simulate(students=30, weeks=1, seed=1, schools=2, start=START)


def test_default_start_ends_last_sunday():
    assert default_start(weeks=2, today=datetime.date(2026, 9, 23)) == datetime.date(2026, 9, 7)
    assert default_start(weeks=1, today=datetime.date(2026, 9, 21)) == datetime.date(2026, 9, 14)


@pytest.fixture
def debug(settings):
    """Demo logins (a public password) are created only with DJANGO_DEBUG on."""
    settings.DEBUG = True


def test_demo_users_one_per_role_idempotent(debug):
    result = schools_simulate(students=25, weeks=1, seed=5, start=START, bulk=True)
    school = result.schools[0].school
    users = result.demo_users
    assert {user.username for user in users.values()} == {
        "demo-admin",
        "demo-teacher",
        "demo-guardian",
        "demo-student",
    }
    for user in users.values():
        assert authenticate(username=user.username, password=DEMO_PASSWORD) == user
    assert users["admin"].school_admin.school == school
    student = users["student"].student
    assert student.school == school
    assert users["guardian"].guardian.students.filter(pk=student.pk).exists()
    assert users["teacher"].teacher.assignments.filter(class_group=student.class_group).exists()
    again = demo_users_ensure(school=school)
    assert {role: user.pk for role, user in again.items()} == {role: user.pk for role, user in users.items()}


def test_demo_users_move_to_a_newer_school(debug):
    first = schools_simulate(students=20, weeks=1, seed=5, start=START, bulk=True, run_jobs=False)
    second = schools_simulate(students=20, weeks=1, seed=6, start=START, bulk=True, run_jobs=False)
    teacher = second.demo_users["teacher"]
    assert teacher.teacher.school == second.schools[0].school
    old = first.demo_users["teacher"]
    old.refresh_from_db()
    assert old.username == f"demo-teacher-{old.pk}"  # still a teacher of the first school, renamed
    assert old.teacher.school == first.schools[0].school


def test_demo_users_are_refused_outside_debug(settings):
    settings.DEBUG = False
    with pytest.raises(DemoLoginsRefused, match="DJANGO_DEBUG"):
        schools_simulate(students=20, weeks=1, seed=5, start=START, bulk=True, run_jobs=False)
    assert not School.objects.exists()

    settings.DEBUG = True
    school = (
        schools_simulate(students=20, weeks=1, seed=5, start=START, bulk=True, run_jobs=False, demo_users=False)
        .schools[0]
        .school
    )
    settings.DEBUG = False
    with pytest.raises(DemoLoginsRefused):
        demo_users_ensure(school=school)
    assert not User.objects.filter(username__startswith="demo-").exists()
