# The Hillcrest fixtures are imported from the module that works them out; pytest passes them by name.
# ruff: noqa: F811
"""``?format=csv`` on the analytics endpoints: each table's CSV holds the JSON's figures for the same request
(same rounding, empty cell for null), streamed, UTF-8 with a header row. Hillcrest is worked out by hand in
test_api_content.py."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from analytics.models import StudentTermPerformance
from analytics.tests.test_api_content import client_of, frozen, hillcrest  # noqa: F401
from tests.factories import SchoolAdminFactory, SchoolFactory, TermFactory, UserFactory

pytestmark = pytest.mark.django_db

OVERVIEW = "/api/analytics/student/{id}/overview/"
TEACHER = "/api/analytics/teacher/my-performance/"
HEALTH = "/api/analytics/admin/school-health/"


def read_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # a byte-order mark: spreadsheets read the accents right
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def cell(value) -> str:
    return "" if value is None else str(value)


def test_bens_subjects_as_csv(hillcrest, client_of):
    w = hillcrest

    response = client_of(w.admin.user).get(OVERVIEW.format(id=w.ben.pk), {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="student-{w.ben.pk}-term-{w.term.pk}-subjects.csv"'
    assert read_csv(response) == [
        [
            "subject_id",
            "subject",
            "average_grade",
            "grades_count",
            "rank",
            "rank_of",
            "rank_display",
            "attendance_percentage",
            "lessons_attended",
            "lessons_counted",
            "teacher_comment",
        ],
        [str(w.english.pk), "English", "83.33", "1", "1", "3", "1st of 3", "66.67", "2", "3", ""],
        [str(w.maths.pk), "Maths", "75.00", "2", "2", "3", "2nd of 3", "75.00", "3", "4", w.comment],
    ]


@pytest.mark.parametrize("query", [{}, {"from": "2026-09-14", "to": "2026-09-20"}, {"subject": "maths"}])
def test_every_overview_table_equals_the_json(hillcrest, client_of, query):
    w = hillcrest
    client = client_of(w.ben.guardians.get().user)
    query = {key: (w.maths.pk if value == "maths" else value) for key, value in query.items()}
    data = client.get(OVERVIEW.format(id=w.ben.pk), query).json()
    expected = {
        "subjects": [
            [
                cell(row["subject"]["id"]),
                row["subject"]["name"],
                *(
                    cell(row[key])
                    for key in (
                        "average_grade",
                        "grades_count",
                        "rank",
                        "rank_of",
                        "rank_display",
                        "attendance_percentage",
                        "lessons_attended",
                        "lessons_counted",
                        "teacher_comment",
                    )
                ),
            ]
            for row in data["subjects"]
        ],
        "grades": [
            [row["date"], str(row["subject_id"]), row["subject"], row["homework"], cell(row["percentage"])]
            for row in data["grades"]
        ],
        "grades_weekly": [
            [row["week_start"], str(row["subject_id"]), row["subject"], cell(row["average"])]
            for row in data["grades_weekly"]
        ],
        "attendance_weekly": [
            [row["week_start"], str(row["attended"]), str(row["counted"]), cell(row["rate"])]
            for row in data["attendance_weekly"]
        ],
        "behavior": [[row["date"], str(row["score"])] for row in data["behavior"]],
    }

    for table, rows in expected.items():
        response = client.get(OVERVIEW.format(id=w.ben.pk), {**query, "format": "csv", "table": table})
        assert response.status_code == 200, table
        assert read_csv(response)[1:] == rows, table
    assert expected["grades"], "the scenario has grades to compare"


def test_teacher_weeks_as_csv_equal_the_json(hillcrest, client_of):
    w = hillcrest
    client = client_of(w.moss.user)
    data = client.get(TEACHER, {"weeks": 3}).json()

    rows = read_csv(client.get(TEACHER, {"weeks": 3, "format": "csv"}))

    metrics = ("classes_taught", "homeworks_assigned", "parent_communications", "average_student_attendance")
    gaps = ("lessons_held", "lessons_without_roll_call", "homework_overdue_ungraded", "submissions_ungraded")
    assert rows[0] == ["week_start", *metrics, *(f"school_median_{name}" for name in metrics), *gaps]
    assert rows[1:] == [
        [
            week["week_start"],
            *(cell(week[name]) for name in metrics),
            *(cell(week["school_median"][name]) for name in metrics),
            *(cell(week[name]) for name in gaps),
        ]
        for week in data["weeks"]
    ]
    assert len(rows) == 4


def test_school_health_weeks_as_csv_equal_the_json(hillcrest, client_of):
    w = hillcrest
    client = client_of(w.admin.user)
    data = client.get(HEALTH).json()

    rows = read_csv(client.get(HEALTH, {"format": "csv"}))

    assert rows[0] == ["week_start", "revenue", "amount_billed", "attendance_rate", "homework_completion_rate"]
    assert rows[1:] == [
        [week["week_start"], week["revenue"], week["amount_billed"], cell(week["attendance_rate"]),
         cell(week["homework_completion_rate"])]
        for week in data["weekly"]
    ]  # fmt: skip
    # By hand (test_api_content): attendance by week 77.78, 44.44, 66.67.
    assert [row[3] for row in rows[1:4]] == ["77.78", "44.44", "66.67"]


def test_all_schools_for_a_superuser_one_row_each_equal_to_each_schools_json(hillcrest, client_of):
    w = hillcrest
    quiet = SchoolFactory(name='Quiet, "the" small one')
    TermFactory(school=quiet, name="Autumn", start_date=w.term.start_date, end_date=w.term.end_date)
    client = client_of(UserFactory(is_superuser=True))

    rows = read_csv(client.get(HEALTH, {"format": "csv", "table": "schools"}))

    assert rows[0][:5] == ["school_id", "school", "term", "period_from", "period_to"]
    by_school = {}
    for school in (w.school, quiet):
        data = client.get(HEALTH, {"school": school.pk}).json()
        by_school[str(school.pk)] = [
            str(school.pk),
            school.name,
            data["term"]["name"],
            data["period"]["from"],
            data["period"]["to"],
            *(
                cell(data[key])
                for key in (
                    "revenue",
                    "payments_count",
                    "amount_billed",
                    "outstanding",
                    "collection_rate",
                    "attendance_rate",
                    "homework_completion_rate",
                    "students_count",
                    "teachers_count",
                )
            ),
            cell(data["low_attendance"]["students"]),
            cell(data["low_attendance"]["of"]),
            cell(data["low_attendance"]["share"]),
            cell(data["roll_calls_today"]["lessons"]),
            cell(data["roll_calls_today"]["not_taken"]),
            cell(data["as_of"]),
        ]
    assert rows[1:] == [by_school[str(w.school.pk)], by_school[str(quiet.pk)]]
    # By hand: revenue 750.25, billed 1450.50, outstanding 700.25, collected 54.84%, 2 of 3 below 90%.
    assert rows[1][5:12] == ["750.25", "3", "1450.50", "700.25", "54.84", "61.90", "58.33"]
    assert rows[1][14:17] == ["2", "3", "66.67"]


def test_an_admin_gets_only_their_school_in_the_schools_table(hillcrest, client_of):
    w = hillcrest
    SchoolAdminFactory()  # another school with its own admin

    rows = read_csv(client_of(w.admin.user).get(HEALTH, {"format": "csv", "table": "schools"}))

    assert [row[:2] for row in rows[1:]] == [[str(w.school.pk), "Hillcrest"]]


def test_free_text_that_a_spreadsheet_would_run_stays_text(hillcrest, client_of):
    w = hillcrest
    StudentTermPerformance.objects.filter(student=w.ben, subject=w.maths).update(
        teacher_comment='=HYPERLINK("http://example.org","click")'
    )

    rows = read_csv(client_of(w.admin.user).get(OVERVIEW.format(id=w.ben.pk), {"format": "csv"}))

    assert rows[2][-1] == '\'=HYPERLINK("http://example.org","click")'


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        (OVERVIEW, {"table": "nonsense"}, "table"),
        (OVERVIEW, {"term": "999999"}, "term"),
        (HEALTH, {"table": "subjects"}, "table"),
        (TEACHER, {"weeks": "0"}, "weeks"),
    ],
)
def test_bad_csv_requests_are_400_naming_the_field(hillcrest, client_of, path, query, field):
    w = hillcrest
    user = w.moss.user if path == TEACHER else w.admin.user

    response = client_of(user).get(path.format(id=w.ben.pk), {**query, "format": "csv"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["field", "message"]
    assert [row[0] for row in rows[1:]] == [field]


def test_out_of_scope_is_404_in_csv_too(hillcrest, client_of):
    w = hillcrest
    guardian = w.ben.guardians.get().user

    response = client_of(guardian).get(OVERVIEW.format(id=w.ann.pk), {"format": "csv"})

    assert response.status_code == 404


def test_the_schema_documents_the_csv_answers(client_of, db):
    schema = client_of(UserFactory()).get("/api/schema/", {"format": "json"}).json()

    for path in (
        "/api/analytics/student/{student_id}/overview/",
        "/api/analytics/teacher/my-performance/",
        "/api/analytics/admin/school-health/",
    ):
        operation = schema["paths"][path]["get"]
        assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}, path
        formats = [p for p in operation["parameters"] if p["name"] == "format"]
        assert sorted(formats[0]["schema"]["enum"]) == ["csv", "json"], path
