import pytest

from attendance.models import Attendance, AttendanceStatus, Lesson
from tests import factories
from tests.admin_forms import admin_url, post_changeform

pytestmark = pytest.mark.django_db


@pytest.fixture
def lesson(class_group, teacher):
    return factories.LessonFactory(class_group=class_group, teacher=teacher, subject=teacher.assignments.get().subject)


def test_marks_are_taken_inside_the_saved_lesson(admin_client, admin_user, lesson):
    assert admin_client.get(admin_url(Lesson, "add")).context["inline_admin_formsets"] == []
    student = factories.StudentFactory(school=lesson.class_group.school, class_group=lesson.class_group)
    response = post_changeform(
        admin_client,
        admin_url(Lesson, "change", lesson.pk),
        {"marks-0-student": student.pk, "marks-0-status": AttendanceStatus.LATE},
    )
    assert response.status_code == 302
    mark = lesson.marks.get()
    assert (mark.student, mark.status, mark.recorded_by) == (student, AttendanceStatus.LATE, admin_user)


def test_a_mark_for_a_student_of_another_class_is_refused(admin_client, lesson):
    stranger = factories.StudentFactory(school=lesson.class_group.school)
    response = post_changeform(
        admin_client,
        admin_url(Lesson, "change", lesson.pk),
        {"marks-0-student": stranger.pk, "marks-0-status": AttendanceStatus.PRESENT},
    )
    assert response.status_code == 200
    assert "not in the lesson's class" in str(response.context["inline_admin_formsets"][0].formset.errors)
    assert not Attendance.objects.exists()


def test_correcting_a_mark_records_who_corrected_it(admin_client, admin_user, lesson):
    mark = factories.AttendanceFactory(lesson=lesson, status=AttendanceStatus.ABSENT)
    response = post_changeform(admin_client, admin_url(Attendance, "change", mark.pk), {"status": "EXCUSED"})
    assert response.status_code == 302
    mark.refresh_from_db()
    assert (mark.status, mark.recorded_by) == (AttendanceStatus.EXCUSED, admin_user)
