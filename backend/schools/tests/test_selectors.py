import pytest
from django.contrib.auth.models import AnonymousUser

from schools.selectors import (
    Role,
    UserRole,
    class_groups_taught_by,
    class_groups_visible_to,
    students_visible_to,
    teachers_assignable_by,
    user_role,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def pupils(class_group):
    """Two students of ``class_group``, one of another class of the school, one of another school."""
    school = class_group.school
    return {
        "first": factories.StudentFactory(school=school, class_group=class_group, user=factories.UserFactory()),
        "second": factories.StudentFactory(school=school, class_group=class_group),
        "other class": factories.StudentFactory(school=school),
        "other school": factories.StudentFactory(),
    }


def test_the_role_comes_from_the_profile(school, teacher):
    admin = factories.SchoolAdminFactory(school=school)
    guardian = factories.GuardianFactory(school=school)
    student = factories.StudentFactory(school=school, user=factories.UserFactory())

    assert user_role(user=admin.user) == UserRole(Role.SCHOOL_ADMIN, school.pk, admin)
    assert user_role(user=teacher.user) == UserRole(Role.TEACHER, school.pk, teacher)
    assert user_role(user=guardian.user) == UserRole(Role.GUARDIAN, school.pk, guardian)
    assert user_role(user=student.user) == UserRole(Role.STUDENT, school.pk, student)
    assert user_role(user=factories.UserFactory(is_superuser=True)).role is Role.DISTRICT_OPERATOR
    assert user_role(user=factories.UserFactory()).role is Role.NONE
    assert user_role(user=AnonymousUser()).role is Role.NONE


def test_an_admin_who_also_teaches_acts_as_admin(school, teacher):
    factories.SchoolAdminFactory(school=school, user=teacher.user)

    assert user_role(user=teacher.user).role is Role.SCHOOL_ADMIN


def visible(user) -> set[int]:
    return set(students_visible_to(user=user).values_list("pk", flat=True))


def test_students_visible_to_each_role(school, teacher, pupils):
    first, second, other_class, _ = pupils.values()
    guardian = factories.GuardianFactory(school=school, students=[second, other_class])

    assert visible(first.user) == {first.pk}
    assert visible(guardian.user) == {second.pk, other_class.pk}
    assert visible(teacher.user) == {first.pk, second.pk}
    assert visible(factories.SchoolAdminFactory(school=school).user) == {first.pk, second.pk, other_class.pk}
    assert visible(factories.UserFactory(is_superuser=True)) == {s.pk for s in pupils.values()}
    assert visible(factories.UserFactory()) == set()
    assert visible(AnonymousUser()) == set()


def test_a_teacher_teaches_their_assigned_classes_and_the_classes_of_their_lessons(school, teacher, class_group):
    substituted = factories.ClassGroupFactory(school=school)
    factories.LessonFactory(class_group=substituted, teacher=teacher)
    factories.ClassGroupFactory(school=school)

    assert set(class_groups_taught_by(teacher=teacher)) == {class_group, substituted}


def test_class_groups_visible_to_guardians_are_their_childrens(school, class_group, pupils):
    guardian = factories.GuardianFactory(school=school, students=[pupils["first"]])

    assert list(class_groups_visible_to(user=guardian.user)) == [class_group]


def test_a_teacher_may_record_work_only_for_themself(school, teacher):
    colleague = factories.TeacherFactory(school=school)
    factories.TeacherFactory()

    assert list(teachers_assignable_by(user=teacher.user)) == [teacher]
    assert set(teachers_assignable_by(user=factories.SchoolAdminFactory(school=school).user)) == {teacher, colleague}
