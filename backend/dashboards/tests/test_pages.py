"""Each role's pages show the figures of the hand-worked school (analytics/tests/test_api_content.py), and
the same figures as the API for the same student, teacher and school."""

import json
import re
from decimal import Decimal

import pytest
from django.test import Client

from dashboards.tests.html import figures
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def page(user, url: str, status: int = 200, client: Client | None = None):
    client = client or Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response


def percent(value: str | None) -> str:
    return "–" if value is None else f"{value}%"


def money(value: str) -> str:
    """An amount as the pages write it: thousands separated, two decimals."""
    return f"{Decimal(value):,.2f}"


def chart_specs(html: str) -> dict[str, dict]:
    return {
        match[1]: json.loads(match[2])
        for match in re.finditer(r'<script id="(chart-[\w-]+)" type="application/json">(.*?)</script>', html, re.S)
    }


# --- home ---------------------------------------------------------------------------------------


def test_home_sends_each_role_to_its_home(hillcrest, ann_user, django_user_model):
    w = hillcrest
    operator = UserFactory(is_superuser=True, is_staff=True)
    homes = {
        w.ben.guardians.get().user: "/children/",
        ann_user: f"/students/{w.ann.pk}/report/",
        w.moss.user: "/teacher/",
        w.admin.user: f"/schools/{w.school.pk}/health/",
        operator: "/schools/",
    }
    for user, home in homes.items():
        response = page(user, "/", status=302)
        assert response["Location"] == home

    assert Client().get("/")["Location"] == "/sign-in/?next=/"
    nobody = UserFactory()
    assert "has no role" in page(nobody, "/").content.decode()


def test_sign_in_and_out(hillcrest):
    w = hillcrest
    user = w.moss.user
    user.set_password("a-long-passphrase")
    user.save()
    client = Client(enforce_csrf_checks=True)

    form = client.get("/sign-in/?next=/teacher/")
    assert form.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode())[1]
    wrong = client.post(
        "/sign-in/", {"username": user.username, "password": "wrong", "csrfmiddlewaretoken": token, "next": "/teacher/"}
    )
    assert wrong.status_code == 200
    assert "Please enter a correct username and password" in wrong.content.decode()
    assert client.post("/sign-in/", {"username": user.username, "password": "a-long-passphrase"}).status_code == 403

    signed_in = client.post(
        "/sign-in/",
        {"username": user.username, "password": "a-long-passphrase", "csrfmiddlewaretoken": token, "next": "/teacher/"},
    )
    assert signed_in["Location"] == "/teacher/"
    assert client.get("/teacher/").status_code == 200

    assert client.get("/sign-out/").status_code == 405  # signing out takes a POST with the token
    token = client.cookies["csrftoken"].value
    assert client.post("/sign-out/", {"csrfmiddlewaretoken": token})["Location"] == "/sign-in/"
    assert client.get("/teacher/")["Location"] == "/sign-in/?next=/teacher/"


# --- guardian and student -----------------------------------------------------------------------


def test_guardian_sees_a_card_per_child_with_the_headline_figures(hillcrest):
    w = hillcrest
    html = page(w.ben.guardians.get().user, "/children/").content.decode()

    on_page = figures(html)
    ben = f"student:{w.ben.pk}"
    # Worked out in test_api_content: overall 79.17, 1st of 3; Ben's lessons 5 of 7 = 71.43; homework 2 of 4 on time.
    assert on_page[ben, "overall-position"] == "1st of 3"
    assert on_page[ben, "overall-average"] == "79.17%"
    assert on_page[ben, "attendance"] == "71.43%"
    assert on_page[ben, "homework"] == "50.00%"
    assert f"student:{w.ann.pk}" not in {scope for scope, _ in on_page}
    assert "Updated" in html and "0\xa0minutes ago" in html


