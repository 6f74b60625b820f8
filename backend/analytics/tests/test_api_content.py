"""What the analytics endpoints say, checked against a small school worked out by hand.

Hillcrest (Africa/Nairobi, UTC+3), Term 1 from Monday 7 September to 18 December 2026; "today" is
Wednesday 23 September (06:00 UTC, 09:00 in Nairobi). Grade 7A: Ann, Ben, Cat (and Dan, who left: inactive,
no class). Maths is taught by Moss, English by Ellis; Okafor teaches no lesson but writes to parents.
Defaults: LATE counts as attended, EXCUSED is counted.

Marks (P present, L late, A absent, E excused), for Ann / Ben / Cat:

    Mon  7 Maths   Moss   P P A           attended 2 of 3
    Mon  7 English Ellis  P L A           2 of 3
    Wed  9 Maths   Moss   L P P           3 of 3
    Mon 14 Maths   Moss   P A E           1 of 3
    Mon 14 English Ellis  P P A           2 of 3
    Thu 17 English Ellis  P A A           1 of 3
    Wed 23 Maths   Moss   P L A (today)   2 of 3

School: 13 of 21 = 61.90; by week 7/9 = 77.78, 4/9 = 44.44, 2/3 = 66.67.
Term attendance: Ann 7/7 = 100, Ben 5/7 = 71.43, Cat 1/7 = 14.29: 2 of 3 below 90%.

Homework (on time = handed in by the end of the due date in Nairobi; "late" = the next day):

    H1 Maths   Moss  set Mon 7   due Wed 9   max 20: Ann 19 (95), Ben 20 (100), Cat 13 (65), all on time
    H2 Maths   Moss  set Mon 14  due Wed 16  max 10: Ann 7 (70) on time, Ben 5 (50) late, Cat none
    H3 English Ellis set Tue 8   due Fri 11  max 30: Ann 20 (66.67), Ben 25 (83.33) on time, Cat 27 (90) late
    H4 English Ellis set Tue 15  due Fri 18  max 40: Ann 30 (75) late, Ben none, Cat 18 (45) on time

Averages: Maths Ann (95+70)/2 = 82.50, Ben (100+50)/2 = 75.00, Cat 65.00; English Ann (66.67+75)/2 = 70.83,
Ben 83.33, Cat (90+45)/2 = 67.50. Overall (mean of the two): Ann 76.67, Ben 79.17, Cat 66.25.
On time 7 of 12 = 58.33; by week 5/6 = 83.33, 2/6 = 33.33.

Messages to parents (sent_at UTC): Moss 8 Sep; 15 and 18 Sep. Ellis Sun 13 Sep 22:30 (Mon 14 in Nairobi),
15 and 16 Sep. Okafor 9 and 10 Sep; 16 Sep.

Fees: Ann 100.00 (issued 20 Aug, paid 25 Aug, before the term); Ann 500.00 (7 Sep, paid 10 Sep); Ben 500.00
(7 Sep; 200.00 paid Sun 13 Sep 22:30 UTC = Mon 14 in Nairobi, 50.25 paid today); Cat 450.50 (8 Sep, unpaid)
and 200.00 (14 Sep, void). In the term: revenue 750.25 (3 payments), billed 1450.50; up to its end:
invoiced 1550.50, paid 850.25, outstanding 700.25, collected 54.84%.
"""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.core.management import call_command, get_commands
from rest_framework.renderers import JSONRenderer

from analytics import apis, selectors
from analytics.models import StudentDailySummary, StudentTermPerformance
from attendance.models import AttendanceStatus
from finance.models import FeeInvoice
from tests.factories import (
    AttendanceFactory,
    ClassGroupFactory,
    CommunicationFactory,
    GradeFactory,
    GuardianFactory,
    HomeworkFactory,
    InvoiceFactory,
    LessonFactory,
    PaymentFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    SubjectFactory,
    SubmissionFactory,
    TeacherFactory,
    TeachingAssignmentFactory,
    TermFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 9, 23, 6, 0, tzinfo=datetime.UTC)
NOW_JSON = "2026-09-23T06:00:00Z"
RANKS_COMMAND = "calculate_class_ranks" in get_commands()

