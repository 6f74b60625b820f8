"""School health's other long lists are paged too, so the page stays the same size as the school grows: the
students below 90% attendance 50 a page (lowest first, as the CSV lists them all) and the teachers' missing data
20 a page (by name, as the API lists them all), each page's figures those of the API's rows for the same people."""

import html as html_module
import re
from decimal import Decimal

import pytest
from django.test import Client

from analytics.models import StudentTermAttendance
from dashboards.tests.test_at_risk_paging import pager
from dashboards.tests.test_pages import chart_specs
from tests.factories import ClassGroupFactory, StudentFactory, TeacherFactory, UserFactory

pytestmark = pytest.mark.django_db

EXTRA_BELOW = 60
EXTRA_TEACHERS = 30


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def row_ids(html: str, table: str, attribute: str) -> list[int]:
    body = re.search(rf'<table class="{table}">(.*?)</table>', html, re.S)[1]
    return [int(found) for found in re.findall(rf'<tr {attribute}="(\d+)">', body)]


@pytest.fixture
def low(hillcrest):
    """The hand-worked school with 60 more students below 90% in Grade 8B: percentages 60.00 to 89.50 by steps of
    0.50, each shared by two students whose last names run against their ids (so the order is not the ids')."""
    w = hillcrest
    klass = ClassGroupFactory(school=w.school, name="Grade 8B", grade_level=8)
    w.low = []
    for i in range(EXTRA_BELOW):
        student = StudentFactory(
            school=w.school, class_group=klass, first_name="Pupil", last_name=f"L{EXTRA_BELOW - i:03d}"
        )
        percentage = Decimal("60.00") + Decimal("0.50") * (i // 2)
        StudentTermAttendance.objects.update_or_create(
            student=student,
            term=w.term,
            defaults={
                "school": w.school,
                "attendance_percentage": percentage,
                "lessons_attended": 2 * i,
                "lessons_counted": 200,
                "days_absent": i,
            },
        )
        w.low.append((percentage, student))
    return w


def expected_below(w) -> list[int]:
    """Lowest first, then last name: worked out here from how the students were made. The hand-worked school's
    own students below 90% (Ben and Cat, at 66.67% and 50.00%, see the school health test) join the list."""
    hand = [
        (row.attendance_percentage, row.student.last_name, row.student.first_name, row.student_id)
        for row in StudentTermAttendance.objects.filter(term=w.term, attendance_percentage__lt=90).exclude(
            student__in=[student for _, student in w.low]
        )
    ]
    extra = [(percentage, student.last_name, student.first_name, student.pk) for percentage, student in w.low]
    return [key[3] for key in sorted(hand + extra)]


def test_the_students_below_90_are_paged_50_lowest_first(low):
    w = low
    client = signed_in(w.admin.user)
    order = expected_below(w)
    assert len(order) == EXTRA_BELOW + 2

    first = client.get(f"/schools/{w.school.pk}/health/?term={w.term.pk}").content.decode()
    assert f"Students below 90% attendance this term ({EXTRA_BELOW + 2})" in first
    assert row_ids(first, "below", "data-student") == order[:50]
    nav = pager(first, "Students below 90%", "below-shown")
    assert nav == {"shown": f"1–50 of {EXTRA_BELOW + 2}", "next": f"?term={w.term.pk}&below_page=2#below-h"}

    second = client.get(f"/schools/{w.school.pk}/health/{nav['next'].split('#')[0]}").content.decode()
    assert row_ids(second, "below", "data-student") == order[50:]
    assert pager(second, "Students below 90%", "below-shown") == {
        "shown": f"51–{EXTRA_BELOW + 2} of {EXTRA_BELOW + 2}",
        "prev": f"?term={w.term.pk}#below-h",
    }
    # The other lists stay on their first page.
    assert row_ids(second, "missing", "data-teacher") == row_ids(first, "missing", "data-teacher")


def test_the_below_csv_still_has_every_student(low):
    w = low
    client = signed_in(w.admin.user)
    response = client.get(f"/schools/{w.school.pk}/health/?term={w.term.pk}&below_page=2&format=csv&table=below")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    ids = [int(line.split(",")[0]) for line in body.splitlines()[1:]]
    assert ids == expected_below(w)


@pytest.fixture
def staffed(hillcrest):
    """The hand-worked school's three teachers (Eve Ellis, Mia Moss, Obi Okafor) and 30 more, Tess T01..T30,
    made in reverse name order."""
    w = hillcrest
    w.extra_teachers = [
        TeacherFactory(school=w.school, user=UserFactory(first_name="Tess", last_name=f"T{EXTRA_TEACHERS - i:02d}"))
        for i in range(EXTRA_TEACHERS)
    ]
    return w


def expected_teachers(w) -> list[int]:
    by_name = sorted(w.extra_teachers, key=lambda teacher: teacher.user.last_name)
    return [w.ellis.pk, w.moss.pk, w.okafor.pk] + [teacher.pk for teacher in by_name]


def test_the_missing_data_is_paged_20_teachers_by_name_with_the_apis_figures(staffed, api_client):
    w = staffed
    client = signed_in(w.admin.user)
    order = expected_teachers(w)
    api_client.force_authenticate(w.admin.user)
    api = {
        row["teacher"]["id"]: row
        for row in api_client.get("/api/analytics/admin/missing-data/", {"weeks": 4}).json()["teachers"]
    }
    assert list(api) == order

    first = client.get(f"/schools/{w.school.pk}/health/").content.decode()
    assert row_ids(first, "missing", "data-teacher") == order[:20]
    nav = pager(first, "Not entered yet, by teacher", "missing-shown")
    assert nav == {"shown": "1–20 of 33", "next": "?missing_page=2#missing-h"}
    second = client.get(f"/schools/{w.school.pk}/health/?missing_page=2").content.decode()
    assert row_ids(second, "missing", "data-teacher") == order[20:]
    assert pager(second, "Not entered yet, by teacher", "missing-shown") == {
        "shown": "21–33 of 33",
        "prev": f"/schools/{w.school.pk}/health/#missing-h",
    }

    # Each teacher's figures on the page are the API's: Mia Moss held lessons without roll call or not, Tess none.
    for html, teacher_id in ((first, w.moss.pk), (first, w.ellis.pk), (second, order[-1])):
        row = re.search(rf'<tr data-teacher="{teacher_id}">(.*?)</tr>', html, re.S)[1]
        totals, today = api[teacher_id]["totals"], api[teacher_id]["today"]
        assert re.search(r'data-figure="without-roll-call">(\d+)<', row)[1] == str(totals["lessons_without_roll_call"])
        assert re.search(r'data-figure="homework-ungraded">(\d+)<', row)[1] == str(totals["homework_overdue_ungraded"])
        shown_today = html_module.unescape(re.search(r'data-figure="roll-calls-today">([^<]+)<', row)[1])
        assert shown_today == f"{today['roll_calls_not_taken']} of {today['lessons']}"
    moss = re.search(rf'<tr data-teacher="{w.moss.pk}">(.*?)</tr>', first, re.S)[1]
    assert re.search(r"<td>(\d+)</td>", moss)[1] == str(api[w.moss.pk]["totals"]["lessons_held"])


@pytest.mark.parametrize("param", ["below_page", "missing_page", "classes_page"])
@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_page_number_that_is_not_one_or_more_is_a_400_naming_it(hillcrest, param, value):
    w = hillcrest
    response = signed_in(w.admin.user).get(f"/schools/{w.school.pk}/health/?{param}={value}")
    assert response.status_code == 400
    assert param in response.content.decode()


def test_a_page_past_the_end_shows_the_last_page(staffed):
    w = staffed
    html = signed_in(w.admin.user).get(f"/schools/{w.school.pk}/health/?missing_page=9").content.decode()
    assert row_ids(html, "missing", "data-teacher") == expected_teachers(w)[20:]


@pytest.fixture
def many_classes(hillcrest):
    """The hand-worked school's Grade 7A and 24 empty classes more: Grade 8 C01..C12 and Grade 6 C13..C24 (made in
    this order, so by grade level then name the Grade 6 ones come first)."""
    w = hillcrest
    w.more_classes = [ClassGroupFactory(school=w.school, name=f"C{n:02d}", grade_level=8) for n in range(12, 0, -1)]
    w.more_classes += [ClassGroupFactory(school=w.school, name=f"C{n:02d}", grade_level=6) for n in range(24, 12, -1)]
    return w


def test_the_classes_compared_are_paged_20_with_the_chart_saying_which(many_classes):
    w = many_classes
    sixth = sorted((k for k in w.more_classes if k.grade_level == 6), key=lambda k: k.name)
    eighth = sorted((k for k in w.more_classes if k.grade_level == 8), key=lambda k: k.name)
    order = [k.pk for k in sixth] + [w.klass.pk] + [k.pk for k in eighth]
    client = signed_in(w.admin.user)

    first = client.get(f"/schools/{w.school.pk}/health/?term={w.term.pk}").content.decode()
    specs = chart_specs(first)
    assert [row[0] for row in specs["chart-classes"]["table"]["rows"]] == [f"C{n:02d}" for n in range(13, 25)] + [
        "Grade 7A"
    ] + [f"C{n:02d}" for n in range(1, 8)]
    # Grade 7A's figures on its page are those of the single-class school health test (test_pages).
    assert ["Grade 7A", 3, "61.90", "74.03"] in specs["chart-classes"]["table"]["rows"]
    assert "Classes compared, 1–20 of 25" in first
    links = re.search(r'<ul class="class-links">(.*?)</ul>', first, re.S)[1]
    assert [int(pk) for pk in re.findall(r'href="/classes/(\d+)/"', links)] == order[:20]
    nav = pager(first, "Classes", "classes-shown")
    assert nav == {"shown": "1–20 of 25", "next": f"?term={w.term.pk}&classes_page=2#classes-h"}

    second = client.get(f"/schools/{w.school.pk}/health/?term={w.term.pk}&classes_page=2").content.decode()
    assert [row[0] for row in chart_specs(second)["chart-classes"]["table"]["rows"]] == [
        f"C{n:02d}" for n in range(8, 13)
    ]
    assert "Classes compared, 21–25 of 25" in second
    # The CSV of the classes compared has every class.
    response = client.get(f"/schools/{w.school.pk}/health/?term={w.term.pk}&classes_page=2&format=csv&table=classes")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert len(body.splitlines()) == 1 + 25


def test_a_school_with_one_page_of_classes_has_the_plain_chart_title(hillcrest):
    w = hillcrest
    html = signed_in(w.admin.user).get(f"/schools/{w.school.pk}/health/").content.decode()
    assert "<figcaption>Classes compared</figcaption>" in html
    assert pager(html, "Classes", "classes-shown") == {"shown": "1–1 of 1"}