def test_the_report_shows_the_apis_figures(hillcrest, api_client):
    w = hillcrest
    guardian = w.ben.guardians.get().user
    api_client.force_authenticate(guardian)
    api = api_client.get(f"/api/analytics/student/{w.ben.pk}/overview/").json()

    html = page(guardian, f"/students/{w.ben.pk}/report/").content.decode()
    on_page = figures(html)

    assert on_page[None, "overall-position"] == api["overall"]["rank_display"] == "1st of 3"
    assert on_page[None, "overall-average"] == percent(api["overall"]["average_grade"]) == "79.17%"
    assert on_page[None, "homework"] == percent(api["homework"]["completion_rate"]) == "50.00%"
    assert on_page[None, "attendance"] == "71.43%"
    for row in api["subjects"]:
        scope = f"subject:{row['subject']['id']}"
        assert on_page[scope, "average"] == percent(row["average_grade"])
        assert on_page[scope, "position"] == row["rank_display"]
        assert on_page[scope, "attendance"] == (
            f"{percent(row['attendance_percentage'])} {row['lessons_attended']}/{row['lessons_counted']}"
        )
    assert on_page[f"subject:{w.maths.pk}", "position"] == "2nd of 3"
    assert w.comment in html
    assert f'href="/reports/student/{w.ben.pk}/term/{w.term.pk}/card/"' in html
    # Ben by day: 7th LATE (P, L), 9th P, 14th PRESENT (A, P), 17th A, 23rd L: 4 days in, 2 of them late.
    assert "Days present 4 (late 2) · absent 1 · excused 0" in html

    specs = chart_specs(html)
    assert set(specs) == {"chart-grades", "chart-attendance", "chart-homework", "chart-behaviour", "chart-position"}
    # The fixture's rank run (--date 2026-09-23) wrote that date's snapshot: Ben 1st of 3 on 79.17 overall.
    assert [(row["date"], row["rank"], row["average"]) for row in api["progress"] if row["subject_id"] is None] == [
        ("2026-09-23", 1, "79.17")
    ]
    assert specs["chart-position"]["datasets"][0]["data"] == [1.0]
    assert specs["chart-position"]["table"]["rows"] == [["23 Sep", "1", "3", "79.17"]]
    assert specs["chart-position"]["axis"] == {"min": 1, "reverse": True}
    assert specs["chart-attendance"]["table"]["rows"] == [
        [week, row["attended"], row["counted"], row["rate"]]
        for week, row in zip(("07 Sep", "14 Sep", "21 Sep"), api["attendance_weekly"], strict=True)
    ]
    assert specs["chart-attendance"]["datasets"][0]["data"] == [100.0, 33.33, 100.0]
    assert specs["chart-homework"]["datasets"][0]["data"] == [2, 1, 1]  # on time, late, missing
    assert specs["chart-behaviour"]["table"]["rows"] == [["Mon 07 Sep", 4], ["Mon 14 Sep", 2]]
    grades = specs["chart-grades"]
    assert grades["labels"] == ["07 Sep", "14 Sep"]
    maths_line = next(d for d in grades["datasets"] if d["label"] == "Maths")
    assert maths_line["data"] == [100.0, 50.0]
    maths_points = next(d for d in grades["datasets"] if d["label"] == "Maths grades")
    assert [(p["x"], p["y"], p["title"]) for p in maths_points["data"]] == [
        ("07 Sep", 100.0, "H1 Maths (due 09 Sep)"),
        ("14 Sep", 50.0, "H2 Maths (due 16 Sep)"),
    ]
    # Every chart has its numbers as a table on the page.
    assert html.count("<summary>Numbers</summary>") == 5
    assert "<td>14 Sep</td><td>1</td><td>3</td><td>33.33</td>" in html
    # A guardian gets no entry forms.
    assert 'name="behaviour-score"' not in html


def test_the_report_of_one_subject_and_another_term(hillcrest):
    w = hillcrest
    guardian = w.ben.guardians.get().user

    html = page(guardian, f"/students/{w.ben.pk}/report/?subject={w.english.pk}").content.decode()
    on_page = figures(html)
    assert on_page[f"subject:{w.english.pk}", "average"] == "83.33%"
    assert (f"subject:{w.maths.pk}", "average") not in on_page

    earlier = page(guardian, f"/students/{w.ben.pk}/report/?term={w.earlier_term.pk}").content.decode()
    assert "No grades or attendance recorded for this term yet." in earlier
    assert "No figures yet" in earlier


