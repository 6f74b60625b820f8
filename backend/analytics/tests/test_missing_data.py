"""Missing data, worked out by hand: lessons without a roll call, homework overdue for grading, comments missing,
today's roll calls not taken; in a school far from UTC (Auckland), and at the edges of each rule."""

import datetime
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.models import StudentTermPerformance
from homework.models import Grade, HomeworkSubmission
from tests import factories

pytestmark = pytest.mark.django_db

MY = "/api/analytics/teacher/my-performance/"
HEALTH = "/api/analytics/admin/school-health/"
MISSING = "/api/analytics/admin/missing-data/"


def sep(day: int) -> datetime.date:
    return datetime.date(2026, 9, day)


def at(moment: datetime.datetime):
    return time_machine.travel(moment, tick=False)


# 13:00 UTC on Wednesday 23 September is 01:00 on Thursday 24 September in Auckland (UTC+12).
THURSDAY_NIGHT_UTC = datetime.datetime(2026, 9, 23, 13, 0, tzinfo=datetime.UTC)


@pytest.fixture
def kauri():
    w = SimpleNamespace()
    w.school = factories.SchoolFactory(name="Kauri", timezone="Pacific/Auckland")
    w.term = factories.TermFactory(school=w.school, name="Term 3")
    w.klass = factories.ClassGroupFactory(school=w.school)
    w.maths = factories.SubjectFactory(school=w.school, name="Maths")
    w.english = factories.SubjectFactory(school=w.school, name="English")
    w.tui = factories.TeacherFactory(school=w.school, user=factories.UserFactory(first_name="Ana", last_name="Tui"))
    w.ure = factories.TeacherFactory(school=w.school, user=factories.UserFactory(first_name="Ben", last_name="Ure"))
    factories.TeachingAssignmentFactory(teacher=w.tui, class_group=w.klass, subject=w.maths)
    factories.TeachingAssignmentFactory(teacher=w.ure, class_group=w.klass, subject=w.english)
    w.a, w.b, w.c = (factories.StudentFactory(school=w.school, class_group=w.klass) for _ in range(3))
    factories.StudentFactory(school=w.school, class_group=w.klass, active=False)
    w.admin = factories.SchoolAdminFactory(school=w.school)

    def lesson(teacher, subject, day, *, marked):
        made = factories.LessonFactory(class_group=w.klass, subject=subject, teacher=teacher, date=day)
        if marked:
            for student in (w.a, w.b, w.c):
                factories.AttendanceFactory(lesson=made, student=student)
        return made

    # Tui: Monday 14 marked, Wednesday 16 and Friday 18 not; Monday 21 marked, Thursday 24 (today in Auckland) and
    # Friday 25 (tomorrow) not. Ure: Thursday 24 marked.
    lesson(w.tui, w.maths, sep(14), marked=True)
    lesson(w.tui, w.maths, sep(16), marked=False)
    lesson(w.tui, w.maths, sep(18), marked=False)
    lesson(w.tui, w.maths, sep(21), marked=True)
    w.today_lesson = lesson(w.tui, w.maths, sep(24), marked=False)
    lesson(w.tui, w.maths, sep(25), marked=False)
    lesson(w.ure, w.english, sep(24), marked=True)

    def homework(due, graded, ungraded):
        made = factories.HomeworkFactory(
            class_group=w.klass, subject=w.maths, teacher=w.tui, assigned_date=due, due_date=due
        )
        for student in graded:
            Grade.objects.create(submission=factories.SubmissionFactory(homework=made, student=student), score=10)
        for student in ungraded:
            factories.SubmissionFactory(homework=made, student=student)
        return made

    homework(sep(8), graded=[], ungraded=[w.a])  # week of the 7th, 16 days ago
    homework(sep(15), graded=[w.a], ungraded=[w.b, w.c])  # 9 days before the 24th
    homework(sep(16), graded=[w.a, w.b], ungraded=[])  # all graded
    homework(sep(17), graded=[], ungraded=[w.a])  # 7 days before the 24th: not yet overdue
    return w


def get(api_client, user, url, **params):
    api_client.force_authenticate(user)
    response = api_client.get(url, params)
    assert response.status_code == 200, response.data
    return response.json()


