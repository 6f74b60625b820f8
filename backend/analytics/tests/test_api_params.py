"""Bad query parameters of the analytics endpoints: 400 naming the parameter (404 for ids in the path), never 500."""

import datetime

import pytest

from analytics import selectors
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(school, class_group, teacher, school_admin):
    student = factories.StudentFactory(school=school, class_group=class_group)
    other_school = factories.SchoolFactory()
    return {
        "school": school,
        "term": school.terms.get(),
        "student": student,
        "teacher": teacher,
        "admin": school_admin,
        "subject": teacher.assignments.get().subject,
        "other_school": other_school,
        "other_term": factories.TermFactory(school=other_school),
        "other_subject": factories.SubjectFactory(school=other_school),
        "superuser": factories.UserFactory(is_superuser=True),
    }


def get(api_client, user, url):
    api_client.force_authenticate(user)
    return api_client.get(url)


def assert_names(response, parameter: str):
    assert response.status_code == 400, (response.status_code, getattr(response, "data", None))
    assert parameter in response.data, response.data
    assert all(str(message) for message in response.data[parameter])


# --- student overview ---------------------------------------------------------------------------

OVERVIEW_BAD = [
    ("term=999999", "term"),
    ("term={other_term}", "term"),
    ("term=abc", "term"),
    ("term=0", "term"),
    ("term=-3", "term"),
    ("term=1.5", "term"),
    ("subject={other_subject}", "subject"),
    ("subject=999999", "subject"),
    ("subject=maths", "subject"),
    ("from=2026-09-20&to=2026-09-10", "from"),
    ("from=2026-13-01", "from"),
    ("from=2026-02-30", "from"),
    ("to=yesterday", "to"),
    ("to=2026/09/10", "to"),
    ("from=10000-01-01", "from"),
]


@pytest.mark.parametrize(("query", "parameter"), OVERVIEW_BAD)
def test_student_overview_rejects_a_bad_parameter(api_client, setup, query, parameter):
    query = query.format(other_term=setup["other_term"].pk, other_subject=setup["other_subject"].pk)

    response = get(api_client, setup["admin"].user, f"/api/analytics/student/{setup['student'].pk}/overview/?{query}")

    assert_names(response, parameter)


def test_the_term_of_another_school_says_so_without_telling_more(api_client, setup):
    response = get(
        api_client,
        setup["admin"].user,
        f"/api/analytics/student/{setup['student'].pk}/overview/?term={setup['other_term'].pk}",
    )

    assert response.data == {"term": ["No such term at the student's school."]}


@pytest.mark.parametrize("path_id", ["abc", "1.5", "-1", "0", "99999999999999999999999", "%20", "1e3"])
def test_a_student_id_that_is_not_a_known_number_is_404(api_client, setup, path_id):
    response = get(api_client, setup["superuser"], f"/api/analytics/student/{path_id}/overview/")

    assert response.status_code == 404


def test_a_huge_student_id_is_404_not_a_database_error(api_client, setup):
    """Larger than any integer column: the lookup must fail cleanly (PostgreSQL bigint overflow, SQLite too)."""
    response = get(api_client, setup["superuser"], f"/api/analytics/student/{2**63}/overview/")

    assert response.status_code == 404


def test_good_parameters_together_are_accepted(api_client, setup):
    query = f"term={setup['term'].pk}&subject={setup['subject'].pk}&from=2026-09-07&to=2026-09-07"

    response = get(api_client, setup["admin"].user, f"/api/analytics/student/{setup['student'].pk}/overview/?{query}")

    assert response.status_code == 200, response.data
    assert response.data["period"] == {"from": "2026-09-07", "to": "2026-09-07"}


def test_overview_of_a_school_without_terms(api_client):
    """No term at all: no default period either; the overview is empty, not an error."""
    school = factories.SchoolFactory()
    student = factories.StudentFactory(school=school)
    admin = factories.SchoolAdminFactory(school=school)

    response = get(api_client, admin.user, f"/api/analytics/student/{student.pk}/overview/")

    assert response.status_code == 200, response.data
    assert response.data["term"] is None
    assert response.data["subjects"] == []


def test_overview_of_a_school_without_terms_but_with_a_period(api_client):
    school = factories.SchoolFactory()
    student = factories.StudentFactory(school=school)
    admin = factories.SchoolAdminFactory(school=school)

    response = get(
        api_client, admin.user, f"/api/analytics/student/{student.pk}/overview/?from=2026-09-01&to=2026-09-30"
    )

    assert response.status_code == 200, response.data
    assert response.data["term"] is None


# --- teacher performance ------------------------------------------------------------------------

PERFORMANCE_BAD = [
    ("weeks=0", "weeks"),
    ("weeks=-1", "weeks"),
    ("weeks=1000", "weeks"),
    ("weeks=abc", "weeks"),
    ("weeks=2.5", "weeks"),
    ("from=2026-09-20&to=2026-09-10", "from"),
    ("from=2020-01-01&to=2026-01-01", "to"),
    # Only `from`: the period runs to today, far more than 104 weeks.
    ("from=2000-01-01", "from"),
    ("from=0001-01-01", "from"),
    ("from=not-a-date", "from"),
    ("to=2026-09-31", "to"),
]


@pytest.mark.parametrize(("query", "parameter"), PERFORMANCE_BAD)
def test_my_performance_rejects_a_bad_parameter(api_client, setup, query, parameter):
    response = get(api_client, setup["teacher"].user, f"/api/analytics/teacher/my-performance/?{query}")

    assert_names(response, parameter)


