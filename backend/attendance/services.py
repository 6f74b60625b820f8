import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from attendance.models import Attendance, Lesson
from attendance.signals import marks_bulk_changed
from core.bounds import plausible_ids
from core.conflicts import conflict_retried
from schools.models import ClassGroup, Student, Subject, Teacher
from schools.selectors import term_containing

ROLL_CALL_MAX_MARKS = 500
# Checked for the whole roll call at once (set-based) rather than row by row.
MARK_FIELDS_CHECKED_TOGETHER = {"student", "lesson", "recorded_by"}


@conflict_retried
def lesson_create(
    *, class_group: ClassGroup, teacher: Teacher, date: datetime.date, period: int = 1, subject: Subject | None = None
) -> Lesson:
    """Create a held lesson (its date must fall within a term of the school)."""
    lesson = Lesson(class_group=class_group, teacher=teacher, date=date, period=period, subject=subject)
    lesson.full_clean()
    lesson.save()
    return lesson


@conflict_retried
def roll_call_record(*, lesson: Lesson, marks: list[dict], recorded_by) -> list[Attendance]:
    """Replace the lesson's whole roll call with ``marks`` ({student_id, status, note}), all or nothing.

    Only marks that are new or differ are written (one upsert), marks of students left out are deleted (one
    delete), and ``marks_bulk_changed`` names the students whose marks changed, inside the transaction.
    """
    with transaction.atomic():
        # Locking the lesson makes two roll calls of it run one after the other, each seeing the other's marks.
        lesson = Lesson.objects.select_for_update(of=("self",)).select_related("class_group").get(pk=lesson.pk)
        recorded_at = timezone.now()
        rows = [
            Attendance(
                lesson=lesson,
                student_id=mark["student_id"],
                status=mark["status"],
                note=mark.get("note", ""),
                recorded_by=recorded_by,
                recorded_at=recorded_at,
            )
            for mark in marks
        ]
        _roll_call_validate(lesson=lesson, rows=rows)
        current = {mark.student_id: (mark.status, mark.note) for mark in lesson.marks.all()}
        changed = [row for row in rows if current.get(row.student_id) != (row.status, row.note)]
        removed = current.keys() - {row.student_id for row in rows}
        Attendance.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["student", "lesson"],
            update_fields=["status", "note", "recorded_by", "recorded_at", "updated_at"],
        )
        if removed:
            # One DELETE, without a per-row signal for each mark: marks_bulk_changed below names them all.
            # (Nothing references a mark, so there is nothing to cascade.)
            removing = Attendance.objects.filter(lesson=lesson, student_id__in=removed)
            removing._raw_delete(removing.db)
        student_ids = {row.student_id for row in changed} | removed
        if student_ids:
            marks_bulk_changed.send(sender=Attendance, lesson_ids={lesson.pk}, student_ids=student_ids)
    return list(lesson.marks.all())


def _roll_call_validate(*, lesson: Lesson, rows: list[Attendance]) -> None:
    if term_containing(school_id=lesson.class_group.school_id, day=lesson.date) is None:
        raise ValidationError({"lesson": f"The lesson's date {lesson.date} is not within any term of the school."})
    if not 0 < len(rows) <= ROLL_CALL_MAX_MARKS:
        raise ValidationError({"marks": f"Give between 1 and {ROLL_CALL_MAX_MARKS} marks."})
    # A student who has since changed class keeps their mark at this lesson, so it can still be corrected.
    members = set(
        Student.objects.filter(Q(class_group_id=lesson.class_group_id) | Q(pk__in=lesson.marks.values("student")))
        .filter(pk__in=plausible_ids(row.student_id for row in rows))
        .values_list("pk", flat=True)
    )
    errors, seen = [], set()
    for index, row in enumerate(rows):
        if row.student_id in seen:
            errors.append(f"marks[{index}].student_id: student {row.student_id} is marked twice.")
        elif row.student_id not in members:
            errors.append(f"marks[{index}].student_id: student {row.student_id} is not in the lesson's class.")
        seen.add(row.student_id)
        try:
            row.clean_fields(exclude=MARK_FIELDS_CHECKED_TOGETHER)
        except ValidationError as error:
            errors += [
                f"marks[{index}].{field}: {message}"
                for field, messages in error.message_dict.items()
                for message in messages
            ]
    if errors:
        raise ValidationError({"marks": errors})