def gaps(week_start, held, without, homework, submissions):
    return {
        "week_start": week_start,
        "lessons_held": held,
        "lessons_without_roll_call": without,
        "homework_overdue_ungraded": homework,
        "submissions_ungraded": submissions,
    }


def my_gaps(data):
    names = ("week_start", "lessons_held", "lessons_without_roll_call", "homework_overdue_ungraded")
    return [{name: week[name] for name in (*names, "submissions_ungraded")} for week in data["weeks"]]


def test_a_teachers_own_missing_data_by_hand_and_a_roll_call_taken(kauri, api_client):
    w = kauri
    with at(THURSDAY_NIGHT_UTC):
        data = get(api_client, w.tui.user, MY, weeks=3)
        assert my_gaps(data) == [
            gaps("2026-09-07", 0, 0, 1, 1),
            gaps("2026-09-14", 3, 2, 1, 2),  # the 16th and 18th without roll call; homework of the 15th: b, c
            gaps("2026-09-21", 2, 1, 0, 0),  # the 21st and today (the 24th); tomorrow's lesson is not held yet
        ]
        assert data["today"] == {"date": "2026-09-24", "lessons": 1, "roll_calls_not_taken": 1}
        assert data["comments"] is None
        health = get(api_client, w.admin.user, HEALTH)
        assert health["roll_calls_today"] == {"lessons": 2, "not_taken": 1}

        # The roll call of today's lesson is taken: it leaves both figures.
        api_client.force_authenticate(w.tui.user)
        response = api_client.post(
            f"/api/lessons/{w.today_lesson.pk}/roll-call/",
            {"marks": [{"student_id": student.pk, "status": "PRESENT"} for student in (w.a, w.b, w.c)]},
            format="json",
        )
        assert response.status_code == 200, response.data
        data = get(api_client, w.tui.user, MY, weeks=3)
        assert my_gaps(data)[2] == gaps("2026-09-21", 2, 0, 0, 0)
        assert data["today"] == {"date": "2026-09-24", "lessons": 1, "roll_calls_not_taken": 0}
        assert get(api_client, w.admin.user, HEALTH)["roll_calls_today"] == {"lessons": 2, "not_taken": 0}

        # A grade entered takes a submission off; the last one takes the homework off.
        Grade.objects.create(
            submission=HomeworkSubmission.objects.get(homework__due_date=sep(15), student=w.b), score=10
        )
        assert my_gaps(get(api_client, w.tui.user, MY, weeks=3))[1] == gaps("2026-09-14", 3, 2, 1, 1)
        Grade.objects.create(
            submission=HomeworkSubmission.objects.get(homework__due_date=sep(15), student=w.c), score=10
        )
        assert my_gaps(get(api_client, w.tui.user, MY, weeks=3))[1] == gaps("2026-09-14", 3, 2, 0, 0)


def test_the_school_day_not_the_utc_day_decides(kauri, api_client):
    w = kauri
    # 11:00 UTC on the 23rd is 23:00 on the 23rd in Auckland: the 24th's lessons are not held yet.
    with at(datetime.datetime(2026, 9, 23, 11, 0, tzinfo=datetime.UTC)):
        data = get(api_client, w.tui.user, MY, weeks=3)
        assert my_gaps(data)[2] == gaps("2026-09-21", 1, 0, 0, 0)
        assert data["today"] == {"date": "2026-09-23", "lessons": 0, "roll_calls_not_taken": 0}
        assert get(api_client, w.admin.user, HEALTH)["roll_calls_today"] == {"lessons": 0, "not_taken": 0}
    # 12:00 UTC on the 24th is midnight starting the 25th: the homework due on the 17th is now 8 days late.
    with at(datetime.datetime(2026, 9, 24, 12, 0, tzinfo=datetime.UTC)):
        data = get(api_client, w.tui.user, MY, weeks=3)
        assert my_gaps(data)[1] == gaps("2026-09-14", 3, 2, 2, 3)
        assert my_gaps(data)[2] == gaps("2026-09-21", 3, 2, 0, 0)  # the 25th's lesson is held now, unmarked
        assert data["today"] == {"date": "2026-09-25", "lessons": 1, "roll_calls_not_taken": 1}