@pytest.mark.parametrize("query", ["term=999999", "term=abc", "subject=999999", "term=99999999999999999999999"])
def test_a_report_asked_for_with_an_unknown_term_or_subject_is_400_naming_it(hillcrest, query):
    w = hillcrest
    response = page(w.ben.guardians.get().user, f"/students/{w.ben.pk}/report/?{query}", status=400)
    assert f"<strong>{query.split('=')[0]}</strong>" in response.content.decode()


def test_another_schools_term_is_not_a_choice(hillcrest):
    from tests.factories import SchoolFactory, TermFactory

    other = TermFactory(school=SchoolFactory(), name="Elsewhere")
    w = hillcrest
    page(w.ben.guardians.get().user, f"/students/{w.ben.pk}/report/?term={other.pk}", status=400)
    html = page(w.ben.guardians.get().user, f"/students/{w.ben.pk}/report/").content.decode()
    assert "Elsewhere" not in html


def test_a_student_sees_their_own_report(hillcrest, ann_user):
    w = hillcrest
    on_page = figures(page(ann_user, f"/students/{w.ann.pk}/report/").content.decode())
    assert on_page[None, "overall-position"] == "2nd of 3"
    assert on_page[None, "overall-average"] == "76.67%"
    assert on_page[None, "attendance"] == "100.00%"
    assert on_page[f"subject:{w.maths.pk}", "position"] == "1st of 3"


# --- teacher ------------------------------------------------------------------------------------


def test_teacher_home_shows_classes_and_weeks_beside_the_median(hillcrest, api_client):
    w = hillcrest
    api_client.force_authenticate(w.moss.user)
    api = api_client.get("/api/analytics/teacher/my-performance/").json()

    html = page(w.moss.user, "/teacher/").content.decode()
    on_page = figures(html)

    # Grade 7A: 13 of 21 lessons attended = 61.90; average (76.67 + 79.17 + 66.25) / 3 = 74.03.
    assert on_page[f"class:{w.klass.pk}", "attendance"] == "61.90%"
    assert on_page[f"class:{w.klass.pk}", "average"] == "74.03%"
    specs = chart_specs(html)
    assert set(specs) == {
        "chart-classes_taught",
        "chart-homeworks_assigned",
        "chart-parent_communications",
        "chart-average_student_attendance",
    }
    for name, spec in specs.items():
        metric = name.removeprefix("chart-")
        mine, median = spec["datasets"]
        assert mine["label"] == "Me" and median["label"] == "School median"
        assert mine["data"] == [None if w_[metric] is None else float(w_[metric]) for w_ in api["weeks"]]
        expected = [w_["school_median"][metric] for w_ in api["weeks"]]
        assert median["data"] == [None if value is None else float(value) for value in expected]
    # The week of 7 September: Moss taught 2 lessons against a median of 1; attendance 83.33 at his lessons.
    attendance = specs["chart-average_student_attendance"]["table"]["rows"]
    assert ["07 Sep", "83.33", api["weeks"][5]["school_median"]["average_student_attendance"]] in attendance
    assert specs["chart-classes_taught"]["table"]["rows"][5] == ["07 Sep", "2", "1"]