STATUS = {"P": AttendanceStatus.PRESENT, "L": AttendanceStatus.LATE, "A": AttendanceStatus.ABSENT}
STATUS["E"] = AttendanceStatus.EXCUSED


def sep(day: int) -> datetime.date:
    return datetime.date(2026, 9, day)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=datetime.UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def hillcrest(frozen) -> SimpleNamespace:
    w = SimpleNamespace()
    w.school = SchoolFactory(name="Hillcrest", timezone="Africa/Nairobi")
    w.term = TermFactory(school=w.school, name="Term 1", start_date=sep(7), end_date=datetime.date(2026, 12, 18))
    w.earlier_term = TermFactory(
        school=w.school, name="Term 0", start_date=datetime.date(2026, 5, 4), end_date=datetime.date(2026, 7, 31)
    )
    w.klass = ClassGroupFactory(school=w.school, name="Grade 7A", grade_level=7)
    w.maths = SubjectFactory(school=w.school, name="Maths")
    w.english = SubjectFactory(school=w.school, name="English")
    w.moss, w.ellis, w.okafor = (
        TeacherFactory(school=w.school, user=UserFactory(first_name=first, last_name=last))
        for first, last in (("Mia", "Moss"), ("Eve", "Ellis"), ("Obi", "Okafor"))
    )
    TeachingAssignmentFactory(teacher=w.moss, class_group=w.klass, subject=w.maths)
    TeachingAssignmentFactory(teacher=w.ellis, class_group=w.klass, subject=w.english)
    w.admin = SchoolAdminFactory(school=w.school)
    w.ann, w.ben, w.cat = (
        StudentFactory(school=w.school, class_group=w.klass, first_name=first, last_name=last, student_number=number)
        for first, last, number in (("Ann", "Abara", "H001"), ("Ben", "Bello", "H002"), ("Cat", "Chege", "H003"))
    )
    StudentFactory(school=w.school, class_group=None, first_name="Dan", active=False)
    students = (w.ann, w.ben, w.cat)

    for day, period, subject, teacher, marks in (
        (7, 1, w.maths, w.moss, "PPA"),
        (7, 2, w.english, w.ellis, "PLA"),
        (9, 1, w.maths, w.moss, "LPP"),
        (14, 1, w.maths, w.moss, "PAE"),
        (14, 2, w.english, w.ellis, "PPA"),
        (17, 1, w.english, w.ellis, "PAA"),
        (23, 1, w.maths, w.moss, "PLA"),
    ):
        lesson = LessonFactory(class_group=w.klass, subject=subject, teacher=teacher, date=sep(day), period=period)
        for student, mark in zip(students, marks, strict=True):
            AttendanceFactory(lesson=lesson, student=student, status=STATUS[mark])

    w.homework = {}
    on_time, late = "on time", "late"
    for name, subject, teacher, assigned, due, max_score, work in (
        ("H1", w.maths, w.moss, 7, 9, "20", {w.ann: (on_time, "19"), w.ben: (on_time, "20"), w.cat: (on_time, "13")}),
        ("H2", w.maths, w.moss, 14, 16, "10", {w.ann: (on_time, "7"), w.ben: (late, "5")}),
        ("H3", w.english, w.ellis, 8, 11, "30", {w.ann: (on_time, "20"), w.ben: (on_time, "25"), w.cat: (late, "27")}),
        ("H4", w.english, w.ellis, 15, 18, "40", {w.ann: (late, "30"), w.cat: (on_time, "18")}),
    ):  # fmt: skip
        homework = HomeworkFactory(
            class_group=w.klass,
            subject=subject,
            teacher=teacher,
            title=f"{name} {subject.name}",
            assigned_date=sep(assigned),
            due_date=sep(due),
            max_score=Decimal(max_score),
        )
        w.homework[name] = homework
        for student, (when, score) in work.items():
            # 09:00 UTC is noon in Nairobi: on the due date, or the day after.
            handed_in = utc(9, due if when == on_time else due + 1, 9)
            submission = SubmissionFactory(homework=homework, student=student, submitted_at=handed_in)
            GradeFactory(submission=submission, score=Decimal(score), graded_by=teacher.user)

    guardian = GuardianFactory(school=w.school, students=[w.ben])
    for teacher, moments in (
        (w.moss, [utc(9, 8, 10), utc(9, 15, 10), utc(9, 18, 10)]),
        (w.ellis, [utc(9, 13, 22, 30), utc(9, 15, 10), utc(9, 16, 10)]),
        (w.okafor, [utc(9, 9, 10), utc(9, 10, 10), utc(9, 16, 10)]),
    ):
        for moment in moments:
            CommunicationFactory(
                school=w.school, sender=teacher.user, recipient=guardian, student=w.ben, sent_at=moment
            )

    uniform = InvoiceFactory(student=w.ann, amount=Decimal("100.00"), issued_on=datetime.date(2026, 8, 20))
    PaymentFactory(invoice=uniform, amount=Decimal("100.00"), paid_at=utc(8, 25, 10))
    fees = {
        student: InvoiceFactory(student=student, term=w.term, amount=Decimal(amount), issued_on=sep(day))
        for student, amount, day in ((w.ann, "500.00", 7), (w.ben, "500.00", 7), (w.cat, "450.50", 8))
    }
    InvoiceFactory(
        student=w.cat, term=w.term, amount=Decimal("200.00"), issued_on=sep(14), status=FeeInvoice.Status.VOID
    )
    PaymentFactory(invoice=fees[w.ann], amount=Decimal("500.00"), paid_at=utc(9, 10, 10))
    PaymentFactory(invoice=fees[w.ben], amount=Decimal("200.00"), paid_at=utc(9, 13, 22, 30))
    PaymentFactory(invoice=fees[w.ben], amount=Decimal("50.25"), paid_at=utc(9, 23, 5))

    # Teacher inputs, written straight to the summary rows the engine created.
    for day, score in ((7, 4), (14, 2)):
        assert StudentDailySummary.objects.filter(student=w.ben, date=sep(day)).update(behavior_score=score) == 1
    w.comment = "Strong start; hand homework in on time."
    assert (
        StudentTermPerformance.objects.filter(student=w.ben, term=w.term, subject=w.maths).update(
            teacher_comment=w.comment
        )
        == 1
    )
    if RANKS_COMMAND:
        call_command("calculate_class_ranks", "--school", str(w.school.pk), "--date", "2026-09-23", verbosity=0)
    return w


