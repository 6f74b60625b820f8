"""Reads for report cards: a card's figures as plain data, built on the analytics selectors (the same figures
as the student overview API and the pages), and the students a class or school job prints, in order."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet

from analytics import selectors as analytics
from analytics.models import StudentTermAttendance
from reportcards.models import ReportCardJob
from schools.models import AcademicTerm, ClassGroup, School, Student, TeachingAssignment
from schools.selectors import Role, class_groups_visible_to, in_users_school, user_role


def term_days(*, student: Student, term: AcademicTerm) -> dict:
    """The student's school days in the term so far, by their daily status (StudentTermAttendance)."""
    row = (
        StudentTermAttendance.objects.filter(student=student, term=term)
        .values(
            "days_marked",
            "days_present",
            "days_late",
            "days_absent",
            "days_excused",
            "lessons_attended",
            "lessons_counted",
            "attendance_percentage",
            "updated_at",
        )
        .first()
    )
    if row is None:
        return {
            "marked": 0,
            "present": 0,
            "late": 0,
            "absent": 0,
            "excused": 0,
            "lessons_attended": 0,
            "lessons_counted": 0,
            "attendance_percentage": None,
            "updated_at": None,
        }
    return {
        "marked": row["days_marked"],
        "present": row["days_present"],
        "late": row["days_late"],
        "absent": row["days_absent"],
        "excused": row["days_excused"],
        "lessons_attended": row["lessons_attended"],
        "lessons_counted": row["lessons_counted"],
        "attendance_percentage": row["attendance_percentage"],
        "updated_at": row["updated_at"],
    }


def behavior_summary(*, scores: list[int], school: School) -> dict:
    """Days with a behaviour score, their mean (half-up to one decimal), lowest and highest, on the school's scale."""
    mean = None
    if scores:
        mean = (Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return {
        "days_scored": len(scores),
        "average": mean,
        "lowest": min(scores) if scores else None,
        "highest": max(scores) if scores else None,
        "scale_min": school.behavior_score_min,
        "scale_max": school.behavior_score_max,
    }


def subject_teachers(*, class_group_id: int | None) -> dict[int, str]:
    """subject id -> the names of the class's teachers of that subject (from the teaching assignments)."""
    if class_group_id is None:
        return {}
    names: dict[int, list[str]] = {}
    assignments = TeachingAssignment.objects.filter(class_group_id=class_group_id).select_related("teacher__user")
    for assignment in assignments.order_by("subject_id", "teacher__user__last_name", "teacher_id"):
        names.setdefault(assignment.subject_id, []).append(str(assignment.teacher))
    return {subject_id: ", ".join(teachers) for subject_id, teachers in names.items()}


def report_card_data(
    *,
    student: Student,
    term: AcademicTerm,
    printed_on: datetime.date | None = None,
    teachers: dict[int, str] | None = None,
) -> dict:
    """Everything printed on a student's term report card, as plain data.

    The term's figures are the student overview's (``analytics.selectors.student_overview``, the same as the
    API), plus the days by status, behaviour summed up and the subject teachers. ``teachers``: subject id ->
    names, when the caller has them for the class already (a class job reads them once).
    """
    overview = analytics.student_overview(student=student, term=term)
    days = term_days(student=student, term=term)
    if teachers is None:
        teachers = subject_teachers(class_group_id=student.class_group_id)
    school = student.school
    return {
        "school": {**overview["student"]["school"], "timezone": school.timezone},
        "student": {
            "id": student.pk,
            "name": overview["student"]["name"],
            "student_number": overview["student"]["student_number"],
        },
        "class_group": overview["student"]["class_group"],
        "term": overview["term"],
        "printed_on": printed_on or analytics.school_today(school=school),
        "as_of": _newest(overview["as_of"], days.pop("updated_at")),
        "overall": overview["overall"],
        "subjects": [{**row, "teacher": teachers.get(row["subject"]["id"], "")} for row in overview["subjects"]],
        "days": days,
        "homework": overview["homework"],
        "behavior": behavior_summary(scores=[day["score"] for day in overview["behavior"]], school=school),
    }


def _newest(*moments: datetime.datetime | None) -> datetime.datetime | None:
    present = [moment for moment in moments if moment is not None]
    return max(present) if present else None


# --- what a job prints ----------------------------------------------------------------------------


def class_students(*, class_group: ClassGroup) -> QuerySet[Student]:
    """The active students of a class, in class order (by name), with what a card reads of them."""
    return (
        Student.objects.filter(class_group=class_group, active=True)
        .select_related("school", "class_group")
        .order_by("last_name", "first_name", "id")
    )


def unplaced_students(*, school: School) -> QuerySet[Student]:
    """Active students of the school without a class, in order by name."""
    return (
        Student.objects.filter(school=school, class_group__isnull=True, active=True)
        .select_related("school", "class_group")
        .order_by("last_name", "first_name", "id")
    )


def school_classes(*, school: School) -> QuerySet[ClassGroup]:
    """The school's classes that have an active student, in the school's order (grade, then name)."""
    return (
        ClassGroup.objects.filter(school=school, students__active=True).distinct().order_by("grade_level", "name", "id")
    )


def job_student_count(*, school: School, class_group: ClassGroup | None) -> int:
    if class_group is not None:
        return class_students(class_group=class_group).count()
    return Student.objects.filter(school=school, active=True).count()


def class_groups_printable_by(*, user) -> QuerySet[ClassGroup]:
    """Classes whose cards the user may print in bulk: a teacher the classes taught, an admin their school's."""
    role = user_role(user=user)
    if role.role in (Role.TEACHER, Role.SCHOOL_ADMIN, Role.DISTRICT_OPERATOR):
        return class_groups_visible_to(user=user)
    return ClassGroup.objects.none()


def schools_printable_by(*, user) -> QuerySet[School]:
    """Schools whose whole set of cards the user may print: an admin their own, a district operator any."""
    role = user_role(user=user)
    if role.role not in (Role.SCHOOL_ADMIN, Role.DISTRICT_OPERATOR):
        return School.objects.none()
    return in_users_school(School.objects.all(), user=user, school_field="pk")


def jobs_visible_to(*, user) -> QuerySet[ReportCardJob]:
    """A user sees the jobs they started; an admin every job of their school; a district operator all."""
    role = user_role(user=user)
    jobs = ReportCardJob.objects.select_related("school", "term", "class_group")
    if role.role in (Role.SCHOOL_ADMIN, Role.DISTRICT_OPERATOR):
        return in_users_school(jobs, user=user)
    return jobs.filter(requested_by=user)
