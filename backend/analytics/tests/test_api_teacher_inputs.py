"""Teacher inputs through the API: behaviour scores and comments, kept by every recomputation."""

import datetime

import pytest
from django.core.management import call_command

from analytics.models import StudentDailySummary, StudentTermPerformance
from attendance.models import AttendanceStatus
from tests import factories

DAY = datetime.date(2026, 9, 8)


@pytest.fixture
def setting(school, class_group, teacher):
    student = factories.StudentFactory(school=school, class_group=class_group)
    subject = teacher.assignments.get().subject
    lesson = factories.LessonFactory(class_group=class_group, subject=subject, teacher=teacher, date=DAY)
    factories.AttendanceFactory(lesson=lesson, student=student, status=AttendanceStatus.LATE)
    return student, subject, school.terms.get()


@pytest.mark.django_db
def test_teacher_sets_and_clears_a_behaviour_score_and_the_figures_stay(api_client, teacher, setting):
    student, _, _ = setting
    api_client.force_authenticate(teacher.user)
    url = f"/api/analytics/student/{student.pk}/behavior/"

    response = api_client.put(url, {"date": "2026-09-08", "score": 4}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"date": "2026-09-08", "score": 4}
    row = StudentDailySummary.objects.get(student=student, date=DAY)
    assert (row.behavior_score, row.attendance_status, row.lessons_marked) == (4, "LATE", 1)

    call_command("rebuild_analytics", "--quiet-progress")
    assert StudentDailySummary.objects.get(student=student, date=DAY).behavior_score == 4

    assert api_client.put(url, {"date": "2026-09-08", "score": None}, format="json").json()["score"] is None
    assert StudentDailySummary.objects.get(student=student, date=DAY).behavior_score is None


@pytest.mark.django_db
def test_a_score_on_a_day_without_data_makes_a_row_that_clearing_removes(api_client, teacher, setting):
    student, _, _ = setting
    api_client.force_authenticate(teacher.user)
    url = f"/api/analytics/student/{student.pk}/behavior/"
    api_client.put(url, {"date": "2026-09-09", "score": 2}, format="json")
    row = StudentDailySummary.objects.get(student=student, date=datetime.date(2026, 9, 9))
    assert (row.behavior_score, row.attendance_status, row.lessons_marked) == (2, None, 0)
    api_client.put(url, {"date": "2026-09-09", "score": None}, format="json")
    assert not StudentDailySummary.objects.filter(student=student, date=datetime.date(2026, 9, 9)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"date": "2026-09-08", "score": 6}, "score"),
        ({"date": "2026-09-08", "score": 0}, "score"),
        ({"date": "2026-09-08", "score": "good"}, "score"),
        ({"date": "2020-01-01", "score": 3}, "date"),
        ({"date": "not-a-date", "score": 3}, "date"),
        ({"score": 3}, "date"),
    ],
)
def test_bad_behaviour_input_is_400_naming_the_field_and_writes_nothing(api_client, teacher, setting, payload, field):
    student, _, _ = setting
    api_client.force_authenticate(teacher.user)
    before = list(StudentDailySummary.objects.values())
    response = api_client.put(f"/api/analytics/student/{student.pk}/behavior/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert list(StudentDailySummary.objects.values()) == before


@pytest.mark.django_db
def test_teacher_comment_survives_recomputation(api_client, teacher, setting):
    student, subject, term = setting
    api_client.force_authenticate(teacher.user)
    url = f"/api/analytics/student/{student.pk}/teacher-comment/"
    response = api_client.put(
        url, {"term": term.pk, "subject": subject.pk, "comment": "Punctual, please."}, format="json"
    )
    assert response.status_code == 200, response.json()
    row = StudentTermPerformance.objects.get(student=student, term=term, subject=subject)
    assert (row.teacher_comment, str(row.attendance_percentage), row.lessons_marked) == (
        "Punctual, please.",
        "100.00",
        1,
    )

    StudentTermPerformance.objects.update(attendance_percentage=None)  # drift
    call_command("rebuild_analytics", "--quiet-progress")
    row.refresh_from_db()
    assert (row.teacher_comment, str(row.attendance_percentage)) == ("Punctual, please.", "100.00")


@pytest.mark.django_db
def test_only_the_teacher_of_the_subject_or_an_admin_may_comment(
    api_client, school, class_group, setting, school_admin
):
    student, subject, term = setting
    other_teacher = factories.TeachingAssignmentFactory(teacher__school=school, class_group=class_group).teacher
    url = f"/api/analytics/student/{student.pk}/teacher-comment/"
    payload = {"term": term.pk, "subject": subject.pk, "comment": "Well done."}

    api_client.force_authenticate(other_teacher.user)
    assert api_client.put(url, payload, format="json").status_code == 403
    api_client.force_authenticate(school_admin.user)
    assert api_client.put(url, payload, format="json").status_code == 200


@pytest.mark.django_db
def test_teacher_inputs_access(api_client, school, setting):
    student, _, _ = setting
    url = f"/api/analytics/student/{student.pk}/behavior/"
    payload = {"date": "2026-09-08", "score": 3}
    assert api_client.put(url, payload, format="json").status_code == 401

    guardian = factories.GuardianFactory(school=school, students=[student])
    api_client.force_authenticate(guardian.user)
    assert api_client.put(url, payload, format="json").status_code == 403

    stranger = factories.TeacherFactory(school=school)  # teaches no class of this student
    api_client.force_authenticate(stranger.user)
    assert api_client.put(url, payload, format="json").status_code == 404

    other_admin = factories.SchoolAdminFactory()
    api_client.force_authenticate(other_admin.user)
    assert api_client.put(url, payload, format="json").status_code == 404
    assert not StudentDailySummary.objects.filter(behavior_score__isnull=False).exists()
