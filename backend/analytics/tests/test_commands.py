"""verify_analytics finds drift, rebuild_analytics repairs it and keeps teacher input; both idempotent."""

import datetime
import re
from decimal import Decimal

import pytest

from analytics.models import StudentDailySummary, StudentTermPerformance, TeacherPerformanceMetric
from analytics.services import analytics_rebuild, analytics_verify
from analytics.tests.helpers import run_command, small_class, stored_rows
from analytics.tests.oracle import assert_summaries_exact
from attendance.models import Attendance
from homework.models import Grade, HomeworkSubmission
from tests.factories import CommunicationFactory, GuardianFactory, SubjectFactory, TermFactory

pytestmark = pytest.mark.django_db

TUESDAY = datetime.date(2026, 9, 15)
SATURDAY = datetime.date(2026, 9, 19)


@pytest.fixture
def school():
    """Three students marked PRESENT / LATE / ABSENT at one Maths lesson; two graded (15/20, 12/20).

    Teacher input: Ana's behaviour 5 on the lesson day, Ben's behaviour 3 on a Saturday with no data,
    a comment on Ana's Maths row and a comment-only Art row for Cleo.
    """
    w = small_class(3)
    w.ana, w.ben, w.cleo = w.students
    w.marks = [
        Attendance.objects.create(lesson=w.lesson, student=student, status=status)
        for student, status in zip(w.students, ("PRESENT", "LATE", "ABSENT"), strict=True)
    ]
    w.grades = []
    for student, score in ((w.ana, "15"), (w.ben, "12")):
        submission = HomeworkSubmission.objects.create(
            homework=w.homework,
            student=student,
            submitted_at=datetime.datetime.combine(w.day, datetime.time(10), tzinfo=datetime.UTC),
        )
        w.grades.append(Grade.objects.create(submission=submission, score=Decimal(score)))
    CommunicationFactory(
        school=w.school,
        sender=w.teacher.user,
        recipient=GuardianFactory(school=w.school, students=[w.ana]),
        sent_at=datetime.datetime.combine(w.day, datetime.time(12), tzinfo=datetime.UTC),
    )
    w.art = SubjectFactory(school=w.school, name="Art")
    StudentDailySummary.objects.filter(student=w.ana, date=w.day).update(behavior_score=5)
    StudentDailySummary.objects.create(student=w.ben, school=w.school, date=SATURDAY, behavior_score=3)
    StudentTermPerformance.objects.filter(student=w.ana, subject=w.subject).update(teacher_comment="Excellent.")
    StudentTermPerformance.objects.create(
        student=w.cleo, term=w.term, subject=w.art, school=w.school, teacher_comment="Needs support."
    )
    assert_summaries_exact()
    return w


def teacher_inputs() -> tuple[set, set]:
    behaviour = set(
        StudentDailySummary.objects.filter(behavior_score__isnull=False).values_list(
            "student_id", "date", "behavior_score"
        )
    )
    comments = set(
        StudentTermPerformance.objects.exclude(teacher_comment="").values_list(
            "student_id", "subject_id", "teacher_comment"
        )
    )
    return behaviour, comments


def mentions(output: str, *parts: object) -> bool:
    """Some line of the output names every part of a row's key (ids as whole numbers)."""
    patterns = [re.compile(rf"(?<![\d-]){re.escape(str(part))}(?![\d-])") for part in parts]
    return any(all(p.search(line) for p in patterns) for line in output.splitlines())


def test_consistent_data_verifies_clean(school):
    status, output = run_command("verify_analytics")
    assert status == 0, output
    assert analytics_verify() == []
    assert analytics_verify(school_id=school.school.pk, term_id=school.term.pk) == []


def test_verify_ignores_ranks(school):
    StudentTermPerformance.objects.update(rank=7, rank_of=9)
    status, output = run_command("verify_analytics")
    assert status == 0, output