@pytest.fixture
def client_of(api_client):
    def login(user):
        api_client.force_authenticate(user)
        return api_client

    return login


def ranks(expected: dict) -> dict:
    """The rank fields, or all empty when the nightly rank command is not installed."""
    if RANKS_COMMAND:
        return expected
    return dict.fromkeys(expected)


def rank(position: int, of: int, display: str) -> dict:
    return ranks({"rank": position, "rank_of": of, "rank_display": display})


# --- student overview ---------------------------------------------------------------------------


def test_student_overview_of_the_term(hillcrest, client_of):
    w = hillcrest

    response = client_of(w.admin.user).get(f"/api/analytics/student/{w.ben.pk}/overview/")

    assert response.status_code == 200, response.data
    data = response.json()
    assert data["student"] == {
        "id": w.ben.pk,
        "name": "Ben Bello",
        "student_number": "H002",
        "class_group": {"id": w.klass.pk, "name": "Grade 7A", "grade_level": 7},
        "school": {"id": w.school.pk, "name": "Hillcrest"},
    }
    assert data["term"] == {"id": w.term.pk, "name": "Term 1", "start_date": "2026-09-07", "end_date": "2026-12-18"}
    assert data["period"] == {"from": "2026-09-07", "to": "2026-12-18"}
    assert data["as_of"] == NOW_JSON
    assert data["overall"] == {"average_grade": "79.17" if RANKS_COMMAND else None, **rank(1, 3, "1st of 3")}
    assert data["subjects"] == [
        {
            "subject": {"id": w.english.pk, "name": "English"},
            "average_grade": "83.33",
            "grades_count": 1,
            **rank(1, 3, "1st of 3"),
            "attendance_percentage": "66.67",
            "lessons_attended": 2,
            "lessons_counted": 3,
            "teacher_comment": "",
        },
        {
            "subject": {"id": w.maths.pk, "name": "Maths"},
            "average_grade": "75.00",
            "grades_count": 2,
            **rank(2, 3, "2nd of 3"),
            "attendance_percentage": "75.00",
            "lessons_attended": 3,
            "lessons_counted": 4,
            "teacher_comment": w.comment,
        },
    ]
    maths, english = {"subject_id": w.maths.pk, "subject": "Maths"}, {"subject_id": w.english.pk, "subject": "English"}
    assert data["grades"] == [
        {"date": "2026-09-09", **maths, "homework": "H1 Maths", "percentage": "100.00"},
        {"date": "2026-09-11", **english, "homework": "H3 English", "percentage": "83.33"},
        {"date": "2026-09-16", **maths, "homework": "H2 Maths", "percentage": "50.00"},
    ]
    assert data["grades_weekly"] == [
        {"week_start": "2026-09-07", "subject_id": w.english.pk, "subject": "English", "average": "83.33"},
        {"week_start": "2026-09-07", "subject_id": w.maths.pk, "subject": "Maths", "average": "100.00"},
        {"week_start": "2026-09-14", "subject_id": w.maths.pk, "subject": "Maths", "average": "50.00"},
    ]
    assert data["attendance_weekly"] == [
        {"week_start": "2026-09-07", "attended": 3, "counted": 3, "rate": "100.00"},
        {"week_start": "2026-09-14", "attended": 1, "counted": 3, "rate": "33.33"},
        {"week_start": "2026-09-21", "attended": 1, "counted": 1, "rate": "100.00"},
    ]
    assert data["homework"] == {"due": 4, "on_time": 2, "late": 1, "missing": 1, "completion_rate": "50.00"}
    assert data["behavior"] == [{"date": "2026-09-07", "score": 4}, {"date": "2026-09-14", "score": 2}]