def test_class_page_lists_every_student_with_the_apis_figures_sortable(hillcrest, api_client):
    w = hillcrest
    api_client.force_authenticate(w.moss.user)

    html = page(w.moss.user, f"/classes/{w.klass.pk}/").content.decode()
    on_page = figures(html)
    expected = {
        w.ann: ("76.67%", "2nd of 3", "100.00%", "75.00% 3 on time, 1 late, 0 missing"),
        w.ben: ("79.17%", "1st of 3", "71.43%", "50.00% 2 on time, 1 late, 1 missing"),
        w.cat: ("66.25%", "3rd of 3", "14.29%", "50.00% 2 on time, 1 late, 1 missing"),
    }
    for student, (average, position, attendance, homework) in expected.items():
        scope = f"student:{student.pk}"
        assert (
            on_page[scope, "average"],
            on_page[scope, "position"],
            on_page[scope, "attendance"],
            on_page[scope, "homework"],
        ) == (average, position, attendance, homework)
        api = api_client.get(f"/api/analytics/student/{student.pk}/overview/").json()
        assert on_page[scope, "average"] == percent(api["overall"]["average_grade"])
        assert on_page[scope, "position"] == api["overall"]["rank_display"]
        assert on_page[scope, "homework"].startswith(percent(api["homework"]["completion_rate"]))
        assert f'href="/students/{student.pk}/report/"' in html

    def order(sort):
        body = page(w.moss.user, f"/classes/{w.klass.pk}/?sort={sort}").content.decode()
        return [int(pk) for pk in re.findall(r'<tr data-student="(\d+)"', body)]

    assert order("name") == [w.ann.pk, w.ben.pk, w.cat.pk]  # Abara, Bello, Chege
    assert order("position") == [w.ben.pk, w.ann.pk, w.cat.pk]
    assert order("-average") == [w.ben.pk, w.ann.pk, w.cat.pk]
    assert order("attendance") == [w.cat.pk, w.ben.pk, w.ann.pk]
    assert order("nonsense") == order("name")


# --- school admin and superuser -----------------------------------------------------------------


def test_school_health_shows_the_apis_figures_and_the_students_below_90(hillcrest, api_client):
    w = hillcrest
    api_client.force_authenticate(w.admin.user)
    api = api_client.get("/api/analytics/admin/school-health/").json()

    html = page(w.admin.user, f"/schools/{w.school.pk}/health/").content.decode()
    on_page = figures(html)

    # Worked out in test_api_content: revenue 750.25, billed 1450.50, outstanding 700.25, collected 54.84%.
    assert on_page[None, "revenue"] == money(api["revenue"]) == "750.25"
    assert on_page[None, "billed"] == money(api["amount_billed"]) == "1,450.50"
    assert on_page[None, "outstanding"] == money(api["outstanding"]) == "700.25"
    assert on_page[None, "collection-rate"] == percent(api["collection_rate"]) == "54.84%"
    assert on_page[None, "attendance"] == percent(api["attendance_rate"]) == "61.90%"
    assert on_page[None, "homework"] == percent(api["homework_completion_rate"]) == "58.33%"
    # Today (Wednesday 23 September): one lesson, Ann present, Ben late, Cat absent: 2 of 3.
    assert on_page[None, "attendance-today"] == percent(api["today"]["attendance_rate"]) == "66.67%"
    assert on_page[None, "below-90"] == str(api["low_attendance"]["students"]) == "2"

    below = re.findall(r'<tr data-student="(\d+)"><th scope="row"><a href="/students/\d+/report/">([^<]+)</a>', html)
    assert below == [(str(w.cat.pk), "Cat Chege"), (str(w.ben.pk), "Ben Bello")]  # lowest first: 14.29, 71.43
    assert "<td>14.29%</td><td>1/7</td>" in html

    specs = chart_specs(html)
    assert specs["chart-money"]["table"]["rows"] == [
        ["07 Sep", week["revenue"], week["amount_billed"]] for week in api["weekly"][:1]
    ] + [
        [label, week["revenue"], week["amount_billed"]]
        for label, week in zip(("14 Sep", "21 Sep"), api["weekly"][1:], strict=True)
    ]
    assert specs["chart-rates"]["datasets"][0]["data"] == [float(week["attendance_rate"]) for week in api["weekly"]]
    assert specs["chart-classes"]["table"]["rows"] == [["Grade 7A", 3, "61.90", "74.03"]]
    assert f'href="/classes/{w.klass.pk}/"' in html


def test_superuser_sees_every_school_side_by_side(hillcrest):
    from tests.factories import SchoolFactory, TermFactory

    w = hillcrest
    quiet = SchoolFactory(name="Quiet Hill")
    TermFactory(school=quiet)
    operator = UserFactory(is_superuser=True, is_staff=True)

    html = page(operator, "/schools/").content.decode()
    on_page = figures(html)
    assert on_page[f"school:{w.school.pk}", "attendance"] == "61.90%"
    assert on_page[f"school:{w.school.pk}", "revenue"] == "750.25"
    assert on_page[f"school:{w.school.pk}", "below-90"] == "2"
    assert on_page[f"school:{quiet.pk}", "attendance"] == "–"
    assert f'href="/schools/{w.school.pk}/health/"' in html and f'href="/schools/{quiet.pk}/health/"' in html
    assert chart_specs(html)["chart-schools"]["labels"] == ["Hillcrest", "Quiet Hill"]
    assert page(operator, f"/schools/{quiet.pk}/health/").status_code == 200


