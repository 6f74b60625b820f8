"""Progress reads, by hand: the overview's series and term-over-term change, the most improved students."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.models import StudentStandingSnapshot, StudentTermStanding
from tests import factories

pytestmark = pytest.mark.django_db

IMPROVED = "/api/analytics/students/most-improved/"
EARLY, MIDDLE, LATEST = datetime.date(2026, 9, 8), datetime.date(2026, 9, 20), datetime.date(2026, 10, 6)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 10, 7, 9, 0, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def oaks():
    w = SimpleNamespace()
    w.school = factories.SchoolFactory(name="Oaks")
    w.earlier = factories.TermFactory(
        school=w.school, name="Summer", start_date=datetime.date(2026, 5, 4), end_date=datetime.date(2026, 7, 31)
    )
    w.term = factories.TermFactory(school=w.school, name="Autumn")
    w.k1, w.k2 = (factories.ClassGroupFactory(school=w.school, name=name) for name in ("7A", "7B"))
    w.maths = factories.SubjectFactory(school=w.school, name="Maths")
    w.admin = factories.SchoolAdminFactory(school=w.school)
    w.teacher_k2 = factories.TeachingAssignmentFactory(teacher__school=w.school, class_group=w.k2, subject=w.maths)
    w.teacher_k2 = w.teacher_k2.teacher

    def pupil(first, last, klass):
        return factories.StudentFactory(school=w.school, class_group=klass, first_name=first, last_name=last)

    w.a, w.b, w.c = pupil("Amy", "Abbot", w.k1), pupil("Bo", "Birch", w.k1), pupil("Cy", "Cole", w.k1)
    w.d, w.e = pupil("Di", "Dunn", w.k2), pupil("Ed", "Eve", w.k2)
    overall = {
        w.a: {EARLY: "60.00", MIDDLE: "65.00", LATEST: "70.50"},  # +10.50
        w.b: {EARLY: "50.00", LATEST: "61.00"},  # +11.00
        w.c: {EARLY: "80.00", LATEST: "75.00"},  # fell: not listed
        w.d: {EARLY: "40.00", LATEST: "50.50"},  # +10.50: ties with Abbot, after her by name
        w.e: {LATEST: "90.00"},  # no snapshot 28 days back
    }
    rows = [
        StudentStandingSnapshot(
            student=student, term=w.term, school=w.school, date=day, average=Decimal(value), rank=1, rank_of=3
        )
        for student, days in overall.items()
        for day, value in days.items()
    ]
    # A subject's rise does not count: the overall average decides.
    rows += [
        StudentStandingSnapshot(
            student=w.c, term=w.term, school=w.school, date=day, subject=w.maths, average=Decimal(value)
        )
        for day, value in ((EARLY, "10.00"), (LATEST, "99.00"))
    ]
    StudentStandingSnapshot.objects.bulk_create(rows)
    return w


def get(api_client, user, url, **params):
    api_client.force_authenticate(user)
    response = api_client.get(url, params)
    assert response.status_code == 200, response.data
    return response.json()


def names_and_changes(data):
    return [(row["student"]["name"], row["average_from"], row["average_to"], row["change"]) for row in data["students"]]


def test_most_improved_of_the_school_of_a_class_and_of_a_teachers_classes(oaks, api_client):
    w = oaks
    data = get(api_client, w.admin.user, IMPROVED)
    assert data["term"] == {"id": w.term.pk, "name": "Autumn"}
    # The latest snapshot is 6 October; 28 days before is 8 September (the 20th is too recent).
    assert (data["from"], data["to"]) == ("2026-09-08", "2026-10-06")
    assert names_and_changes(data) == [
        ("Bo Birch", "50.00", "61.00", "11.00"),
        ("Amy Abbot", "60.00", "70.50", "10.50"),
        ("Di Dunn", "40.00", "50.50", "10.50"),
    ]
    assert data["students"][0]["class_group"] == {"id": w.k1.pk, "name": "7A"}

    assert [row[0] for row in names_and_changes(get(api_client, w.admin.user, IMPROVED, class_group=w.k1.pk))] == [
        "Bo Birch",
        "Amy Abbot",
    ]
    assert [row[0] for row in names_and_changes(get(api_client, w.admin.user, IMPROVED, limit=1))] == ["Bo Birch"]
    # A teacher of 7B only: their students only.
    assert [row[0] for row in names_and_changes(get(api_client, w.teacher_k2.user, IMPROVED))] == ["Di Dunn"]


def test_most_improved_without_a_snapshot_four_weeks_back_is_empty(oaks, api_client):
    w = oaks
    StudentStandingSnapshot.objects.filter(date=EARLY).delete()
    data = get(api_client, w.admin.user, IMPROVED)
    assert (data["from"], data["to"], data["students"]) == (None, "2026-10-06", [])


def test_most_improved_bad_input(oaks, api_client):
    w = oaks
    api_client.force_authenticate(w.teacher_k2.user)
    for params, field in (({"class_group": w.k1.pk}, "class_group"), ({"limit": 0}, "limit"), ({"term": 0}, "term")):
        response = api_client.get(IMPROVED, params)
        assert response.status_code == 400, params
        assert field in response.json(), params
    api_client.force_authenticate(w.admin.user)
    response = api_client.get(IMPROVED, {"term": factories.TermFactory().pk})  # another school's term
    assert response.status_code == 400
    assert "term" in response.json()


def test_overview_has_the_series_and_the_change_from_the_previous_term(oaks, api_client):
    w = oaks
    StudentStandingSnapshot.objects.create(
        student=w.a, term=w.term, school=w.school, date=EARLY, subject=w.maths, average=Decimal("55.00"), rank=2
    )
    StudentTermStanding.objects.create(
        student=w.a, term=w.earlier, school=w.school, overall_average=Decimal("65.25"), rank=2, rank_of=3
    )
    StudentTermStanding.objects.create(
        student=w.a, term=w.term, school=w.school, overall_average=Decimal("70.50"), rank=1, rank_of=3
    )
    data = get(api_client, w.admin.user, f"/api/analytics/student/{w.a.pk}/overview/")
    overall, maths = {"subject_id": None, "subject": None}, {"subject_id": w.maths.pk, "subject": "Maths"}
    assert data["progress"] == [
        {"date": "2026-09-08", **overall, "average": "60.00", "rank": 1, "rank_of": 3},
        {"date": "2026-09-08", **maths, "average": "55.00", "rank": 2, "rank_of": None},
        {"date": "2026-09-20", **overall, "average": "65.00", "rank": 1, "rank_of": 3},
        {"date": "2026-10-06", **overall, "average": "70.50", "rank": 1, "rank_of": 3},
    ]  # fmt: skip
    assert data["term_over_term"] == {
        "previous_term": {"id": w.earlier.pk, "name": "Summer"},
        "previous_average": "65.25",
        "previous_rank": 2,
        "previous_rank_of": 3,
        "average": "70.50",
        "rank": 1,
        "rank_of": 3,
        "average_change": "5.25",
    }
    # One subject: its series only; a period: its dates only.
    only_maths = get(api_client, w.admin.user, f"/api/analytics/student/{w.a.pk}/overview/", subject=w.maths.pk)
    assert [row["subject"] for row in only_maths["progress"]] == ["Maths"]
    window = get(api_client, w.admin.user, f"/api/analytics/student/{w.a.pk}/overview/", **{"from": "2026-09-15"})
    assert [row["date"] for row in window["progress"]] == ["2026-09-20", "2026-10-06"]
    # The earlier term's own overview has no term before it.
    earlier = get(api_client, w.admin.user, f"/api/analytics/student/{w.a.pk}/overview/", term=w.earlier.pk)
    assert earlier["term_over_term"] is None
    assert earlier["progress"] == []

    response = api_client.get(f"/api/analytics/student/{w.a.pk}/overview/", {"format": "csv", "table": "progress"})
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "date,subject_id,subject,average,rank,rank_of"
    assert lines[1:3] == ["2026-09-08,,,60.00,1,3", f"2026-09-08,{w.maths.pk},Maths,55.00,2,"]


def test_the_term_over_term_costs_no_query_of_its_own(oaks, api_client, settings):
    """This term's standing and the previous term's are read together: a term with a term before it costs the
    overview as many queries as the first term, which has none."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    w = oaks
    for term, average in ((w.earlier, "65.25"), (w.term, "70.50")):
        StudentTermStanding.objects.create(
            student=w.a, term=term, school=w.school, overall_average=Decimal(average), rank=1, rank_of=3
        )

    def count(term) -> tuple[int, bool]:
        api_client.force_authenticate(type(w.admin.user).objects.get(pk=w.admin.user.pk))
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get(f"/api/analytics/student/{w.a.pk}/overview/", {"term": term.pk})
        assert response.status_code == 200
        return len(queries), response.json()["term_over_term"] is not None

    first, first_compared = count(w.earlier)
    assert (first_compared, count(w.term)) == (False, (first, True))