def comment(student, term, subject, text):
    StudentTermPerformance.objects.update_or_create(
        student=student, term=term, subject=subject, defaults={"school": term.school, "teacher_comment": text}
    )


def test_comments_missing_in_the_last_two_weeks_of_the_term_only(kauri, api_client):
    w = kauri
    comment(w.a, w.term, w.maths, "Steady work.")
    comment(w.b, w.term, w.english, "Reads widely.")  # an English comment: Tui's Maths one is still missing
    comment(w.c, w.term, w.maths, "")  # an empty comment is missing
    term = {"id": w.term.pk, "name": "Term 3", "start_date": "2026-09-07", "end_date": "2026-12-18"}
    # The term ends on Friday 18 December; its last two weeks start on Saturday 5 December (Auckland, UTC+13).
    with at(datetime.datetime(2026, 12, 4, 10, 59, tzinfo=datetime.UTC)):  # 23:59 on the 4th
        assert get(api_client, w.tui.user, MY)["comments"] is None
    with at(datetime.datetime(2026, 12, 4, 11, 0, tzinfo=datetime.UTC)):  # midnight starting the 5th
        assert get(api_client, w.tui.user, MY)["comments"] == {"term": term, "missing": 2, "of": 3}
        assert get(api_client, w.ure.user, MY)["comments"] == {"term": term, "missing": 2, "of": 3}
        comment(w.c, w.term, w.maths, "Much improved.")
        assert get(api_client, w.tui.user, MY)["comments"] == {"term": term, "missing": 1, "of": 3}
    with at(datetime.datetime(2026, 12, 18, 10, 0, tzinfo=datetime.UTC)):  # the 18th, 23:00: the term's last day
        assert get(api_client, w.tui.user, MY)["comments"]["missing"] == 1
    with at(datetime.datetime(2026, 12, 18, 11, 0, tzinfo=datetime.UTC)):  # the 19th: the term is over
        assert get(api_client, w.tui.user, MY)["comments"] is None


def test_an_admin_sees_every_teacher_and_the_csv_says_the_same(kauri, api_client):
    w = kauri
    with at(THURSDAY_NIGHT_UTC):
        data = get(api_client, w.admin.user, MISSING, weeks=2)
        assert data["school"] == {"id": w.school.pk, "name": "Kauri"}
        assert data["today"] == "2026-09-24"
        assert data["weeks"] == ["2026-09-14", "2026-09-21"]
        assert data["roll_calls_today"] == {"lessons": 2, "not_taken": 1}
        tui, ure = data["teachers"]
        assert tui["teacher"] == {"id": w.tui.pk, "name": "Ana Tui"}
        assert tui["weeks"] == [gaps("2026-09-14", 3, 2, 1, 2), gaps("2026-09-21", 2, 1, 0, 0)]
        assert tui["totals"] == {
            "lessons_held": 5,
            "lessons_without_roll_call": 3,
            "homework_overdue_ungraded": 1,
            "submissions_ungraded": 2,
        }
        assert tui["today"] == {"lessons": 1, "roll_calls_not_taken": 1}
        assert ure["teacher"]["name"] == "Ben Ure"
        assert ure["weeks"] == [gaps("2026-09-14", 0, 0, 0, 0), gaps("2026-09-21", 1, 0, 0, 0)]
        assert ure["today"] == {"lessons": 1, "roll_calls_not_taken": 0}

        response = api_client.get(MISSING, {"weeks": 2, "format": "csv"})
        assert response.status_code == 200
        lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
        assert lines[0] == (
            "teacher_id,teacher,lessons_held,lessons_without_roll_call,homework_overdue_ungraded,submissions_ungraded,"
            "lessons_today,roll_calls_not_taken_today,comments_missing,comments_expected"
        )
        assert lines[1:] == [f"{w.tui.pk},Ana Tui,5,3,1,2,1,1,,", f"{w.ure.pk},Ben Ure,1,0,0,0,1,0,,"]