@pytest.mark.skipif(not RANKS_COMMAND, reason="the calculate_class_ranks command is not installed")
def test_student_overview_ranks_of_the_class(hillcrest, client_of):
    w = hillcrest
    client = client_of(w.admin.user)

    seen = {}
    for student in (w.ann, w.ben, w.cat):
        data = client.get(f"/api/analytics/student/{student.pk}/overview/").json()
        seen[student.first_name] = (
            data["overall"]["average_grade"],
            data["overall"]["rank_display"],
            {row["subject"]["name"]: (row["average_grade"], row["rank_display"]) for row in data["subjects"]},
        )

    assert seen == {
        "Ann": ("76.67", "2nd of 3", {"English": ("70.83", "2nd of 3"), "Maths": ("82.50", "1st of 3")}),
        "Ben": ("79.17", "1st of 3", {"English": ("83.33", "1st of 3"), "Maths": ("75.00", "2nd of 3")}),
        "Cat": ("66.25", "3rd of 3", {"English": ("67.50", "3rd of 3"), "Maths": ("65.00", "3rd of 3")}),
    }


def test_student_overview_of_a_date_range(hillcrest, client_of):
    """from / to narrow the series (grades, attendance, homework, behaviour); the term figures stay the term's."""
    w = hillcrest

    response = client_of(w.ben.guardians.get().user).get(
        f"/api/analytics/student/{w.ben.pk}/overview/?from=2026-09-14&to=2026-09-20"
    )

    assert response.status_code == 200, response.data
    data = response.json()
    assert data["period"] == {"from": "2026-09-14", "to": "2026-09-20"}
    assert [(row["subject"]["name"], row["average_grade"]) for row in data["subjects"]] == [
        ("English", "83.33"),
        ("Maths", "75.00"),
    ]
    assert data["grades"] == [
        {
            "date": "2026-09-16",
            "subject_id": w.maths.pk,
            "subject": "Maths",
            "homework": "H2 Maths",
            "percentage": "50.00",
        }
    ]
    assert data["grades_weekly"] == [
        {"week_start": "2026-09-14", "subject_id": w.maths.pk, "subject": "Maths", "average": "50.00"}
    ]
    assert data["attendance_weekly"] == [{"week_start": "2026-09-14", "attended": 1, "counted": 3, "rate": "33.33"}]
    # H2 handed in late, H4 never.
    assert data["homework"] == {"due": 2, "on_time": 0, "late": 1, "missing": 1, "completion_rate": "0.00"}
    assert data["behavior"] == [{"date": "2026-09-14", "score": 2}]


