"""Early-warning flags (SPEC §9): each rule worked out by hand at, just below and just above its threshold.

Every scenario fixes the school's flag date (``EarlyWarningSettings.flags_as_of``) to AS_OF, a Friday in
the term, so the windows are: attendance, the latest 20 marked dates up to AS_OF; homework, due
AS_OF-14 .. AS_OF-1; grades, due AS_OF-27 .. AS_OF (recent) and AS_OF-55 .. AS_OF-28 (earlier);
behaviour, AS_OF-13 .. AS_OF.
"""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import transaction

from analytics.engine.flags import flag_text
from analytics.models import EarlyWarningSettings, StudentFlag
from analytics.services import analytics_rebuild, analytics_verify, behavior_score_set, early_warning_settings_save
from analytics.tests.oracle import assert_summaries_exact
from attendance.models import Attendance, Lesson
from homework.models import Grade, Homework, HomeworkSubmission
from tests.factories import (
    ClassGroupFactory,
    SchoolFactory,
    StudentFactory,
    SubjectFactory,
    TeacherFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 11, 20)


def days_before(n: int) -> datetime.date:
    return AS_OF - datetime.timedelta(days=n)


@pytest.fixture
def w():
    w = SimpleNamespace()
    w.school = SchoolFactory()
    EarlyWarningSettings.objects.create(school=w.school, flags_as_of=AS_OF)
    w.term = TermFactory(school=w.school)  # 7 September .. 18 December 2026
    w.klass = ClassGroupFactory(school=w.school)
    w.maths = SubjectFactory(school=w.school, name="Maths")
    w.teacher = TeacherFactory(school=w.school)
    w.student = StudentFactory(school=w.school, class_group=w.klass)
    w.period = 0
    return w


def flags(w) -> dict[str, dict]:
    return {flag.reason: flag.figures for flag in StudentFlag.objects.filter(student=w.student)}


def mark(w, day: datetime.date, status: str) -> Attendance:
    w.period += 1
    lesson = Lesson.objects.create(
        class_group=w.klass, subject=w.maths, teacher=w.teacher, date=day, period=w.period % 8 + 1
    )
    return Attendance.objects.create(lesson=lesson, student=w.student, status=status)


def homework(w, due: datetime.date, *, max_score: str = "20") -> Homework:
    return Homework.objects.create(
        class_group=w.klass,
        subject=w.maths,
        teacher=w.teacher,
        title=f"due {due}",
        assigned_date=due - datetime.timedelta(days=1),
        due_date=due,
        max_score=Decimal(max_score),
    )


def hand_in(w, work: Homework, *, late: bool = False) -> HomeworkSubmission:
    day = work.due_date + datetime.timedelta(days=1 if late else 0)
    at = datetime.datetime.combine(day, datetime.time(9), tzinfo=datetime.UTC)
    return HomeworkSubmission.objects.create(homework=work, student=w.student, submitted_at=at)


def graded(w, due: datetime.date, score: str, *, max_score: str = "20") -> Grade:
    submission = hand_in(w, homework(w, due, max_score=max_score))
    return Grade.objects.create(submission=submission, score=Decimal(score))


def marks_on_dates(w, statuses: list[str]) -> list[Attendance]:
    """One mark per school date, the first status on AS_OF, the next one day earlier, and so on."""
    return [mark(w, days_before(n), status) for n, status in enumerate(statuses)]


# --- attendance -----------------------------------------------------------------------------------


def test_attendance_at_the_threshold_is_not_flagged(w):
    marks_on_dates(w, ["PRESENT"] * 18 + ["ABSENT"] * 2)  # 18 / 20 = 90.00%
    assert flags(w) == {}
    assert_summaries_exact()


