import pytest

from tests import factories


@pytest.mark.django_db
def test_factories_build_a_consistent_school():
    grade = factories.GradeFactory()
    submission = grade.submission
    assert submission.student.class_group_id == submission.homework.class_group_id
    assert grade.max_score == submission.homework.max_score
    mark = factories.AttendanceFactory()
    assert mark.student.class_group_id == mark.lesson.class_group_id
