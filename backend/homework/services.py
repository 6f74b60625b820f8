import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from core.conflicts import conflict_retried
from homework.models import Grade, Homework, HomeworkSubmission
from schools.models import ClassGroup, Student, Subject, Teacher


@conflict_retried
def homework_create(
    *,
    class_group: ClassGroup,
    subject: Subject,
    teacher: Teacher,
    title: str,
    assigned_date: datetime.date,
    due_date: datetime.date,
    max_score: Decimal,
    description: str = "",
) -> Homework:
    """Set homework for a class."""
    homework = Homework(
        class_group=class_group,
        subject=subject,
        teacher=teacher,
        title=title,
        description=description,
        assigned_date=assigned_date,
        due_date=due_date,
        max_score=max_score,
    )
    homework.full_clean()
    homework.save()
    return homework


@conflict_retried
def submission_create(
    *, homework: Homework, student: Student, content: str = "", submitted_at: datetime.datetime | None = None
) -> HomeworkSubmission:
    """Record a student's submission of homework (one per student), handed in now unless told otherwise."""
    submission = HomeworkSubmission(
        homework=homework, student=student, content=content, submitted_at=submitted_at or timezone.now()
    )
    submission.full_clean()
    submission.save()
    return submission


def _graded_rows_lock(*, submission_id: int) -> HomeworkSubmission:
    """Hold the submission's homework, then the submission, then its grade, in the documented lock order.

    Returns the submission with its homework read after the locks (so ``max_score`` is the one that holds
    until commit: a concurrent edit of it waits for this transaction, or this one for the edit).
    On SQLite (no row locks: a writer holds the whole database) only the submission is read.
    """
    locking = connection.features.has_select_for_update
    if locking:
        homework_id = HomeworkSubmission.objects.filter(pk=submission_id).values("homework_id")
        list(Homework.objects.select_for_update(no_key=True).filter(pk__in=homework_id).values_list("pk", flat=True))
    submission = (
        HomeworkSubmission.objects.select_for_update(of=("self",)).select_related("homework").get(pk=submission_id)
    )
    if locking:
        grades = Grade.objects.select_for_update(no_key=True).filter(submission_id=submission_id)
        list(grades.values_list("pk", flat=True))
    return submission


@conflict_retried
def grade_record(
    *, submission: HomeworkSubmission, score: Decimal, feedback: str = "", graded_by
) -> tuple[Grade, bool]:
    """Grade a submission, or re-grade it (the grade is updated); returns the grade and whether it is new.

    Saved through the model so its per-row signals fire, inside the transaction.
    """
    with transaction.atomic():
        # Locking the submission makes two teachers grading it at once update one grade in turn; locking its
        # homework first (the lock order) makes an edit of max_score wait, or be waited for, never interleave.
        submission = _graded_rows_lock(submission_id=submission.pk)
        grade = Grade.objects.filter(submission=submission).first() or Grade(submission=submission)
        grade.submission = submission  # with the homework read after the locks
        created = grade.pk is None
        grade.score, grade.feedback, grade.graded_by, grade.graded_at = score, feedback, graded_by, timezone.now()
        # max_score is copied from the homework by save(); clean() checks the score against the homework.
        grade.full_clean(exclude={"max_score"})
        grade.save()
    return grade, created


@conflict_retried
def grade_delete(*, grade: Grade) -> None:
    """Remove a grade (the submission stays, ungraded)."""
    with transaction.atomic():
        _graded_rows_lock(submission_id=grade.submission_id)
        grade.delete()