def test_attendance_below_the_threshold_over_the_latest_20_marked_dates(w):
    # 17 / 20 = 85.00%; the 21st date back (absent) is outside the window.
    marks_on_dates(w, ["PRESENT"] * 17 + ["ABSENT"] * 4)
    assert flags(w) == {
        "attendance": {
            "rate": "85.00",
            "attended": 17,
            "counted": 20,
            "dates": 20,
            "window_dates": 20,
            "threshold": "90.00",
        }
    }
    flag = StudentFlag.objects.get(student=w.student)
    assert (flag.as_of, flag.school_id) == (AS_OF, w.school.pk)
    assert flag_text(flag.reason, flag.figures) == (
        "attendance 85.00% over the last 20 school days with marks (17 of 20 lessons); threshold 90%"
    )
    assert_summaries_exact()


def test_attendance_just_above_the_threshold_and_marks_after_the_flag_date(w):
    # 20 dates, two marks on the latest: 19 / 21 = 90.48%; an absence after AS_OF does not count.
    marks_on_dates(w, ["PRESENT"] * 18 + ["ABSENT"] * 2)
    mark(w, AS_OF, "PRESENT")
    mark(w, AS_OF + datetime.timedelta(days=1), "ABSENT")
    assert flags(w) == {}
    assert_summaries_exact()


def test_a_school_with_its_own_attendance_threshold_to_the_hundredth(w):
    marks_on_dates(w, ["PRESENT"] * 17 + ["ABSENT"] * 3)
    mark(w, AS_OF, "PRESENT")  # 18 / 21 = 85.714...% -> 85.71
    settings = w.school.early_warning
    settings.attendance_below = Decimal("85.71")
    early_warning_settings_save(settings=settings)
    assert flags(w) == {}  # 85.71 is not below 85.71
    settings.attendance_below = Decimal("85.72")
    early_warning_settings_save(settings=settings)
    assert flags(w)["attendance"]["rate"] == "85.71"
    assert flags(w)["attendance"]["threshold"] == "85.72"
    assert_summaries_exact()


def test_a_late_mark_corrected_clears_the_flag_in_the_same_transaction(w):
    marks = marks_on_dates(w, ["PRESENT"] * 17 + ["ABSENT"] * 3)  # 85.00%
    assert set(flags(w)) == {"attendance"}
    with transaction.atomic():
        marks[-1].status = "LATE"  # the student came late, not absent: 18 / 20 = 90.00%
        marks[-1].save()
        assert flags(w) == {}
    assert_summaries_exact()


def test_late_is_absent_where_the_school_says_so(w):
    marks_on_dates(w, ["PRESENT"] * 17 + ["LATE"] * 3)
    assert flags(w) == {}  # late counts as present: 20 / 20
    w.school.late_counts_as_present = False
    w.school.save()  # 17 / 20 = 85.00%
    assert (flags(w)["attendance"]["attended"], flags(w)["attendance"]["rate"]) == (17, "85.00")
    assert_summaries_exact()


# --- homework -------------------------------------------------------------------------------------


def test_homework_missing_at_below_and_above_the_threshold(w):
    on_time = homework(w, days_before(1))
    hand_in(w, on_time)
    homework(w, days_before(14))  # missing, the window's first day
    late = homework(w, days_before(5))
    hand_in(w, late, late=True)  # late counts as missing
    homework(w, days_before(15))  # missing, before the window
    homework(w, AS_OF)  # due on the flag date: not missing yet
    assert flags(w) == {}  # 2 missing
    third = homework(w, days_before(7))
    assert flags(w) == {"homework": {"missing": 3, "due": 4, "days": 14, "threshold": 3}}
    assert flag_text("homework", flags(w)["homework"]) == (
        "3 of 4 homework due in the last 14 days not handed in by the due date; threshold 3"
    )
    with transaction.atomic():
        hand_in(w, third)  # handed in: back to 2
        assert flags(w) == {}
    homework(w, days_before(2))
    homework(w, days_before(3))
    assert flags(w)["homework"]["missing"] == 4
    assert_summaries_exact()


# --- grades ---------------------------------------------------------------------------------------


