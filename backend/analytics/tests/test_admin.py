import pytest

from analytics.models import StudentDailySummary, TeacherPerformanceMetric
from tests import factories
from tests.admin_forms import admin_url, post_changeform

pytestmark = pytest.mark.django_db


@pytest.fixture
def summary(school, class_group):
    student = factories.StudentFactory(school=school, class_group=class_group)
    factories.AttendanceFactory(lesson__class_group=class_group, student=student, status="ABSENT")
    return StudentDailySummary.objects.get(student=student)


def test_only_the_behaviour_score_is_written(admin_client, summary):
    url = admin_url(StudentDailySummary, "change", summary.pk)
    page = admin_client.get(url)
    assert list(page.context["adminform"].form.fields) == ["behavior_score"]
    # A mark recorded between the office opening the page and saving it is not overwritten.
    factories.AttendanceFactory(
        lesson__class_group=summary.student.class_group, lesson__date=summary.date, student=summary.student
    )
    assert admin_client.post(url, {"behavior_score": "4"}).status_code == 302
    summary.refresh_from_db()
    assert (summary.behavior_score, summary.lessons_marked, summary.lessons_attended) == (4, 2, 1)


def test_a_behaviour_score_outside_the_school_range_is_refused(admin_client, summary):
    response = post_changeform(
        admin_client, admin_url(StudentDailySummary, "change", summary.pk), {"behavior_score": 9}
    )
    assert response.status_code == 200
    assert "from 1 to 5" in str(response.context["adminform"].form.errors["behavior_score"])
    summary.refresh_from_db()
    assert summary.behavior_score is None


def test_summary_rows_are_not_added_or_deleted_by_hand(admin_client, summary):
    assert admin_client.get(admin_url(StudentDailySummary, "add")).status_code == 403
    assert admin_client.get(admin_url(StudentDailySummary, "delete", summary.pk)).status_code == 403
    metric = TeacherPerformanceMetric.objects.get()
    page = admin_client.get(admin_url(TeacherPerformanceMetric, "change", metric.pk))
    assert page.context["has_change_permission"] is False


def test_summary_rows_do_not_stop_the_office_deleting_their_student(admin_client, summary):
    student = summary.student
    page = admin_client.get(admin_url(StudentDailySummary, "change", summary.pk))
    assert page.context["show_delete"] is False  # no Delete button on the row itself
    response = admin_client.post(admin_url(type(student), "delete", student.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not StudentDailySummary.objects.filter(pk=summary.pk).exists()
    assert not type(student).objects.filter(pk=student.pk).exists()