def test_student_overview_of_one_subject(hillcrest, client_of):
    w = hillcrest

    response = client_of(w.moss.user).get(f"/api/analytics/student/{w.ann.pk}/overview/?subject={w.maths.pk}")

    assert response.status_code == 200, response.data
    data = response.json()
    assert data["subjects"] == [
        {
            "subject": {"id": w.maths.pk, "name": "Maths"},
            "average_grade": "82.50",
            "grades_count": 2,
            **rank(1, 3, "1st of 3"),
            "attendance_percentage": "100.00",
            "lessons_attended": 4,
            "lessons_counted": 4,
            "teacher_comment": "",
        }
    ]
    assert [(row["date"], row["percentage"]) for row in data["grades"]] == [
        ("2026-09-09", "95.00"),
        ("2026-09-16", "70.00"),
    ]
    assert [(row["week_start"], row["subject"], row["average"]) for row in data["grades_weekly"]] == [
        ("2026-09-07", "Maths", "95.00"),
        ("2026-09-14", "Maths", "70.00"),
    ]


def test_student_overview_of_an_earlier_term_without_data(hillcrest, client_of):
    w = hillcrest

    response = client_of(w.admin.user).get(f"/api/analytics/student/{w.ben.pk}/overview/?term={w.earlier_term.pk}")

    assert response.status_code == 200, response.data
    data = response.json()
    assert data["term"]["name"] == "Term 0"
    assert data["period"] == {"from": "2026-05-04", "to": "2026-07-31"}
    assert data["as_of"] is None
    assert data["overall"] == {"average_grade": None, "rank": None, "rank_of": None, "rank_display": None}
    assert (data["subjects"], data["grades"], data["grades_weekly"], data["attendance_weekly"], data["behavior"]) == (
        [],
        [],
        [],
        [],
        [],
    )
    assert data["homework"] == {"due": 0, "on_time": 0, "late": 0, "missing": 0, "completion_rate": None}


# --- teacher performance ------------------------------------------------------------------------

# Every lesson of the fixture has its roll call and every submission its grade: nothing missing.
NOTHING_MISSING = {"lessons_without_roll_call": 0, "homework_overdue_ungraded": 0, "submissions_ungraded": 0}
QUIET_WEEK = {
    "classes_taught": 0,
    "homeworks_assigned": 0,
    "parent_communications": 0,
    "average_student_attendance": None,
    "school_median": {
        "classes_taught": "0.0",
        "homeworks_assigned": "0.0",
        "parent_communications": "0.0",
        "average_student_attendance": None,
    },
    "lessons_held": 0,
    **NOTHING_MISSING,
}


def test_my_performance_of_the_last_eight_weeks(hillcrest, client_of):
    w = hillcrest

    response = client_of(w.moss.user).get("/api/analytics/teacher/my-performance/")

    assert response.status_code == 200, response.data
    data = response.json()
    assert data["teacher"] == {"id": w.moss.pk, "name": "Mia Moss"}
    assert data["as_of"] == NOW_JSON
    assert data["weeks"] == [
        *({"week_start": monday, **QUIET_WEEK} for monday in ("2026-08-03", "2026-08-10", "2026-08-17", "2026-08-24")),
        {"week_start": "2026-08-31", **QUIET_WEEK},
        {
            "week_start": "2026-09-07",
            "classes_taught": 2,
            "homeworks_assigned": 1,
            "parent_communications": 1,
            "average_student_attendance": "83.33",
            # Moss 2, Ellis 1, Okafor 0 lessons; 1, 1, 0 homework; 1, 0, 2 messages; 83.33 and 66.67.
            "school_median": {
                "classes_taught": "1.0",
                "homeworks_assigned": "1.0",
                "parent_communications": "1.0",
                "average_student_attendance": "75.00",
            },
            "lessons_held": 2,
            **NOTHING_MISSING,
        },
        {
            "week_start": "2026-09-14",
            "classes_taught": 1,
            "homeworks_assigned": 1,
            "parent_communications": 2,
            "average_student_attendance": "33.33",
            # Moss 1, Ellis 2, Okafor 0; 1, 1, 0; 2, 3, 1; (33.33 + 50.00) / 2 = 41.665, half-up.
            "school_median": {
                "classes_taught": "1.0",
                "homeworks_assigned": "1.0",
                "parent_communications": "2.0",
                "average_student_attendance": "41.67",
            },
            "lessons_held": 1,
            **NOTHING_MISSING,
        },
        {
            "week_start": "2026-09-21",
            "classes_taught": 1,
            "homeworks_assigned": 0,
            "parent_communications": 0,
            "average_student_attendance": "66.67",
            "school_median": {
                "classes_taught": "0.0",
                "homeworks_assigned": "0.0",
                "parent_communications": "0.0",
                "average_student_attendance": "66.67",
            },
            "lessons_held": 1,
            **NOTHING_MISSING,
        },
    ]
    # Today (09:00 in Nairobi) Moss has the Maths lesson of period 1, its roll call taken; no comments asked yet.
    assert data["today"] == {"date": "2026-09-23", "lessons": 1, "roll_calls_not_taken": 0}
    assert data["comments"] is None