def test_the_sign_in_page_is_limited_like_the_api_and_the_right_password_waits(hillcrest, settings):
    """Five wrong passwords lock the account (SIGNIN_ACCOUNT_FAILURE_LIMIT): the sixth attempt, with the right
    password, is refused with the wait named and nobody is signed in."""
    settings.SIGNIN_ACCOUNT_FAILURE_LIMIT = 5
    user = hillcrest.moss.user
    user.set_password("a-long-passphrase")
    user.save()
    client = Client()

    for _ in range(5):
        wrong = client.post("/sign-in/", {"username": user.username, "password": "not-the-password"})
        assert wrong.status_code == 200
    response = client.post("/sign-in/", {"username": user.username, "password": "a-long-passphrase"})

    assert response.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in response.content.decode()
    assert client.get("/teacher/").status_code == 302


# --- missing data and progress ------------------------------------------------------------------


def _unmarked_lesson_today(w):
    """A second Maths lesson of Moss today (Wednesday 23 September, Nairobi), its roll call not taken."""
    from analytics.tests.test_api_content import sep
    from tests.factories import LessonFactory

    return LessonFactory(class_group=w.klass, subject=w.maths, teacher=w.moss, date=sep(23), period=3)


def test_teacher_home_shows_what_is_not_entered_yet(hillcrest, api_client):
    w = hillcrest
    _unmarked_lesson_today(w)
    api_client.force_authenticate(w.moss.user)
    api = api_client.get("/api/analytics/teacher/my-performance/").json()

    html = page(w.moss.user, "/teacher/").content.decode()
    on_page = figures(html)
    assert on_page[None, "roll-calls-today"] == "Today's roll calls not taken: 1 of 2 lessons."
    assert api["today"] == {"date": "2026-09-23", "lessons": 2, "roll_calls_not_taken": 1}
    for week in api["weeks"]:
        scope = f"week:{week['week_start']}"
        assert on_page[scope, "without-roll-call"] == str(week["lessons_without_roll_call"])
        assert on_page[scope, "homework-ungraded"] == str(week["homework_overdue_ungraded"])
    assert on_page["week:2026-09-21", "without-roll-call"] == "1"
    # The week's attendance is over its marked lessons, and says how many had no roll call.
    assert '66.67% <small class="muted">(1 lesson without roll call)</small>' in html
    assert (None, "comments-missing") not in on_page  # not the last two weeks of the term


def test_school_health_shows_roll_calls_missing_data_by_teacher_and_the_most_improved(hillcrest, api_client):
    w = hillcrest
    _unmarked_lesson_today(w)
    api_client.force_authenticate(w.admin.user)
    api = api_client.get("/api/analytics/admin/missing-data/", {"weeks": 4}).json()

    html = page(w.admin.user, f"/schools/{w.school.pk}/health/").content.decode()
    on_page = figures(html)
    assert on_page[None, "roll-calls-not-taken"] == "1"
    assert "of 2 lessons today" in html
    for row in api["teachers"]:
        scope = f"teacher:{row['teacher']['id']}"
        assert on_page[scope, "without-roll-call"] == str(row["totals"]["lessons_without_roll_call"])
        today = row["today"]
        assert on_page[scope, "roll-calls-today"] == f"{today['roll_calls_not_taken']} of {today['lessons']}"
        assert on_page[scope, "comments-missing"] == "–"
    assert on_page[f"teacher:{w.moss.pk}", "roll-calls-today"] == "1 of 2"
    # One night of snapshots only: nobody can be compared with 4 weeks ago yet.
    assert "Not yet 4 weeks of nightly snapshots." in html
    assert f"/api/analytics/admin/missing-data/?format=csv&amp;school={w.school.pk}&amp;weeks=4" in html
