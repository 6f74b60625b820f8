"""Behaviour and comment entry on the report page: the API's services, errors beside the field, CSRF."""

import datetime
import re

import pytest
from django.test import Client

from analytics.models import StudentDailySummary, StudentTermPerformance

pytestmark = pytest.mark.django_db


def signed_in(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_a_teacher_sets_a_behaviour_score_and_the_report_shows_it(hillcrest):
    w = hillcrest
    client = signed_in(w.moss.user)
    url = f"/students/{w.ann.pk}/report/"

    response = client.post(url, {"form": "behaviour", "behaviour-date": "2026-09-09", "behaviour-score": "3"})

    assert response.status_code == 302 and response["Location"] == f"{url}#behaviour"
    assert StudentDailySummary.objects.get(student=w.ann, date=datetime.date(2026, 9, 9)).behavior_score == 3
    page = client.get(url).content.decode()
    assert "Behaviour score saved." in page
    assert "<td>Wed 09 Sep</td><td>3</td>" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"behaviour-date": "2026-09-09", "behaviour-score": "9"}, "score", "run from 1 to 5"),
        ({"behaviour-date": "2001-01-01", "behaviour-score": "3"}, "date", "is not within any term"),
        ({"behaviour-date": "not a date", "behaviour-score": "3"}, "date", "Enter a valid date."),
        ({"behaviour-date": "2026-09-09", "behaviour-score": "99999999999999999999"}, "score", "run from 1 to 5"),
    ],
)
def test_a_refused_behaviour_score_is_400_with_the_error_beside_its_field(hillcrest, data, field, message):
    w = hillcrest
    before = list(StudentDailySummary.objects.values_list("student", "date", "behavior_score").order_by("pk"))

    response = signed_in(w.moss.user).post(f"/students/{w.ann.pk}/report/", {"form": "behaviour", **data})

    assert response.status_code == 400
    html = response.content.decode()
    error = html[html.index(f'id="id_behaviour-{field}_error"') :]
    assert message in error[: error.index("</p>")]
    assert f'<div class="field has-error">\n  <label for="id_behaviour-{field}">' in html
    assert list(StudentDailySummary.objects.values_list("student", "date", "behavior_score").order_by("pk")) == before


def test_a_teacher_comments_only_in_the_subjects_they_teach_the_class(hillcrest):
    w = hillcrest
    client = signed_in(w.moss.user)  # Moss teaches Grade 7A maths, not English
    url = f"/students/{w.ann.pk}/report/"

    page = client.get(url).content.decode()
    choices = page[page.index('id="id_comment-subject"') :]
    choices = choices[: choices.index("</select>")]
    assert f'<option value="{w.maths.pk}">Maths</option>' in choices
    assert "English" not in choices

    refused = client.post(url, {"form": "comment", "comment-subject": w.english.pk, "comment-comment": "Hm."})
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()
    assert StudentTermPerformance.objects.get(student=w.ann, term=w.term, subject=w.english).teacher_comment == ""

    saved = client.post(url, {"form": "comment", "comment-subject": w.maths.pk, "comment-comment": "Well done."})
    assert saved.status_code == 302
    assert StudentTermPerformance.objects.get(student=w.ann, term=w.term, subject=w.maths).teacher_comment == (
        "Well done."
    )
    assert "Well done." in client.get(url).content.decode()


def test_an_admin_comments_in_any_subject_of_the_school(hillcrest):
    w = hillcrest
    response = signed_in(w.admin.user).post(
        f"/students/{w.ben.pk}/report/", {"form": "comment", "comment-subject": w.english.pk, "comment-comment": "Ok"}
    )
    assert response.status_code == 302
    assert StudentTermPerformance.objects.get(student=w.ben, term=w.term, subject=w.english).teacher_comment == "Ok"


def test_an_admins_comment_choices_are_the_schools_subjects_read_once(hillcrest):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import SubjectFactory

    w = hillcrest
    SubjectFactory(school=w.school, name="Art")  # taught by nobody: an admin may still comment in it
    elsewhere = SubjectFactory(name="Latin")  # another school's
    client = signed_in(w.admin.user)
    url = f"/students/{w.ben.pk}/report/"
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    subject_reads = [q["sql"] for q in queries.captured_queries if 'FROM "schools_subject"' in q["sql"]]
    assert len(subject_reads) == 1, subject_reads  # the subject selector's list, the comment's choices too
    choices = page[page.index('id="id_comment-subject"') :]
    choices = choices[: choices.index("</select>")]
    assert [name for _, name in re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', choices)] == [
        "Art",
        "English",
        "Maths",
    ]
    # The choices come from the list; what is posted is still checked against the subjects the admin may use.
    refused = client.post(url, {"form": "comment", "comment-subject": elsewhere.pk, "comment-comment": "Hm."})
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()


def test_guardians_and_students_cannot_post_and_forms_need_the_csrf_token(hillcrest, ann_user):
    w = hillcrest
    data = {"form": "behaviour", "behaviour-date": "2026-09-09", "behaviour-score": "1"}
    assert signed_in(w.ben.guardians.get().user).post(f"/students/{w.ben.pk}/report/", data).status_code == 403
    assert signed_in(ann_user).post(f"/students/{w.ann.pk}/report/", data).status_code == 403
    assert signed_in(w.moss.user, csrf=True).post(f"/students/{w.ann.pk}/report/", data).status_code == 403
    assert signed_in(w.moss.user).post(f"/students/{w.ann.pk}/report/", {"form": "other"}).status_code == 400
    assert not StudentDailySummary.objects.filter(behavior_score=1).exists()