def test_my_performance_of_a_teacher_without_lessons(hillcrest, client_of):
    w = hillcrest

    response = client_of(w.okafor.user).get("/api/analytics/teacher/my-performance/?weeks=3")

    assert response.status_code == 200, response.data
    assert [
        (week["week_start"], week["classes_taught"], week["parent_communications"], week["average_student_attendance"])
        for week in response.json()["weeks"]
    ] == [("2026-09-07", 0, 2, None), ("2026-09-14", 0, 1, None), ("2026-09-21", 0, 0, None)]


def test_my_performance_between_dates(hillcrest, client_of):
    w = hillcrest

    response = client_of(w.ellis.user).get("/api/analytics/teacher/my-performance/?from=2026-09-09&to=2026-09-15")

    assert response.status_code == 200, response.data
    assert [
        (
            week["week_start"],
            week["classes_taught"],
            week["homeworks_assigned"],
            week["parent_communications"],
            week["average_student_attendance"],
        )
        for week in response.json()["weeks"]
    ] == [("2026-09-07", 1, 1, 0, "66.67"), ("2026-09-14", 2, 1, 3, "50.00")]


# --- school health ------------------------------------------------------------------------------


def test_school_health_of_the_current_term(hillcrest, client_of):
    w = hillcrest

    response = client_of(w.admin.user).get("/api/analytics/admin/school-health/")

    assert response.status_code == 200, response.data
    assert response.json() == {
        "schools": [{"id": w.school.pk, "name": "Hillcrest"}],
        "term": {"id": w.term.pk, "name": "Term 1", "start_date": "2026-09-07", "end_date": "2026-12-18"},
        "period": {"from": "2026-09-07", "to": "2026-12-18"},
        "as_of": NOW_JSON,
        "revenue": "750.25",
        "payments_count": 3,
        "amount_billed": "1450.50",
        "outstanding": "700.25",
        "collection_rate": "54.84",
        "attendance_rate": "61.90",
        "homework_completion_rate": "58.33",
        "today": {
            "students_marked": 3,
            "students_present": 2,
            "students_late": 1,
            "students_absent": 1,
            "students_excused": 0,
            "attendance_rate": "66.67",
        },
        "students_count": 3,
        "teachers_count": 3,
        "low_attendance": {"threshold": "90.00", "students": 2, "of": 3, "share": "66.67"},
        "roll_calls_today": {"lessons": 1, "not_taken": 0},
        "weekly": [
            {
                "week_start": "2026-09-07",
                "revenue": "500.00",
                "amount_billed": "1450.50",
                "attendance_rate": "77.78",
                "homework_completion_rate": "83.33",
            },
            {
                "week_start": "2026-09-14",
                "revenue": "200.00",
                "amount_billed": "0.00",
                "attendance_rate": "44.44",
                "homework_completion_rate": "33.33",
            },
            {
                "week_start": "2026-09-21",
                "revenue": "50.25",
                "amount_billed": "0.00",
                "attendance_rate": "66.67",
                "homework_completion_rate": None,
            },
        ],
    }


