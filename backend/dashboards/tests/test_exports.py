"""The "Download CSV" link of every table a page shows: each answers text/csv for the page's user, with a header
row and the page's figures, on the hand-worked school (analytics/tests/test_api_content.py)."""

import csv
import html as html_module
import io
import re

import pytest
from django.test import Client

from dashboards.tests.html import figures
from tests.factories import ClassGroupFactory, SchoolAdminFactory, SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_links(html: str) -> dict[str, str]:
    """Each CSV link of a page by its table name (``data-csv``), its href unescaped."""
    return {
        name: html_module.unescape(href)
        for href, name in re.findall(r'<a class="csv no-print" href="([^"]*)" data-csv="([\w-]+)"', html)
    }


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:], newline="")))


def follow(client: Client, page_url: str, href: str) -> list[list[str]]:
    url = href if href.startswith("/") else page_url.split("?")[0] + href
    return read_csv(client.get(url))


def test_class_page_csv_holds_the_pages_figures_in_the_pages_order(hillcrest):
    w = hillcrest
    client = signed_in(w.moss.user)
    url = f"/classes/{w.klass.pk}/?sort=-average"
    html = client.get(url).content.decode()
    links = csv_links(html)
    assert links["students"] == "?format=csv&sort=-average"

    rows = follow(client, url, links["students"])
    assert rows[0] == [
        "student_id",
        "student",
        "student_number",
        "average_grade",
        "rank",
        "rank_of",
        "rank_display",
        "attendance_percentage",
        "homework_due",
        "homework_on_time",
        "homework_late",
        "homework_missing",
        "homework_completion_rate",
        "flags",
    ]
    # Worked out in test_api_content; the page's sort (best average first) is kept. Flags as of the frozen
    # today (23 September): Ben attends 5 of his 7 lessons (71.43%) and Cat 1 (14.29%), below 90%.
    ben = [str(w.ben.pk), "Ben Bello", "H002", "79.17", "1", "3", "1st of 3", "71.43", "4", "2", "1", "1", "50.00"]
    ann = [str(w.ann.pk), "Ann Abara", "H001", "76.67", "2", "3", "2nd of 3", "100.00", "4", "3", "1", "0", "75.00"]
    cat = [str(w.cat.pk), "Cat Chege", "H003", "66.25", "3", "3", "3rd of 3", "14.29", "4", "2", "1", "1", "50.00"]
    assert rows[1:] == [[*ben, "attendance"], [*ann, ""], [*cat, "attendance"]]
    on_page = figures(html)
    for row in rows[1:]:
        scope = f"student:{row[0]}"
        assert on_page[scope, "average"] == f"{row[3]}%"
        assert on_page[scope, "position"] == row[6]
        assert on_page[scope, "attendance"] == f"{row[7]}%"
        assert on_page[scope, "homework"].startswith(f"{row[12]}%")


def test_class_page_csv_of_another_term_and_out_of_scope(hillcrest):
    w = hillcrest
    client = signed_in(w.moss.user)
    url = f"/classes/{w.klass.pk}/?term={w.earlier_term.pk}"
    links = csv_links(client.get(url).content.decode())
    assert links["students"] == f"?format=csv&sort=name&term={w.earlier_term.pk}"
    rows = follow(client, url, links["students"])
    # The earlier term has no figures: every student, every figure empty, as the page's dashes.
    assert [row[:3] for row in rows[1:]] == [
        [str(w.ann.pk), "Ann Abara", "H001"],
        [str(w.ben.pk), "Ben Bello", "H002"],
        [str(w.cat.pk), "Cat Chege", "H003"],
    ]
    assert {cell for row in rows[1:] for cell in row[3:8]} == {""}

    other_class = ClassGroupFactory(school=SchoolFactory(name="Lakeside"))
    assert client.get(f"/classes/{other_class.pk}/?format=csv").status_code == 404
    other_admin = SchoolAdminFactory(school=other_class.school)
    assert signed_in(other_admin.user).get(f"/classes/{w.klass.pk}/?format=csv").status_code == 404
    assert signed_in(w.ben.guardians.get().user).get(f"/classes/{w.klass.pk}/?format=csv").status_code == 403
    anonymous = Client().get(f"/classes/{w.klass.pk}/?format=csv")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/sign-in/")
    assert client.get(f"/classes/{w.klass.pk}/?format=csv&term=999999").status_code == 400