def test_grades_sliding_by_exactly_the_threshold_is_flagged(w):
    graded(w, days_before(40), "16")  # 80%
    graded(w, days_before(55), "14")  # 70%, the earlier window's first day: mean 75.00
    graded(w, days_before(27), "14")  # 70%, the recent window's first day
    assert flags(w) == {}  # one recent grade: too few to compare
    with transaction.atomic():
        graded(w, AS_OF, "12")  # 60%: recent mean 65.00, 10.00 points below
        assert flags(w) == {
            "grades": {
                "sliding": True,
                "recent_mean": "65.00",
                "recent_grades": 2,
                "earlier_mean": "75.00",
                "earlier_grades": 2,
                "drop": "10.00",
                "window_days": 28,
                "window_grades": 2,
                "drop_threshold": "10.00",
                "low_subjects": [],
                "average_threshold": "40.00",
            }
        }
    flag = StudentFlag.objects.get(student=w.student)
    assert flag_text(flag.reason, flag.figures) == (
        "grades 65.00% over the last 28 days (2 grades), 10.00 points below the 28 days before (75.00%, 2 grades); "
        "threshold 10 points"
    )
    assert_summaries_exact()


def test_grades_sliding_just_under_the_threshold_and_a_grade_outside_the_windows(w):
    graded(w, days_before(40), "80", max_score="100")
    graded(w, days_before(50), "70", max_score="100")  # earlier mean 75.00
    graded(w, days_before(3), "65.1", max_score="100")
    graded(w, days_before(4), "65", max_score="100")  # recent mean 65.05: 9.95 points below
    graded(w, days_before(56), "0", max_score="100")  # before both windows
    assert flags(w) == {}
    graded(w, days_before(5), "64.9", max_score="100")  # recent mean 65.00: 10.00 below
    assert flags(w)["grades"]["drop"] == "10.00"
    assert_summaries_exact()


def test_a_term_average_below_40_and_a_grade_entered_that_clears_it(w):
    graded(w, days_before(60), "8")  # 40.00%: not below 40
    assert flags(w) == {}
    second = graded(w, days_before(61), "7.9")  # (40 + 39.5) / 2 = 39.75%
    figures = flags(w)["grades"]
    assert (figures["sliding"], figures["low_subjects"]) == (False, [{"subject_id": w.maths.pk, "average": "39.75"}])
    assert flag_text("grades", figures, {w.maths.pk: "Maths"}) == "term average below 40%: Maths 39.75%"
    with transaction.atomic():
        graded(w, days_before(62), "20")  # (40 + 39.5 + 100) / 3 = 59.83%
        assert flags(w) == {}
    second.score = Decimal("0")
    second.save()  # (40 + 0 + 100) / 3 = 46.67%
    assert flags(w) == {}
    assert_summaries_exact()


def test_a_term_average_counts_only_in_the_term_of_the_flag_date(w):
    TermFactory(school=w.school, start_date=datetime.date(2026, 1, 5), end_date=datetime.date(2026, 7, 17))
    graded(w, datetime.date(2026, 6, 1), "2")  # 10% in the earlier term
    assert flags(w) == {}
    assert_summaries_exact()


# --- behaviour ------------------------------------------------------------------------------------


def test_behaviour_scores_at_or_below_2_in_the_last_14_days(w):
    behavior_score_set(student=w.student, day=days_before(14), score=1)  # before the window
    behavior_score_set(student=w.student, day=days_before(13), score=2)  # at the limit, first day of the window
    behavior_score_set(student=w.student, day=days_before(2), score=3)  # above the limit
    assert flags(w) == {}
    behavior_score_set(student=w.student, day=AS_OF, score=1)
    assert flags(w) == {"behaviour": {"low_scores": 2, "at_most": 2, "days": 14, "threshold": 2}}
    assert flag_text("behaviour", flags(w)["behaviour"]) == (
        "2 behaviour scores at or below 2 in the last 14 days; threshold 2"
    )
    behavior_score_set(student=w.student, day=AS_OF, score=None)  # cleared
    assert flags(w) == {}
    assert_summaries_exact()


# --- several rules, drift, other schools ------------------------------------------------------------


