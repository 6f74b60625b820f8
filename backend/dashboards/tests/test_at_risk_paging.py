"""School health lists the students at risk 50 a page, as the API pages its JSON list of them: the same students
on each page in the same order, the count of them all, previous / next links keeping the page's other query, and
the CSV link for every one of them."""

import csv
import html as html_module
import io
import re

import pytest
from django.test import Client

from analytics.models import StudentFlag
from tests.factories import ClassGroupFactory, SchoolAdminFactory, SchoolFactory, StudentFactory

pytestmark = pytest.mark.django_db

EXTRA = 118  # with Ben and Cat (flagged for attendance in the hand-worked school): 120, pages of 50, 50 and 20


@pytest.fixture
def crowded(hillcrest):
    """The hand-worked school with 118 more students, each flagged for behaviour, in a class after Grade 7A."""
    w = hillcrest
    w.klass_b = ClassGroupFactory(school=w.school, name="Grade 8B", grade_level=8)
    # Last names in reverse of creation, so the list's order (by class, then name) is not the order of the ids.
    w.extra = [
        StudentFactory(school=w.school, class_group=w.klass_b, first_name="Pupil", last_name=f"L{EXTRA - i:03d}")
        for i in range(EXTRA)
    ]
    StudentFlag.objects.bulk_create(
        StudentFlag(
            student=student,
            school=w.school,
            reason="behaviour",
            as_of=w.term.start_date,
            figures={"low_scores": 3, "at_most": 2, "days": 14, "threshold": 3},
        )
        for student in w.extra
    )
    return w


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def at_risk_ids(html: str) -> list[int]:
    return [int(student) for student in re.findall(r'<tr data-at-risk="(\d+)">', html)]


def pager(html: str, label: str = "Students at risk", figure: str = "at-risk-shown") -> dict:
    nav = re.search(rf'<nav class="pager" aria-label="{label}, pages">(.*?)</nav>', html, re.S)[1]
    links = {rel: html_module.unescape(href) for href, rel in re.findall(r'<a href="([^"]+)" rel="(\w+)">', nav)}
    shown = re.search(rf'<span data-figure="{figure}">([^<]+)</span>', nav)[1]
    return {"shown": shown, **links}


def expected_order(w) -> list[int]:
    """By class name, then last name, first name and id, worked out here: Ben and Cat (Grade 7A), then Grade 8B
    from L001 to L118."""
    by_last_name = sorted(w.extra, key=lambda student: student.last_name)
    return [w.ben.pk, w.cat.pk] + [student.pk for student in by_last_name]


def test_the_first_page_lists_50_with_the_count_and_a_next_link(crowded):
    w = crowded
    html = signed_in(w.admin.user).get(f"/schools/{w.school.pk}/health/").content.decode()

    assert "Students at risk (120)" in html
    assert at_risk_ids(html) == expected_order(w)[:50]
    assert pager(html) == {"shown": "1–50 of 120", "next": "?at_risk_page=2#at-risk-h"}
    assert '<li data-flag="behaviour">3 behaviour scores at or below 2 in the last 14 days; threshold 3' in html


def test_a_middle_page_keeps_the_term_in_its_links_and_matches_the_apis_page(crowded, api_client):
    w = crowded
    url = f"/schools/{w.school.pk}/health/?term={w.term.pk}&at_risk_page=2"
    html = signed_in(w.admin.user).get(url).content.decode()

    assert "Students at risk (120)" in html
    assert at_risk_ids(html) == expected_order(w)[50:100]
    assert pager(html) == {
        "shown": "51–100 of 120",
        "prev": f"?term={w.term.pk}#at-risk-h",
        "next": f"?term={w.term.pk}&at_risk_page=3#at-risk-h",
    }
    # The API's JSON, paged by its own paginator, has the same students on its second page.
    api_client.force_authenticate(w.admin.user)
    api = api_client.get(f"/api/analytics/students/at-risk/?school={w.school.pk}&page=2").json()
    assert api["count"] == 120
    assert [item["student"]["id"] for item in api["results"]] == at_risk_ids(html)


def test_the_last_page_and_a_page_past_the_end_show_the_last_20(crowded):
    w = crowded
    client = signed_in(w.admin.user)
    for number in ("3", "4", "99999999999999999999"):
        html = client.get(f"/schools/{w.school.pk}/health/?at_risk_page={number}").content.decode()
        assert at_risk_ids(html) == expected_order(w)[100:], number
        assert pager(html) == {"shown": "101–120 of 120", "prev": "?at_risk_page=2#at-risk-h"}, number


@pytest.mark.parametrize("number", ["abc", "0", "-1", "1.5", ""])
def test_a_page_number_that_is_not_one_is_400_naming_it(crowded, number):
    w = crowded
    response = signed_in(w.admin.user).get(f"/schools/{w.school.pk}/health/?at_risk_page={number}")
    if number == "":  # left empty, as a form leaves it: the first page
        assert response.status_code == 200
        assert at_risk_ids(response.content.decode()) == expected_order(w)[:50]
        return
    assert response.status_code == 400
    assert "<strong>at_risk_page</strong>" in response.content.decode()


def test_the_csv_link_has_every_student_at_risk(crowded):
    w = crowded
    client = signed_in(w.admin.user)
    html = client.get(f"/schools/{w.school.pk}/health/?at_risk_page=2").content.decode()
    href = html_module.unescape(re.search(r'<a class="csv no-print" href="([^"]+)" data-csv="at_risk"', html)[1])
    body = b"".join(client.get(href).streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert [int(row[0]) for row in rows[1:]] == expected_order(w)  # one flag each: one row each


def test_a_school_with_no_flag_has_no_pager(hillcrest):
    w = hillcrest
    StudentFlag.objects.filter(school=w.school).delete()
    html = signed_in(w.admin.user).get(f"/schools/{w.school.pk}/health/?at_risk_page=2").content.decode()
    assert "Students at risk (0)" in html
    assert "No student is flagged." in html
    assert 'aria-label="Students at risk, pages"' not in html


def test_another_schools_health_is_404_on_any_page(crowded):
    w = crowded
    other = SchoolAdminFactory(school=SchoolFactory(name="Lakeside"))
    client = signed_in(other.user)
    assert client.get(f"/schools/{w.school.pk}/health/?at_risk_page=2").status_code == 404
    assert client.get(f"/schools/{w.school.pk}/health/?at_risk_page=abc").status_code == 404
    teacher = signed_in(w.moss.user)
    assert teacher.get(f"/schools/{w.school.pk}/health/?at_risk_page=2").status_code == 403
