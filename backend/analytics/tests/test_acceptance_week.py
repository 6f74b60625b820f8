"""The mission's acceptance test: one school week of a class of four, every number worked out by hand.

Grade 7B (Ana, Ben, Cleo, Dan) at a school in America/New_York (EDT, UTC-4 in September). Maths is
taught by Mr Moss, English by Ms Ellis. The week is Monday 14 to Friday 18 September 2026, inside the
autumn term (7 September to 18 December).

Final marks (P present, L late, A absent, E excused; "-" no mark):

    lesson                       Ana Ben Cleo Dan
    L1 Mon Maths   P1 Moss        P   L   A    E
    L2 Mon English P2 Ellis       P   P   P    E
    L3 Tue Maths   P1 Moss        P   P   L    L   Dan's ABSENT corrected to LATE
    L4 Wed English P1 Ellis       L   -   P    P   Ben's mark was put here by mistake, moved to L7
    L5 Thu Maths   P1 Moss        E   P   P    A
    L6 Thu English P2 Ellis       E   P   P    E   Dan's EXCUSED was first recorded on Cleo, moved
    L7 Fri English P1 Ellis       P   P   P    L

Homework (due date; submissions with their time in New York; late = after the end of the due date):

    H0 English max 10 set Fri 11  due Mon 14: Ana Mon 10:00, Ben Mon 22:00 (on time here, late in UTC),
                                             Dan Tue 01:00 (late); Cleo none
    H1 Maths   max 20 set Mon 14  due Tue 15: Ana, Ben on time, Cleo Tue 23:30 (on time); Dan none
    H2 English max 10 set Mon 14  due Wed 16: Ana, Cleo, Dan on time, Ben Thu 00:30 (late)
    H4 English max 30 set Tue 15  due Wed 16: Ana, Ben, Dan on time; Cleo none
    H3 Maths   max 50 set Wed 16  due Fri 18: Ana, Ben, Dan on time, Cleo Sat 06:00 (late)

Grades (percentages): H0 Ana 8 (80), Ben 6 (60), Dan 5 (50); H1 Ana 17 (85), Ben 15 (75), Cleo 13.01
(65.05); H2 Ana 9 (90), Ben 5 corrected to 7 (70), Cleo 10 (100), Dan 6 (60); H4 Ana 20 (66 2/3),
Ben 25 (83 1/3), Dan 19 (63 1/3); H3 Ana 40 (80), Ben 45 (90), Cleo 33 (66), Dan 41 then deleted.

Maths averages: Ana (85+80)/2 = 82.50 and Ben (75+90)/2 = 82.50 tie; Cleo (65.05+66)/2 = 65.525 -> 65.53
(half-up; half-even would give 65.52); Dan has no grade. English: Ana (80+90+200/3)/3 = 710/9 = 78.89,
Ben (60+70+250/3)/3 = 640/9 = 71.11, Cleo 100.00, Dan (50+60+190/3)/3 = 520/9 = 57.78.

Messages from Mr Moss: Mon 14 15:00Z; Mon 14 03:00Z (Sunday 13 23:00 here: the week before); Mon 21
02:00Z (Sunday 20 22:00 here: this week). From Ms Ellis: Wed 16 12:00Z. From the office: one (nobody's).
"""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from analytics.models import StudentDailySummary, StudentTermPerformance
from analytics.tests.oracle import actual_all, differences, expected_all
from attendance.models import Attendance, Lesson
from homework.models import Grade, Homework, HomeworkSubmission
from tests.factories import (
    ClassGroupFactory,
    CommunicationFactory,
    GuardianFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    SubjectFactory,
    TeacherFactory,
    TermFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PREV_MON = datetime.date(2026, 9, 7)
FRI_BEFORE = datetime.date(2026, 9, 11)
MON, TUE, WED, THU, FRI, SAT = (datetime.date(2026, 9, d) for d in range(14, 20))
NEXT_MON = datetime.date(2026, 9, 21)


def utc(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 9, day, hour, minute, tzinfo=datetime.UTC)


def build_week(check=lambda: None) -> SimpleNamespace:
    """Enter the week step by step, calling ``check`` after every write."""
    w = SimpleNamespace()
    w.school = SchoolFactory(name="Riverside", timezone="America/New_York")
    w.term = TermFactory(school=w.school, name="Autumn", start_date=PREV_MON, end_date=datetime.date(2026, 12, 18))
    w.klass = ClassGroupFactory(school=w.school, name="Grade 7B")
    w.maths = SubjectFactory(school=w.school, name="Maths")
    w.english = SubjectFactory(school=w.school, name="English")
    w.art = SubjectFactory(school=w.school, name="Art")
    w.moss = TeacherFactory(school=w.school, user=UserFactory(username="moss"))
    w.ellis = TeacherFactory(school=w.school, user=UserFactory(username="ellis"))
    w.ana, w.ben, w.cleo, w.dan = (
        StudentFactory(school=w.school, class_group=w.klass, first_name=name, last_name="Week")
        for name in ("Ana", "Ben", "Cleo", "Dan")
    )
    guardian = GuardianFactory(school=w.school, students=[w.ana, w.dan])
    check()

    # Teacher inputs entered before any source data: a comment on a subject with no data, a
    # behaviour score on a Saturday with nothing else.
    StudentTermPerformance.objects.update_or_create(
        student=w.ana,
        term=w.term,
        subject=w.art,
        defaults={"teacher_comment": "Shows promise in sketching."},
        create_defaults={"school": w.school, "teacher_comment": "Shows promise in sketching."},
    )
    StudentDailySummary.objects.update_or_create(
        student=w.dan,
        date=SAT,
        defaults={"behavior_score": 2},
        create_defaults={"school": w.school, "behavior_score": 2},
    )
    check()

    def lesson(day, period, subject, teacher):
        obj = Lesson.objects.create(class_group=w.klass, date=day, period=period, subject=subject, teacher=teacher)
        check()
        return obj

    def mark(lesson_, student, status):
        obj = Attendance.objects.create(lesson=lesson_, student=student, status=status)
        check()
        return obj

    w.l1 = lesson(MON, 1, w.maths, w.moss)
    w.l2 = lesson(MON, 2, w.english, w.ellis)
    w.l3 = lesson(TUE, 1, w.maths, w.moss)
    w.l4 = lesson(WED, 1, w.english, w.ellis)
    w.l5 = lesson(THU, 1, w.maths, w.moss)
    w.l6 = lesson(THU, 2, w.english, w.ellis)
    w.l7 = lesson(FRI, 1, w.english, w.ellis)

    for student, status in zip((w.ana, w.ben, w.cleo, w.dan), ("PRESENT", "LATE", "ABSENT", "EXCUSED"), strict=True):
        mark(w.l1, student, status)
    for student, status in zip(
        (w.ana, w.ben, w.cleo, w.dan), ("PRESENT", "PRESENT", "PRESENT", "EXCUSED"), strict=True
    ):
        mark(w.l2, student, status)
    StudentDailySummary.objects.update_or_create(
        student=w.ana,
        date=MON,
        defaults={"behavior_score": 4},
        create_defaults={"school": w.school, "behavior_score": 4},
    )
    check()
    mark(w.l3, w.ana, "PRESENT")
    mark(w.l3, w.ben, "PRESENT")
    mark(w.l3, w.cleo, "LATE")
    dan_tuesday = mark(w.l3, w.dan, "ABSENT")
    mark(w.l4, w.ana, "LATE")
    misplaced = mark(w.l4, w.ben, "PRESENT")
    mark(w.l4, w.cleo, "PRESENT")
    mark(w.l4, w.dan, "PRESENT")
    for student, status in zip((w.ana, w.ben, w.cleo, w.dan), ("EXCUSED", "PRESENT", "PRESENT", "ABSENT"), strict=True):
        mark(w.l5, student, status)
    mark(w.l6, w.ana, "EXCUSED")
    mark(w.l6, w.ben, "PRESENT")
    wrong_student = mark(w.l6, w.cleo, "EXCUSED")
    mark(w.l7, w.ana, "PRESENT")
    mark(w.l7, w.cleo, "PRESENT")
    mark(w.l7, w.dan, "LATE")

    # Corrections: Dan came late on Tuesday; Ben's Wednesday mark belonged to Friday's lesson; the
    # excused absence on Thursday was Dan's, and Cleo was present.
    dan_tuesday.status = "LATE"
    dan_tuesday.save()
    check()
    misplaced.lesson = w.l7
    misplaced.save()
    check()
    wrong_student.student = w.dan
    wrong_student.save()
    check()
    mark(w.l6, w.cleo, "PRESENT")

    def homework(subject, teacher, assigned, due, max_score):
        obj = Homework.objects.create(
            class_group=w.klass,
            subject=subject,
            teacher=teacher,
            title=f"{subject.name} due {due}",
            assigned_date=assigned,
            due_date=due,
            max_score=Decimal(max_score),
        )
        check()
        return obj

    w.h0 = homework(w.english, w.ellis, FRI_BEFORE, MON, "10")
    w.h1 = homework(w.maths, w.moss, MON, TUE, "20")
    w.h2 = homework(w.english, w.ellis, MON, WED, "10")
    w.h4 = homework(w.english, w.ellis, TUE, WED, "30")
    w.h3 = homework(w.maths, w.moss, WED, FRI, "50")

    def submit(hw, student, moment, score=None):
        submission = HomeworkSubmission.objects.create(homework=hw, student=student, submitted_at=moment)
        check()
        if score is None:
            return None
        grade = Grade.objects.create(submission=submission, score=Decimal(score))
        check()
        return grade

    submit(w.h0, w.ana, utc(14, 14), "8")
    submit(w.h0, w.ben, utc(15, 2), "6")  # Monday 22:00 in New York
    submit(w.h0, w.dan, utc(15, 5), "5")  # Tuesday 01:00 in New York: late
    submit(w.h1, w.ana, utc(15, 12), "17")
    submit(w.h1, w.ben, utc(14, 20), "15")
    submit(w.h1, w.cleo, utc(16, 3, 30), "13.01")  # Tuesday 23:30 in New York
    submit(w.h2, w.ana, utc(16, 13), "9")
    ben_h2 = submit(w.h2, w.ben, utc(17, 4, 30), "5")  # Thursday 00:30 in New York: late
    submit(w.h2, w.cleo, utc(15, 18), "10")
    submit(w.h2, w.dan, utc(16, 20), "6")
    submit(w.h4, w.ana, utc(16, 14), "20")
    submit(w.h4, w.ben, utc(16, 15), "25")
    submit(w.h4, w.dan, utc(16, 16), "19")
    submit(w.h3, w.ana, utc(18, 10), "40")
    submit(w.h3, w.ben, utc(17, 19), "45")
    submit(w.h3, w.cleo, utc(19, 10), "33")  # Saturday 06:00 in New York: late
    dan_h3 = submit(w.h3, w.dan, utc(18, 21), "41")

    StudentTermPerformance.objects.update_or_create(
        student=w.ana,
        term=w.term,
        subject=w.maths,
        defaults={"teacher_comment": "Great progress."},
        create_defaults={"school": w.school, "teacher_comment": "Great progress."},
    )
    check()

    # Ben's H2 regraded; Dan's H3 grade was entered on the wrong script and removed.
    ben_h2.score = Decimal("7")
    ben_h2.save()
    check()
    dan_h3.delete()
    check()

    for sender, moment in (
        (w.moss.user, utc(14, 15)),
        (w.moss.user, utc(14, 3)),  # Sunday 13 at 23:00 in New York
        (w.moss.user, utc(21, 2)),  # Sunday 20 at 22:00 in New York
        (w.ellis.user, utc(16, 12)),
        (SchoolAdminFactory(school=w.school).user, utc(15, 9)),
    ):
        CommunicationFactory(school=w.school, sender=sender, recipient=guardian, student=w.ana, sent_at=moment)
        check()
    return w


# Daily rows: status, marked, attended, counted, homework due, on time, late, completed, behaviour.
DAILY = {
    ("ana", MON): ("PRESENT", 2, 2, 2, 1, 1, 0, True, 4),
    ("ana", TUE): ("PRESENT", 1, 1, 1, 1, 1, 0, True, None),
    ("ana", WED): ("LATE", 1, 1, 1, 2, 2, 0, True, None),
    ("ana", THU): ("EXCUSED", 2, 0, 2, 0, 0, 0, None, None),
    ("ana", FRI): ("PRESENT", 1, 1, 1, 1, 1, 0, True, None),
    ("ben", MON): ("LATE", 2, 2, 2, 1, 1, 0, True, None),
    ("ben", TUE): ("PRESENT", 1, 1, 1, 1, 1, 0, True, None),
    ("ben", WED): (None, 0, 0, 0, 2, 1, 1, False, None),
    ("ben", THU): ("PRESENT", 2, 2, 2, 0, 0, 0, None, None),
    ("ben", FRI): ("PRESENT", 1, 1, 1, 1, 1, 0, True, None),
    ("cleo", MON): ("PRESENT", 2, 1, 2, 1, 0, 0, False, None),
    ("cleo", TUE): ("LATE", 1, 1, 1, 1, 1, 0, True, None),
    ("cleo", WED): ("PRESENT", 1, 1, 1, 2, 1, 0, False, None),
    ("cleo", THU): ("PRESENT", 2, 2, 2, 0, 0, 0, None, None),
    ("cleo", FRI): ("PRESENT", 1, 1, 1, 1, 0, 1, False, None),
    ("dan", MON): ("EXCUSED", 2, 0, 2, 1, 0, 1, False, None),
    ("dan", TUE): ("LATE", 1, 1, 1, 1, 0, 0, False, None),
    ("dan", WED): ("PRESENT", 1, 1, 1, 2, 2, 0, True, None),
    ("dan", THU): ("ABSENT", 2, 0, 2, 0, 0, 0, None, None),
    ("dan", FRI): ("LATE", 1, 1, 1, 1, 1, 0, True, None),
    ("dan", SAT): (None, 0, 0, 0, 0, 0, 0, None, 2),
}

# Term rows: average, grades, attendance %, marked, attended, counted, teacher comment.
TERM = {
    ("ana", "maths"): (Decimal("82.50"), 2, Decimal("66.67"), 3, 2, 3, "Great progress."),
    ("ben", "maths"): (Decimal("82.50"), 2, Decimal("100.00"), 3, 3, 3, ""),
    ("cleo", "maths"): (Decimal("65.53"), 2, Decimal("66.67"), 3, 2, 3, ""),
    ("dan", "maths"): (None, 0, Decimal("33.33"), 3, 1, 3, ""),
    ("ana", "english"): (Decimal("78.89"), 3, Decimal("75.00"), 4, 3, 4, ""),
    ("ben", "english"): (Decimal("71.11"), 3, Decimal("100.00"), 3, 3, 3, ""),
    ("cleo", "english"): (Decimal("100.00"), 1, Decimal("100.00"), 4, 4, 4, ""),
    ("dan", "english"): (Decimal("57.78"), 3, Decimal("50.00"), 4, 2, 4, ""),
    ("ana", "art"): (None, 0, None, 0, 0, 0, "Shows promise in sketching."),
}

# Teacher rows: classes, homework set, messages, average attendance, attended, counted.
TEACHER = {
    ("moss", PREV_MON): (0, 0, 1, None, 0, 0),
    ("moss", MON): (3, 2, 2, Decimal("66.67"), 8, 12),
    ("ellis", PREV_MON): (0, 1, 0, None, 0, 0),
    ("ellis", MON): (4, 2, 1, Decimal("80.00"), 12, 15),
}

# With LATE not counted as present and EXCUSED marks left out: (attended, counted) changes.
DAILY_STRICT = {
    ("ana", WED): (0, 1),
    ("ana", THU): (0, 0),
    ("ben", MON): (1, 2),
    ("cleo", TUE): (0, 1),
    ("dan", MON): (0, 0),
    ("dan", TUE): (0, 1),
    ("dan", THU): (0, 1),
    ("dan", FRI): (0, 1),
}
TERM_STRICT = {  # attendance %, attended, counted
    ("ana", "maths"): (Decimal("100.00"), 2, 2),
    ("ben", "maths"): (Decimal("66.67"), 2, 3),
    ("cleo", "maths"): (Decimal("33.33"), 1, 3),
    ("dan", "maths"): (Decimal("0.00"), 0, 2),
    ("ana", "english"): (Decimal("66.67"), 2, 3),
    ("dan", "english"): (Decimal("50.00"), 1, 2),
}
TEACHER_STRICT = {  # average attendance, attended, counted
    ("moss", MON): (Decimal("50.00"), 5, 10),
    ("ellis", MON): (Decimal("83.33"), 10, 12),
}


def hand_rows(w, daily=DAILY, term=TERM, teacher=TEACHER) -> dict[str, dict]:
    """The literal tables above, in the oracle's shape."""
    daily_fields = (
        "attendance_status",
        "lessons_marked",
        "lessons_attended",
        "lessons_counted",
        "homework_due",
        "homework_on_time",
        "homework_late",
        "homework_completed",
        "behavior_score",
    )
    term_fields = (
        "average_grade",
        "grades_count",
        "attendance_percentage",
        "lessons_marked",
        "lessons_attended",
        "lessons_counted",
        "teacher_comment",
    )
    teacher_fields = (
        "classes_taught",
        "homeworks_assigned",
        "parent_communications",
        "average_student_attendance",
        "lessons_attended",
        "lessons_counted",
    )
    school = {"school_id": w.school.pk}
    return {
        "daily": {
            (getattr(w, name).pk, day): school | dict(zip(daily_fields, values, strict=True))
            for (name, day), values in daily.items()
        },
        "term": {
            (getattr(w, name).pk, w.term.pk, getattr(w, subject).pk): school
            | dict(zip(term_fields, values, strict=True))
            for (name, subject), values in term.items()
        },
        "teacher": {
            (getattr(w, name).pk, week): school | dict(zip(teacher_fields, values, strict=True))
            for (name, week), values in teacher.items()
        },
    }


def strict_tables() -> tuple[dict, dict, dict]:
    """The hand tables with LATE not attended and EXCUSED not counted."""
    daily = {key: row[:2] + DAILY_STRICT.get(key, row[2:4]) + row[4:] for key, row in DAILY.items()}
    term = {}
    for key, (average, grades, percent, marked, attended, counted, comment) in TERM.items():
        percent, attended, counted = TERM_STRICT.get(key, (percent, attended, counted))
        term[key] = (average, grades, percent, marked, attended, counted, comment)
    teacher = {key: row[:3] + TEACHER_STRICT.get(key, row[3:]) for key, row in TEACHER.items()}
    return daily, term, teacher


def assert_rows(expected: dict[str, dict], actual: dict[str, dict]) -> None:
    diff = differences(expected, actual)
    assert not diff, "\n".join(diff)


def test_oracle_agrees_with_the_hand_worked_week():
    """The oracle itself, checked against the hand-worked numbers (no engine involved)."""
    w = build_week()
    assert_rows(hand_rows(w), expected_all())


def test_oracle_agrees_with_hand_values_under_strict_school_rules():
    w = build_week()
    w.school.late_counts_as_present = False
    w.school.excused_absences_excluded = True
    w.school.save()
    assert_rows(hand_rows(w, *strict_tables()), expected_all())


def test_summaries_of_the_week_equal_the_hand_worked_values():
    w = build_week(check=lambda: assert_rows(expected_all(), actual_all()))
    assert_rows(hand_rows(w), actual_all())

    # A few fields spelled out, as a reader of the report card would see them.
    ana_maths = StudentTermPerformance.objects.get(student=w.ana, term=w.term, subject=w.maths)
    ben_maths = StudentTermPerformance.objects.get(student=w.ben, term=w.term, subject=w.maths)
    assert ana_maths.average_grade == ben_maths.average_grade == Decimal("82.50")
    assert ana_maths.attendance_percentage == Decimal("66.67")
    cleo_maths = StudentTermPerformance.objects.get(student=w.cleo, term=w.term, subject=w.maths)
    assert cleo_maths.average_grade == Decimal("65.53")
    ben_monday = StudentDailySummary.objects.get(student=w.ben, date=MON)
    assert ben_monday.homework_completed is True  # 22:00 in New York is still Monday


def test_school_rule_changes_recompute_the_week():
    w = build_week()
    w.school.late_counts_as_present = False
    w.school.excused_absences_excluded = True
    w.school.save()
    assert_rows(hand_rows(w, *strict_tables()), actual_all())

    # In UTC, Ben's Monday 22:00 and Cleo's Tuesday 23:30 submissions fall on the next day, and
    # Mr Moss's Sunday-evening messages move to the following Mondays.
    w.school.timezone = "UTC"
    w.school.save()
    daily, term, teacher = strict_tables()
    daily[("ben", MON)] = ("LATE", 2, 1, 2, 1, 0, 1, False, None)
    daily[("cleo", TUE)] = ("LATE", 1, 0, 1, 1, 0, 1, False, None)
    del teacher[("moss", PREV_MON)]
    teacher[("moss", NEXT_MON)] = (0, 0, 1, None, 0, 0)
    expected = hand_rows(w, daily, term, teacher)
    assert_rows(expected, expected_all())
    assert_rows(expected, actual_all())