def test_drift_in_the_summary_tables_is_found_then_repaired_keeping_teacher_input(school):
    w = school
    inputs = teacher_inputs()
    week = w.day - datetime.timedelta(days=w.day.weekday())
    StudentDailySummary.objects.filter(student=w.ana, date=w.day).update(lessons_attended=0, homework_completed=False)
    StudentTermPerformance.objects.filter(student=w.ben, subject=w.subject).update(average_grade=Decimal("12.34"))
    TeacherPerformanceMetric.objects.filter(teacher=w.teacher, week_start=week).update(classes_taught=9)
    StudentDailySummary.objects.filter(student=w.cleo, date=w.day).delete()  # missing
    StudentDailySummary.objects.create(student=w.cleo, school=w.school, date=TUESDAY, lessons_marked=1)  # extra

    status, output = run_command("verify_analytics")
    assert status != 0
    assert mentions(output, w.ana.pk, w.day)
    assert mentions(output, w.ben.pk, w.term.pk, w.subject.pk)
    assert mentions(output, w.teacher.pk, week)
    assert mentions(output, w.cleo.pk, w.day)
    assert mentions(output, w.cleo.pk, TUESDAY)
    # Five rows of the three tables differ (the engine may also report tables it derives from them).
    count = len(analytics_verify())
    assert count >= 5
    assert re.search(rf"(?<!\d){count}(?!\d)", output), f"the count of differing rows is not printed:\n{output}"

    status, output = run_command("rebuild_analytics")
    assert status == 0, output
    assert_summaries_exact()
    assert teacher_inputs() == inputs
    ana_day = StudentDailySummary.objects.get(student=w.ana, date=w.day)
    assert (ana_day.lessons_attended, ana_day.homework_completed, ana_day.behavior_score) == (1, True, 5)
    ben_maths = StudentTermPerformance.objects.get(student=w.ben, subject=w.subject)
    assert ben_maths.average_grade == Decimal("60.00")
    assert TeacherPerformanceMetric.objects.get(teacher=w.teacher, week_start=week).classes_taught == 1
    assert not StudentDailySummary.objects.filter(student=w.cleo, date=TUESDAY).exists()

    status, output = run_command("verify_analytics")
    assert status == 0, output
    repaired = stored_rows(with_timestamps=False)
    status, output = run_command("rebuild_analytics")
    assert status == 0, output
    assert stored_rows(with_timestamps=False) == repaired  # a second rebuild changes nothing


def test_drift_in_a_source_table_is_found_then_repaired(school):
    w = school
    week = w.day - datetime.timedelta(days=w.day.weekday())
    # Ana's PRESENT becomes ABSENT and Ben's 12/20 becomes 20/20 behind the engine's back.
    Attendance.objects.filter(pk=w.marks[0].pk).update(status="ABSENT")
    Grade.objects.filter(pk=w.grades[1].pk).update(score=Decimal("20"))

    status, output = run_command("verify_analytics")
    assert status != 0
    assert mentions(output, w.ana.pk, w.day)  # attendance status, attended
    assert mentions(output, w.ana.pk, w.term.pk, w.subject.pk)  # attendance percentage
    assert mentions(output, w.ben.pk, w.term.pk, w.subject.pk)  # average grade
    assert mentions(output, w.teacher.pk, week)  # average attendance
    assert len(analytics_verify()) >= 4

    analytics_rebuild()
    assert_summaries_exact()
    ana_day = StudentDailySummary.objects.get(student=w.ana, date=w.day)
    assert (ana_day.attendance_status, ana_day.lessons_attended, ana_day.behavior_score) == ("ABSENT", 0, 5)
    ana_maths = StudentTermPerformance.objects.get(student=w.ana, subject=w.subject)
    assert (ana_maths.attendance_percentage, ana_maths.teacher_comment) == (Decimal("0.00"), "Excellent.")
    assert StudentTermPerformance.objects.get(student=w.ben, subject=w.subject).average_grade == Decimal("100.00")
    metric = TeacherPerformanceMetric.objects.get(teacher=w.teacher, week_start=week)
    assert (metric.lessons_attended, metric.lessons_counted, metric.average_student_attendance) == (
        1,
        3,
        Decimal("33.33"),
    )
    assert analytics_verify() == []


def test_dry_run_writes_nothing(school):
    w = school
    StudentDailySummary.objects.filter(student=w.ana, date=w.day).update(lessons_marked=4)
    Attendance.objects.filter(pk=w.marks[2].pk).update(status="EXCUSED")
    before = stored_rows()
    status, output = run_command("rebuild_analytics", "--dry-run")
    assert status == 0, output
    assert stored_rows() == before
    assert mentions(output, w.ana.pk, w.day)
    assert len(analytics_verify()) >= 2
    analytics_rebuild(dry_run=True)
    assert stored_rows() == before


def test_school_and_term_options_limit_the_check_and_the_repair(school):
    w = school
    other = small_class(2)
    Attendance.objects.create(lesson=other.lesson, student=other.students[0], status="PRESENT")
    spring = TermFactory(school=w.school, start_date=datetime.date(2027, 1, 4), end_date=datetime.date(2027, 3, 26))
    StudentTermPerformance.objects.filter(student=w.ana, term=w.term).update(lessons_counted=8)

    assert run_command("verify_analytics", "--school", str(other.school.pk))[0] == 0
    assert run_command("verify_analytics", "--term", str(spring.pk))[0] == 0
    assert run_command("verify_analytics", "--term", str(w.term.pk))[0] != 0
    status, output = run_command("verify_analytics", "--school", str(w.school.pk))
    assert status != 0
    assert mentions(output, w.ana.pk, w.term.pk, w.subject.pk)

    run_command("rebuild_analytics", "--school", str(other.school.pk))
    assert StudentTermPerformance.objects.get(student=w.ana, term=w.term).lessons_counted == 8
    run_command("rebuild_analytics", "--school", str(w.school.pk), "--term", str(w.term.pk))
    assert StudentTermPerformance.objects.get(student=w.ana, term=w.term).lessons_counted == 1
    assert run_command("verify_analytics")[0] == 0