def test_every_rule_at_once_and_drift_found_then_repaired(w):
    marks_on_dates(w, ["ABSENT"] * 3)
    for n in (1, 2, 3):
        homework(w, days_before(n))
    graded(w, days_before(10), "2")
    behavior_score_set(student=w.student, day=days_before(1), score=1)
    behavior_score_set(student=w.student, day=days_before(2), score=1)
    assert set(flags(w)) == {"attendance", "homework", "grades", "behaviour"}
    assert analytics_verify() == []

    StudentFlag.objects.filter(student=w.student, reason="homework").delete()
    StudentFlag.objects.filter(student=w.student, reason="attendance").update(as_of=days_before(1))
    found = {(d.table, d.key, d.kind) for d in analytics_verify()}
    assert found == {
        ("StudentFlag", (w.student.pk, "homework"), "missing"),
        ("StudentFlag", (w.student.pk, "attendance"), "changed"),
    }
    analytics_rebuild()
    assert analytics_verify() == []
    assert_summaries_exact()


def test_each_school_has_its_own_thresholds_and_date(w):
    other = SchoolFactory()
    TermFactory(school=other)
    EarlyWarningSettings.objects.create(school=other, flags_as_of=AS_OF, behaviour_scores=1, behaviour_score_at_most=3)
    student = StudentFactory(school=other, class_group=ClassGroupFactory(school=other))
    behavior_score_set(student=student, day=AS_OF, score=3)
    behavior_score_set(student=w.student, day=AS_OF, score=1)
    assert StudentFlag.objects.get(student=student).figures == {
        "low_scores": 1,
        "at_most": 3,
        "days": 14,
        "threshold": 1,
    }
    assert flags(w) == {}  # the default: two scores needed
    assert_summaries_exact()


# --- which rules a write recomputes ----------------------------------------------------------------


def test_without_a_stored_flag_date_a_mark_recomputes_every_rule_unless_the_flags_are_as_of_today(w, time_machine):
    """A mark feeds only the attendance rule, but the other rules' state is kept only when it is known to be as
    of the flag date; without a stored date that is today, and the day moves on with no write."""
    EarlyWarningSettings.objects.filter(school=w.school).update(flags_as_of=None)  # flags as of today

    def today(day: datetime.date) -> None:
        time_machine.move_to(datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC), tick=False)

    after = [AS_OF + datetime.timedelta(days=n) for n in range(3)]
    today(after[0])
    for due in (days_before(1), days_before(2), AS_OF):
        homework(w, due)
    assert flags(w) == {}  # 2 missing: the homework due today is not missing yet
    today(after[1])
    # No stored flag: nothing says the rules are as of today; all four are recomputed and the third is missing.
    mark(w, after[1], "ABSENT")
    assert flags(w)["homework"]["missing"] == 3
    assert_summaries_exact()
    homework(w, after[1])  # due today: not missing yet
    today(after[2])
    # The stored flag is as of yesterday: the mark recomputes every rule as of today (4 missing).
    first = mark(w, after[2], "ABSENT")
    assert flags(w)["homework"] == {"missing": 4, "due": 4, "days": 14, "threshold": 3}
    assert {flag.as_of for flag in StudentFlag.objects.filter(student=w.student)} == {after[2]}
    assert_summaries_exact()
    # Now the flags are as of today: a mark recomputes the attendance rule, the homework flag is kept.
    first.status = "LATE"
    first.save()
    assert (flags(w)["attendance"]["attended"], flags(w)["attendance"]["counted"]) == (1, 2)
    assert flags(w)["homework"]["missing"] == 4
    assert_summaries_exact()


def test_with_a_stored_flag_date_a_grade_recomputes_only_the_grades_rule(w):
    """A grade leaves the other rules as they are stored (the flag date is stored: every flag is as of it)."""
    marks_on_dates(w, ["ABSENT"] * 3)
    for due in (days_before(1), days_before(2), days_before(3)):
        homework(w, due)
    assert set(flags(w)) == {"attendance", "homework"}
    graded(w, days_before(4), "5")  # a term average of 25% < 40
    assert set(flags(w)) == {"attendance", "homework", "grades"}
    assert flags(w)["grades"]["low_subjects"] == [{"subject_id": w.maths.pk, "average": "25.00"}]
    assert_summaries_exact()
