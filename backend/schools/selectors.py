"""Who a user is (their one role) and what they may see (their scope), shared by every API."""

import datetime
import enum
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from schools.models import AcademicTerm, ClassGroup, Guardian, SchoolAdmin, Student, Subject, Teacher


class Role(enum.StrEnum):
    DISTRICT_OPERATOR = "district_operator"
    SCHOOL_ADMIN = "school_admin"
    TEACHER = "teacher"
    GUARDIAN = "guardian"
    STUDENT = "student"
    NONE = "none"


# Profile relations of a user, in the order that decides the role of someone who has several.
PROFILE_ROLES = (
    ("school_admin", Role.SCHOOL_ADMIN),
    ("teacher", Role.TEACHER),
    ("guardian", Role.GUARDIAN),
    ("student", Role.STUDENT),
)


@dataclass(frozen=True)
class UserRole:
    role: Role
    school_id: int | None = None
    profile: SchoolAdmin | Teacher | Guardian | Student | None = None


def user_role(*, user) -> UserRole:
    """The role a user acts in: superusers are district operators, anyone else acts through their profile."""
    if not user.is_authenticated:
        return UserRole(Role.NONE)
    if user.is_superuser:
        return UserRole(Role.DISTRICT_OPERATOR)
    for relation, role in PROFILE_ROLES:
        # A missing profile raises RelatedObjectDoesNotExist, an AttributeError; Django caches the miss too.
        profile = getattr(user, relation, None)
        if profile is not None:
            return UserRole(role, profile.school_id, profile)
    return UserRole(Role.NONE)


def in_users_school(queryset: QuerySet, *, user, school_field: str = "school") -> QuerySet:
    """The rows of the user's own school (of every school for a district operator)."""
    role = user_role(user=user)
    if role.role is Role.DISTRICT_OPERATOR:
        return queryset
    if role.school_id is None:
        return queryset.none()
    return queryset.filter(**{school_field: role.school_id})


def class_groups_taught_by(*, teacher: Teacher) -> QuerySet[ClassGroup]:
    """Classes the teacher has a teaching assignment for or has held a lesson with."""
    return ClassGroup.objects.filter(
        Q(pk__in=teacher.assignments.values("class_group")) | Q(pk__in=teacher.lessons.values("class_group"))
    )


def students_visible_to(*, user) -> QuerySet[Student]:
    """A student sees themself, a guardian their children, a teacher the students of their classes, an admin
    their school, a district operator everyone."""
    role = user_role(user=user)
    students = Student.objects.all()
    match role.role:
        case Role.STUDENT:
            return students.filter(pk=role.profile.pk)
        case Role.GUARDIAN:
            return students.filter(guardians=role.profile)
        case Role.TEACHER:
            return students.filter(class_group__in=class_groups_taught_by(teacher=role.profile))
    return in_users_school(students, user=user)


def class_groups_visible_to(*, user) -> QuerySet[ClassGroup]:
    """The classes of the students a user sees; for a teacher, the classes they teach."""
    role = user_role(user=user)
    match role.role:
        case Role.STUDENT | Role.GUARDIAN:
            return ClassGroup.objects.filter(pk__in=students_visible_to(user=user).values("class_group"))
        case Role.TEACHER:
            return class_groups_taught_by(teacher=role.profile)
    return in_users_school(ClassGroup.objects.all(), user=user)


def teachers_assignable_by(*, user) -> QuerySet[Teacher]:
    """Teachers the user may record lessons and homework for: a teacher only themself, an admin their school's."""
    role = user_role(user=user)
    if role.role is Role.TEACHER:
        return Teacher.objects.filter(pk=role.profile.pk)
    return in_users_school(Teacher.objects.all(), user=user)


def subjects_of_users_school(*, user) -> QuerySet[Subject]:
    return in_users_school(Subject.objects.all(), user=user)


def guardians_of_users_school(*, user) -> QuerySet[Guardian]:
    return in_users_school(Guardian.objects.all(), user=user)


def term_containing(*, school_id: int, day: datetime.date) -> AcademicTerm | None:
    """The school's term that the day falls in (terms of a school do not overlap)."""
    return AcademicTerm.objects.filter(school_id=school_id, start_date__lte=day, end_date__gte=day).first()


def subjects_commentable_by(*, user, student: Student) -> QuerySet[Subject]:
    """Subjects in which the user may write a student's teacher comment: a teacher those they teach the
    student's class, an admin every subject of the student's school (the student must be in their scope)."""
    role = user_role(user=user)
    subjects = Subject.objects.filter(school_id=student.school_id)
    if role.role is Role.TEACHER:
        return subjects.filter(
            assignments__teacher=role.profile, assignments__class_group_id=student.class_group_id
        ).distinct()
    if role.role in (Role.SCHOOL_ADMIN, Role.DISTRICT_OPERATOR):
        return in_users_school(subjects, user=user)
    return subjects.none()
