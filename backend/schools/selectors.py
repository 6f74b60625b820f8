"""Who a user is (their one role), what they may see (their read scope) and what they may write (their teaching
authority), shared by every API and page. docs/security.md ("Scope") states the rules these functions implement.

Read scope: ``*_visible_to(user=...)``. Teaching authority (what a teacher may write): ``taught_by(...)`` and
``teaches(...)``, from the teacher's ``TeachingAssignment``s; admins write for their school, a district operator
for every school.
"""

import datetime
import enum
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from core.models import User
from schools.models import (
    AcademicTerm,
    ClassGroup,
    Guardian,
    SchoolAdmin,
    Student,
    Subject,
    Teacher,
    TeachingAssignment,
)


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
# The profiles (and what a request of each role reads next) that API authentication reads with the user, so the
# role look-up below queries nothing (core.authentication).
USER_PROFILES = ("school_admin", "teacher__school", "guardian", "student")


@dataclass(frozen=True)
class UserRole:
    role: Role
    school_id: int | None = None
    profile: SchoolAdmin | Teacher | Guardian | Student | None = None


def user_role(*, user) -> UserRole:
    """The role a user acts in: superusers are district operators, anyone else acts through their profile."""
    if not user.is_authenticated or not user.is_active:
        # A deactivated user is refused by authentication already; acting as nobody here too is the second lock.
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


def subjects_visible_to(*, user) -> QuerySet[Subject]:
    """Subjects of the user's school (a student's and a guardian's too: the school's timetable is no secret)."""
    return subjects_of_users_school(user=user)


def teachers_visible_to(*, user) -> QuerySet[Teacher]:
    """Staff and admins see their school's teachers; a student or guardian the teachers of their classes."""
    role = user_role(user=user)
    if role.role in (Role.STUDENT, Role.GUARDIAN):
        return Teacher.objects.filter(
            assignments__class_group__in=class_groups_visible_to(user=user).values("pk")
        ).distinct()
    if role.role is Role.TEACHER:
        return Teacher.objects.filter(school_id=role.school_id)
    return in_users_school(Teacher.objects.all(), user=user)


def guardians_visible_to(*, user) -> QuerySet[Guardian]:
    """An admin sees their school's guardians; a teacher the guardians of the students they see."""
    role = user_role(user=user)
    if role.role is Role.TEACHER:
        return Guardian.objects.filter(students__in=students_visible_to(user=user).values("pk")).distinct()
    if role.role in (Role.SCHOOL_ADMIN, Role.DISTRICT_OPERATOR):
        return in_users_school(Guardian.objects.all(), user=user)
    return Guardian.objects.none()


def staff_users_visible_to(*, user) -> QuerySet[User]:
    """Users who work at the user's school (its teachers and admins, who log communications); every user for a
    district operator; nobody for anyone else."""
    role = user_role(user=user)
    if role.role is Role.DISTRICT_OPERATOR:
        return User.objects.all()
    if role.role not in (Role.TEACHER, Role.SCHOOL_ADMIN):
        return User.objects.none()
    return User.objects.filter(Q(teacher__school_id=role.school_id) | Q(school_admin__school_id=role.school_id))


def terms_visible_to(*, user) -> QuerySet[AcademicTerm]:
    return in_users_school(AcademicTerm.objects.all(), user=user)


# --- teaching authority: what a teacher may write --------------------------------------------------------------


def taught_by(
    queryset: QuerySet,
    *,
    user,
    class_group_field: str = "class_group",
    subject_field: str | None = "subject",
    school_field: str = "class_group__school",
    teacher_field: str | None = None,
) -> QuerySet:
    """The rows of ``queryset`` the user may write as their teacher or admin (having held a lesson in a class
    without an assignment gives read scope there, never authority).

    A teacher: rows whose (class, subject) is one of their teaching assignments; a row with no subject (the daily
    register; or, with ``subject_field=None``, a row that belongs to the class as a whole, such as a behaviour
    score) is theirs when they have any assignment in its class; with ``teacher_field``, also the rows that name
    them as their teacher (a lesson or homework an admin gave them, e.g. as a substitute: a teacher can only name
    themself for their own pairs). An admin: the rows of their school; a district operator: every row; anyone
    else: none.
    """
    role = user_role(user=user)
    if role.role in (Role.SCHOOL_ADMIN, Role.DISTRICT_OPERATOR):
        return in_users_school(queryset, user=user, school_field=school_field)
    if role.role is not Role.TEACHER:
        return queryset.none()
    assignments = TeachingAssignment.objects.filter(teacher=role.profile)
    in_assigned_class = Q(**{f"{class_group_field}__in": assignments.values("class_group")})
    if subject_field is None:
        return queryset.filter(in_assigned_class)
    pair = Exists(assignments.filter(class_group=OuterRef(class_group_field), subject=OuterRef(subject_field)))
    allowed = pair | (Q(**{f"{subject_field}__isnull": True}) & in_assigned_class)
    if teacher_field is not None:
        allowed |= Q(**{teacher_field: role.profile.pk})
    return queryset.filter(allowed)


def teaches(*, user, class_group: ClassGroup, subject: Subject | None) -> bool:
    """Whether the user may write for this class and subject (``None``: the class's daily register, or something of
    the class as a whole) -- the rule of ``taught_by`` for a row not yet saved."""
    role = user_role(user=user)
    if role.role is Role.DISTRICT_OPERATOR:
        return True
    if role.role is Role.SCHOOL_ADMIN:
        return class_group.school_id == role.school_id
    if role.role is not Role.TEACHER:
        return False
    assignments = TeachingAssignment.objects.filter(teacher=role.profile, class_group=class_group)
    return assignments.filter(subject=subject).exists() if subject is not None else assignments.exists()


def teaching_refusal(*, user, class_group: ClassGroup, subject: Subject | None = None, **_) -> dict[str, str]:
    """Why the user may not write for this class and subject, by field (empty when they may): the 400 of a create."""
    if teaches(user=user, class_group=class_group, subject=subject):
        return {}
    if subject is None:
        return {"class_group": "You have no teaching assignment in this class."}
    return {"subject": "You do not teach this subject to this class (no such teaching assignment)."}


def students_taught_by(*, user) -> QuerySet[Student]:
    """Students the user may write for as a whole (behaviour, messages to their guardians): a teacher's are the
    students of the classes they have an assignment in; an admin's their school's."""
    return taught_by(Student.objects.all(), user=user, subject_field=None, school_field="school")


def guardians_writable_by(*, user) -> QuerySet[Guardian]:
    """Guardians the user may log a message to: a teacher the guardians of students they teach; an admin their
    school's."""
    role = user_role(user=user)
    if role.role is Role.TEACHER:
        return Guardian.objects.filter(students__in=students_taught_by(user=user).values("pk")).distinct()
    return taught_by(Guardian.objects.all(), user=user, subject_field=None, school_field="school")


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