def test_most_improved_query_count_does_not_grow_with_students(oaks, api_client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    w = oaks

    def count() -> int:
        api_client.force_authenticate(type(w.admin.user).objects.get(pk=w.admin.user.pk))
        with CaptureQueriesContext(connection) as queries:
            assert api_client.get(IMPROVED).status_code == 200
        return len(queries)

    before = count()
    more = factories.StudentFactory.create_batch(20, school=w.school, class_group=w.k2)
    StudentStandingSnapshot.objects.bulk_create(
        StudentStandingSnapshot(student=student, term=w.term, school=w.school, date=day, average=Decimal(value))
        for n, student in enumerate(more)
        for day, value in ((EARLY, "30.00"), (LATEST, f"{31 + n}.00"))
    )
    assert count() == before
    assert len(get(api_client, w.admin.user, IMPROVED)["students"]) == 10


def test_the_previous_term_is_the_same_from_the_schools_terms_read_already(oaks):
    from analytics.progress import previous_term

    w = oaks
    # Spring ended before Summer: Autumn's previous term is Summer (the later end), Summer's is Spring, Spring's none.
    spring = factories.TermFactory(
        school=w.school, name="Spring", start_date=datetime.date(2026, 1, 5), end_date=datetime.date(2026, 3, 27)
    )
    factories.TermFactory(school=factories.SchoolFactory(name="Elms"), name="Elms summer")  # another school's
    terms = list(w.school.terms.all())
    expected = {w.term.pk: w.earlier.pk, w.earlier.pk: spring.pk, spring.pk: None}
    for term in terms:
        with CaptureQueriesContext(connection) as queries:
            given = previous_term(term=term, terms=terms)
        assert not queries.captured_queries
        read = previous_term(term=term)
        assert (given and given.pk, read and read.pk) == (expected[term.pk], expected[term.pk]), term.name


def test_the_student_is_read_with_the_schools_terms_in_one_query(oaks):
    from analytics.selectors import student_with_terms
    from schools.models import AcademicTerm, Student

    w = oaks
    in_scope = Student.objects.filter(school=w.school)
    with CaptureQueriesContext(connection) as queries:
        student, terms = student_with_terms(students=in_scope, student_id=w.a.pk)
        assert (student.school.name, student.class_group.name) == ("Oaks", "7A")
    assert len(queries) == 1
    assert student == w.a
    assert [(t.pk, t.school_id, t.name, t.start_date, t.end_date) for t in terms] == [
        (t.pk, t.school_id, t.name, t.start_date, t.end_date) for t in AcademicTerm.objects.filter(school=w.school)
    ]
    assert [t.name for t in terms] == ["Summer", "Autumn"]
    # A school without terms: the student, no term; a student outside the scope: none.
    lone = factories.StudentFactory(school=factories.SchoolFactory(name="Elms"))
    assert student_with_terms(students=Student.objects.all(), student_id=lone.pk) == (lone, [])
    assert student_with_terms(students=in_scope, student_id=lone.pk) is None