@pytest.mark.parametrize(
    ("query", "parameters"),
    [("to=9999-12-31", {"to"}), ("to=0001-01-10", {"to"}), ("from=0001-01-01&to=0001-01-02", {"from", "to"})],
)
def test_my_performance_at_the_ends_of_the_calendar_is_refused_naming_the_date(api_client, setup, query, parameters):
    """Outside the dates a query may ask about (docs/security.md, "Input bounds")."""
    response = get(api_client, setup["teacher"].user, f"/api/analytics/teacher/my-performance/?{query}")

    assert response.status_code == 400, response.content
    assert set(response.data) == parameters


@pytest.mark.parametrize(
    ("date_from", "date_to", "expected"),
    [
        (None, datetime.date.max, [datetime.date(9999, 11, 8) + datetime.timedelta(weeks=n) for n in range(8)]),
        (None, datetime.date(1, 1, 10), [datetime.date(1, 1, 1), datetime.date(1, 1, 8)]),
        (datetime.date.min, datetime.date(1, 1, 2), [datetime.date(1, 1, 1)]),
    ],
)
def test_teacher_weeks_at_the_ends_of_the_calendar_do_not_overflow(setup, date_from, date_to, expected):
    """Counting weeks from dates near date.min / date.max (a caller other than the API may pass them)."""
    weeks = selectors.teacher_weeks(teacher=setup["teacher"], count=8, date_from=date_from, date_to=date_to)

    assert weeks == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/api/analytics/student/{student}/overview/?from=&to=", {"from": "2026-09-07", "to": "2026-12-18"}),
        ("/api/analytics/admin/school-health/?from=&school=", {"from": "2026-09-07", "to": "2026-12-18"}),
    ],
)
def test_an_empty_parameter_counts_as_not_given(api_client, setup, url, expected, time_machine):
    time_machine.move_to("2026-09-23 08:00:00+00:00")

    response = get(api_client, setup["admin"].user, url.format(student=setup["student"].pk))

    assert response.status_code == 200, response.data
    assert response.data["period"] == expected


def test_an_empty_weeks_counts_as_not_given(api_client, setup):
    response = get(api_client, setup["teacher"].user, "/api/analytics/teacher/my-performance/?weeks=")

    assert response.status_code == 200, response.data
    assert len(response.data["weeks"]) == 8


@pytest.mark.parametrize("weeks", [1, 104])
def test_my_performance_accepts_the_ends_of_the_weeks_range(api_client, setup, weeks):
    response = get(api_client, setup["teacher"].user, f"/api/analytics/teacher/my-performance/?weeks={weeks}")

    assert response.status_code == 200, response.data
    assert len(response.data["weeks"]) == weeks


# --- school health ------------------------------------------------------------------------------

HEALTH_BAD = [
    ("school=abc", "school"),
    ("school=0", "school"),
    ("school=-5", "school"),
    ("term=abc", "term"),
    ("term=999999", "term"),
    ("term={other_term}", "term"),
    ("from=2026-09-20&to=2026-09-10", "from"),
    ("from=31/12/2026", "from"),
    ("to=2026-00-10", "to"),
]


@pytest.mark.parametrize(("query", "parameter"), HEALTH_BAD)
def test_school_health_rejects_a_bad_parameter(api_client, setup, query, parameter):
    query = query.format(other_term=setup["other_term"].pk)

    response = get(api_client, setup["admin"].user, f"/api/analytics/admin/school-health/?{query}")

    assert_names(response, parameter)


def test_school_health_a_term_of_another_school_than_asked(api_client, setup):
    query = f"school={setup['school'].pk}&term={setup['other_term'].pk}"

    response = get(api_client, setup["superuser"], f"/api/analytics/admin/school-health/?{query}")

    assert_names(response, "term")


def test_school_health_a_term_without_a_school_across_all_schools(api_client, setup):
    response = get(api_client, setup["superuser"], f"/api/analytics/admin/school-health/?term={setup['term'].pk}")

    assert_names(response, "term")


def test_school_health_a_term_without_a_school_for_an_admin_is_their_schools(api_client, setup):
    """An admin has one school: their term needs no school beside it."""
    response = get(api_client, setup["admin"].user, f"/api/analytics/admin/school-health/?term={setup['term'].pk}")

    assert response.status_code == 200, response.data
    assert response.data["term"]["id"] == setup["term"].pk


def test_school_health_of_an_unknown_school_is_404(api_client, setup):
    response = get(api_client, setup["superuser"], "/api/analytics/admin/school-health/?school=999999")

    assert response.status_code == 404


@pytest.mark.parametrize("query", ["from=0001-01-01", "to=9999-12-31", "from=9999-12-31", "to=0001-01-01"])
def test_school_health_at_the_ends_of_the_calendar_is_not_an_error(api_client, setup, query):
    response = get(api_client, setup["admin"].user, f"/api/analytics/admin/school-health/?{query}")

    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert set(response.data) <= {"from", "to"}


def test_school_health_of_schools_without_terms(api_client):
    """No term anywhere: the default period is the last 12 weeks, not an error."""
    operator = factories.UserFactory(is_superuser=True)
    factories.SchoolFactory()

    response = get(api_client, operator, "/api/analytics/admin/school-health/")

    assert response.status_code == 200, response.data
    assert response.data["term"] is None
    assert response.data["low_attendance"] is None


def test_school_health_with_no_school_at_all(api_client):
    operator = factories.UserFactory(is_superuser=True)

    response = get(api_client, operator, "/api/analytics/admin/school-health/")

    assert response.status_code == 200, response.data
    assert response.data["schools"] == []