def test_school_health_of_a_period(hillcrest, client_of):
    """The second week only: its money and attendance; outstanding counts everything up to the period's end."""
    w = hillcrest

    response = client_of(w.admin.user).get("/api/analytics/admin/school-health/?from=2026-09-14&to=2026-09-20")

    assert response.status_code == 200, response.data
    data = response.json()
    assert data["period"] == {"from": "2026-09-14", "to": "2026-09-20"}
    assert (data["revenue"], data["payments_count"], data["amount_billed"]) == ("200.00", 1, "0.00")
    # Invoiced 1550.50 by 20 Sep; paid 100 + 500 + 200 = 800.00.
    assert (data["outstanding"], data["collection_rate"]) == ("750.50", "51.60")
    assert (data["attendance_rate"], data["homework_completion_rate"]) == ("44.44", "33.33")
    assert [week["week_start"] for week in data["weekly"]] == ["2026-09-14"]
    # Today's figures and the term's low-attendance share do not depend on the period.
    assert data["today"]["students_marked"] == 3
    assert data["low_attendance"]["students"] == 2


def test_school_health_across_schools_for_a_district_operator(hillcrest, client_of):
    w = hillcrest
    with time_machine.travel(NOW, tick=False):
        other = SchoolFactory(name="Lakeside")
        TermFactory(school=other, name="Term 1")
        invoice = InvoiceFactory(student=StudentFactory(school=other), amount=Decimal("999.99"), issued_on=sep(8))
        PaymentFactory(invoice=invoice, amount=Decimal("333.33"), paid_at=utc(9, 10, 10))
        operator = UserFactory(is_superuser=True, is_staff=True)

        everything = client_of(operator).get("/api/analytics/admin/school-health/").json()
        lakeside = client_of(operator).get(f"/api/analytics/admin/school-health/?school={other.pk}").json()
        hillcrest_only = client_of(w.admin.user).get("/api/analytics/admin/school-health/").json()

    assert [school["name"] for school in everything["schools"]] == ["Hillcrest", "Lakeside"]
    assert everything["term"] is None
    assert everything["low_attendance"] is None
    assert (everything["revenue"], everything["amount_billed"]) == ("1083.58", "2450.49")
    assert (everything["students_count"], everything["teachers_count"]) == (4, 3)
    assert (lakeside["revenue"], lakeside["amount_billed"], lakeside["outstanding"]) == ("333.33", "999.99", "666.66")
    assert (hillcrest_only["revenue"], hillcrest_only["amount_billed"]) == ("750.25", "1450.50")


def test_the_plain_representation_equals_the_serializers(hillcrest):
    """The endpoints convert the selectors' data without a serializer instance per item (``apis.representer``):
    the same output as the serializers that document them, value for value and in the same key order."""

    term = hillcrest.term
    cases = [
        (
            apis.StudentOverviewSerializer,
            apis.represent_overview,
            selectors.student_overview(student=student, term=term),
        )
        for student in (hillcrest.ann, hillcrest.ben, hillcrest.cat)
    ]
    for teacher in (hillcrest.moss, hillcrest.ellis, hillcrest.okafor):
        weeks = selectors.teacher_weeks(teacher=teacher, count=8)
        data = selectors.teacher_performance(teacher=teacher, weeks=weeks)
        cases.append((apis.TeacherPerformanceSerializer, apis.represent_teacher_performance, data))
    period = selectors.health_period(schools=[hillcrest.school], term=term)
    data = selectors.school_health(schools=[hillcrest.school], term=term, date_from=period[0], date_to=period[1])
    cases.append((apis.SchoolHealthSerializer, apis.represent_school_health, data))
    for serializer, represent, data in cases:
        expected = serializer(data).data
        plain = represent(data)
        assert plain == expected
        assert JSONRenderer().render(plain) == JSONRenderer().render(expected)  # byte for byte, key order too


@pytest.mark.parametrize(
    "value",
    ["0.00", "-0.00", "7.50", "100.00", "999.99", "-12.34", "5.5", "5", "12.345", "0E-7", "1.0000", 3, "1E+2"],
)
@pytest.mark.parametrize(
    "field", [apis.percent_field("a percentage"), apis.TermOverTermSerializer().fields["average_change"]]
)
def test_a_decimal_is_represented_as_its_field_represents_it(field, value):
    """The representer's short way for decimals that have their field's places gives what the field gives."""
    value = Decimal(value) if isinstance(value, str) else value
    convert = apis._converter(field)

    assert convert(value) == field.to_representation(value)