def test_bad_input_is_a_400_naming_the_field(kauri, api_client):
    w = kauri
    api_client.force_authenticate(w.admin.user)
    for params, field in (({"weeks": 0}, "weeks"), ({"weeks": "x"}, "weeks"), ({"to": "2026-13-01"}, "to")):
        response = api_client.get(MISSING, params)
        assert response.status_code == 400, params
        assert field in response.json(), params
    superuser = factories.UserFactory(is_superuser=True, is_staff=True)
    api_client.force_authenticate(superuser)
    response = api_client.get(MISSING)
    assert response.status_code == 400
    assert "school" in response.json()
    assert get(api_client, superuser, MISSING, school=w.school.pk)["school"]["name"] == "Kauri"


def build(teachers: int, students: int):
    """A school in its last two weeks of term (so the comments are counted too) with teachers and students."""
    school = factories.SchoolFactory(timezone="UTC")
    factories.TermFactory(school=school)
    klass = factories.ClassGroupFactory(school=school)
    pupils = factories.StudentFactory.create_batch(students, school=school, class_group=klass)
    for _ in range(teachers):
        assignment = factories.TeachingAssignmentFactory(teacher__school=school, class_group=klass)
        for day in range(0, 98, 3):
            lesson = factories.LessonFactory(
                class_group=klass,
                subject=assignment.subject,
                teacher=assignment.teacher,
                date=factories.TERM_START + datetime.timedelta(days=day),
            )
            if day % 2:
                factories.AttendanceFactory(lesson=lesson, student=pupils[0])
        due = datetime.date(2026, 11, 30)  # ten days before the day measured: overdue for grading
        homework = factories.HomeworkFactory(
            class_group=klass, subject=assignment.subject, teacher=assignment.teacher, assigned_date=due, due_date=due
        )
        for pupil in pupils:
            factories.SubmissionFactory(homework=homework, student=pupil)
    admin = factories.SchoolAdminFactory(school=school)
    return admin.user, assignment.teacher


def count_queries(api_client, user, url, **params) -> int:
    # A fresh user object each time: no profile look-up cached from an earlier request.
    api_client.force_authenticate(type(user).objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get(url, params)
    assert response.status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_teachers_students_or_weeks(api_client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    small, big = build(1, 2), build(4, 12)
    with at(datetime.datetime(2026, 12, 10, 9, 0, tzinfo=datetime.UTC)):
        count_queries(api_client, small[0], MISSING)  # warm-up
        counts = {
            (name, weeks): count_queries(api_client, admin, MISSING, weeks=weeks)
            for name, (admin, _) in (("small", small), ("big", big))
            for weeks in (2, 12)
        }
        mine = {
            (name, weeks): count_queries(api_client, teacher.user, MY, weeks=weeks)
            for name, (_, teacher) in (("small", small), ("big", big))
            for weeks in (2, 12)
        }
        assert len(set(counts.values())) == 1, counts
        assert len(set(mine.values())) == 1, mine
        # Role, school, teachers, lessons, homework, the comments' term, the comments.
        assert next(iter(counts.values())) <= 7, counts
        data = get(api_client, big[0], MISSING, weeks=12)
        assert all(teacher["comments"]["of"] == 12 for teacher in data["teachers"])
        assert sum(teacher["totals"]["submissions_ungraded"] for teacher in data["teachers"]) == 4 * 12


def test_the_comment_term_is_the_same_from_the_schools_terms_read_already(kauri):
    from analytics.missing import comment_term

    w = kauri
    spring = factories.TermFactory(
        school=w.school, name="Term 1", start_date=sep(1).replace(month=2), end_date=sep(1).replace(month=4)
    )
    terms = list(w.school.terms.all())
    # Term 3 runs 7 September to 18 December: comments are asked for from 5 December to the 18th; Term 1 ends 1 April.
    days = {
        datetime.date(2026, 12, 4): None,
        datetime.date(2026, 12, 5): w.term.pk,
        datetime.date(2026, 12, 18): w.term.pk,
        datetime.date(2026, 12, 19): None,
        datetime.date(2026, 3, 19): spring.pk,
        datetime.date(2026, 3, 18): None,
        sep(24): None,
    }
    for day, expected in days.items():
        with CaptureQueriesContext(connection) as queries:
            given = comment_term(school=w.school, today=day, terms=terms)
        assert not queries.captured_queries
        read = comment_term(school=w.school, today=day)
        assert (given and given.pk, read and read.pk) == (expected, expected), day