def test_school_health_csvs_hold_the_pages_tables(hillcrest):
    w = hillcrest
    client = signed_in(w.admin.user)
    url = f"/schools/{w.school.pk}/health/"
    html = client.get(url).content.decode()
    links = csv_links(html)
    assert set(links) == {"weekly", "classes", "below", "at_risk", "missing", "improved"}
    at_risk = follow(client, url, links["at_risk"])
    assert [(row[0], row[4], row[5]) for row in at_risk[1:]] == [  # by class, then name
        (str(w.ben.pk), "attendance", "2026-09-23"),
        (str(w.cat.pk), "attendance", "2026-09-23"),
    ]
    assert at_risk[2][6] == "attendance 14.29% over the last 5 school days with marks (1 of 7 lessons); threshold 90%"
    page_at_risk = re.findall(r'<tr data-at-risk="(\d+)">.*?<li data-flag="(\w+)">([^<]+) <small', html, re.S)
    assert [(student, reason) for student, reason, _ in page_at_risk] == [
        (str(w.ben.pk), "attendance"),
        (str(w.cat.pk), "attendance"),
    ]
    assert page_at_risk[1][2] == at_risk[2][6]
    # The missing-data table of the page, by teacher, is the API's CSV: one row per teacher with the same totals.
    missing = follow(client, url, links["missing"])
    assert missing[0][:4] == ["teacher_id", "teacher", "lessons_held", "lessons_without_roll_call"]
    page_missing = re.findall(
        r'<tr data-teacher="(\d+)"><th scope="row">([^<]+)</th><td>(\d+)</td>\s*'
        r'<td data-figure="without-roll-call">(\d+)</td>',
        html,
    )
    assert [tuple(row[:4]) for row in missing[1:]] == page_missing
    assert len(page_missing) == 3
    assert follow(client, url, links["improved"])[0][:2] == ["student_id", "student"]

    below = follow(client, url, links["below"])
    assert below[0] == [
        "student_id",
        "student",
        "class",
        "attendance_percentage",
        "lessons_attended",
        "lessons_counted",
        "days_absent",
    ]
    page_rows = re.findall(
        r'<tr data-student="(\d+)"><th scope="row"><a href="[^"]+">([^<]+)</a></th><td>([^<]+)</td>'
        r"<td>([\d.]+)%</td><td>(\d+)/(\d+)</td><td>(\d+)</td>",
        html,
    )
    assert [tuple(row) for row in below[1:]] == page_rows
    assert [row[:6] for row in below[1:]] == [  # lowest first
        [str(w.cat.pk), "Cat Chege", "Grade 7A", "14.29", "1", "7"],
        [str(w.ben.pk), "Ben Bello", "Grade 7A", "71.43", "5", "7"],
    ]

    classes = follow(client, url, links["classes"])
    assert classes == [
        ["class_id", "class", "grade_level", "students", "attendance_rate", "average_grade"],
        [str(w.klass.pk), "Grade 7A", "7", "3", "61.90", "74.03"],
    ]

    assert links["weekly"] == (
        f"/api/analytics/admin/school-health/?format=csv&school={w.school.pk}&term={w.term.pk}&table=weekly"
    )
    weekly = follow(client, url, links["weekly"])
    assert weekly[0] == ["week_start", "revenue", "amount_billed", "attendance_rate", "homework_completion_rate"]
    specs = {
        match[1]: match[2]
        for match in re.finditer(r'<script id="(chart-money)" type="application/json">(.*?)</script>', html, re.S)
    }
    assert weekly[1][:2] == ["2026-09-07", "500.00"]
    assert '"500.00"' in specs["chart-money"]


def test_school_health_csv_of_a_chosen_term_bad_table_and_scope(hillcrest):
    w = hillcrest
    client = signed_in(w.admin.user)
    url = f"/schools/{w.school.pk}/health/?term={w.earlier_term.pk}"
    links = csv_links(client.get(url).content.decode())
    assert links["below"] == f"?format=csv&table=below&term={w.earlier_term.pk}"
    assert links["weekly"].endswith(f"&term={w.earlier_term.pk}&table=weekly")
    assert follow(client, url, links["below"])[1:] == []  # nobody has figures in the earlier term

    bad = client.get(f"/schools/{w.school.pk}/health/?format=csv&table=nonsense")
    assert bad.status_code == 400
    assert "<strong>table</strong>" in bad.content.decode()
    other = SchoolFactory(name="Lakeside")
    assert client.get(f"/schools/{other.pk}/health/?format=csv&table=below").status_code == 404
    assert signed_in(w.moss.user).get(f"/schools/{w.school.pk}/health/?format=csv&table=below").status_code == 403


