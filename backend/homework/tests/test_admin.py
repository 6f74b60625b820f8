from decimal import Decimal

import pytest

from homework.models import Grade, Homework, HomeworkSubmission
from tests import factories
from tests.admin_forms import admin_url, post_changeform

pytestmark = pytest.mark.django_db


@pytest.fixture
def submission():
    return factories.SubmissionFactory(homework__max_score=Decimal("20"))


def test_a_grade_above_the_maximum_is_refused(admin_client, submission):
    response = post_changeform(admin_client, admin_url(Grade, "add"), {"submission": submission.pk, "score": "20.5"})
    assert response.status_code == 200
    assert "between 0 and 20" in str(response.context["adminform"].form.errors["score"])
    assert not Grade.objects.exists()


def test_a_grade_is_given_inside_the_saved_submission(admin_client, admin_user, submission):
    assert admin_client.get(admin_url(HomeworkSubmission, "add")).context["inline_admin_formsets"] == []
    url = admin_url(HomeworkSubmission, "change", submission.pk)
    too_high = post_changeform(admin_client, url, {"grade-0-score": "21"})
    assert too_high.status_code == 200
    assert "between 0 and 20" in str(too_high.context["inline_admin_formsets"][0].formset.errors)
    assert not Grade.objects.exists()

    assert post_changeform(admin_client, url, {"grade-0-score": "17.5", "grade-0-feedback": "Good"}).status_code == 302
    grade = Grade.objects.get()
    assert (grade.submission, grade.score, grade.max_score, grade.graded_by) == (
        submission,
        Decimal("17.5"),
        Decimal("20"),
        admin_user,
    )


def test_lowering_max_score_below_a_grade_is_a_form_error_of_the_field(admin_client, submission):
    factories.GradeFactory(submission=submission, score=Decimal("15"))
    homework = submission.homework
    response = post_changeform(admin_client, admin_url(Homework, "change", homework.pk), {"max_score": "10"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "max_score": ["A grade of 15.00 has already been given; the maximum cannot be lower."]
    }
    homework.refresh_from_db()
    assert homework.max_score == Decimal("20")
    assert Grade.objects.values_list("score", "max_score").get() == (Decimal("15"), Decimal("20"))