def test_teacher_home_csvs(hillcrest):
    w = hillcrest
    client = signed_in(w.moss.user)
    html = client.get("/teacher/").content.decode()
    links = csv_links(html)
    assert links["weeks"] == "/api/analytics/teacher/my-performance/?format=csv"
    classes = follow(client, "/teacher/", links["classes"])
    assert classes[1:] == [[str(w.klass.pk), "Grade 7A", "7", "3", "61.90", "74.03"]]
    on_page = figures(html)
    assert on_page[f"class:{w.klass.pk}", "attendance"] == "61.90%"

    weeks = follow(client, "/teacher/", links["weeks"])
    assert weeks[0][:2] == ["week_start", "classes_taught"]
    assert len(weeks) == 1 + 8  # the page's 8 weeks up to this one
    # The page's chart of classes taught reads the same weeks (test_pages: 07 Sep, 2 lessons, median 1).
    assert ["2026-09-07", "2"] in [row[:2] for row in weeks[1:]]


def test_report_page_csvs_and_the_card(hillcrest):
    w = hillcrest
    guardian = w.ben.guardians.get().user
    client = signed_in(guardian)
    url = f"/students/{w.ben.pk}/report/?term={w.term.pk}&subject={w.maths.pk}"
    html = client.get(url).content.decode()
    links = csv_links(html)
    assert set(links) == {"subjects", "grades", "grades_weekly", "attendance_weekly", "behavior", "flags", "progress"}
    # Ben attends 5 of his 7 lessons (on 5 days) up to the frozen today: 71.43%, below 90%.
    text = "attendance 71.43% over the last 5 school days with marks (5 of 7 lessons); threshold 90%"
    assert follow(client, url, links["flags"]) == [["reason", "as_of", "details"], ["attendance", "2026-09-23", text]]
    assert f'<li data-flag="attendance"><strong>Attendance</strong>: {text} <small' in html
    assert links["subjects"] == (
        f"/api/analytics/student/{w.ben.pk}/overview/?format=csv&table=subjects&term={w.term.pk}&subject={w.maths.pk}"
    )
    subjects = follow(client, url, links["subjects"])
    assert subjects[0][:3] == ["subject_id", "subject", "average_grade"]
    assert [row[1] for row in subjects[1:]] == ["Maths"]  # the page's subject filter is kept
    on_page = figures(html)
    assert on_page[f"subject:{w.maths.pk}", "average"] == f"{subjects[1][2]}%"
    for name in ("grades", "grades_weekly", "attendance_weekly", "behavior"):
        assert follow(client, url, links[name])[0]  # a header row
    # The position chart's CSV: the Maths snapshot of the fixture's rank run (the page's subject kept): Ben's
    # Maths 20/20 and 5/10, (100 + 50) / 2 = 75.00, second of 3 (Ann 82.50, Cat 65.00).
    maths = ["2026-09-23", str(w.maths.pk), "Maths", "75.00", "2", "3"]
    assert follow(client, url, links["progress"])[1:] == [maths]

    # "Print / PDF" reaches the card for the guardian.
    card = re.search(r'<a href="([^"]+)" data-card>Print / PDF</a>', html)[1]
    assert card == f"/reports/student/{w.ben.pk}/term/{w.term.pk}/card/"
    response = client.get(card)
    assert response.status_code == 200 and "Ben Bello" in response.content.decode()


def test_all_schools_csv(hillcrest):
    w = hillcrest
    operator = UserFactory(is_superuser=True, is_staff=True)
    quiet = SchoolFactory(name="Quietwater")
    client = signed_in(operator)
    links = csv_links(client.get("/schools/").content.decode())
    assert links["schools"] == "/api/analytics/admin/school-health/?format=csv&table=schools"
    rows = follow(client, "/schools/", links["schools"])
    assert rows[0][:2] == ["school_id", "school"]
    by_school = {row[1]: row for row in rows[1:]}
    assert set(by_school) == {"Hillcrest", "Quietwater"}
    assert by_school["Hillcrest"][0] == str(w.school.pk) and by_school["Quietwater"][0] == str(quiet.pk)
    assert by_school["Hillcrest"][5] == "750.25"  # revenue, as on the page
