from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import IntegrityError, models
from django.db.models import F, Q
from django.utils import timezone

from core.bounds import school_date_errors
from core.models import TrackedModel, rows_lockable
from schools.models import ClassGroup, Student, Subject, Teacher

SCORE_DIGITS = {"max_digits": 7, "decimal_places": 2}
GRADE_WITHIN_MAX = "grade_score_within_max"


class Homework(TrackedModel):
    class_group = models.ForeignKey(ClassGroup, on_delete=models.PROTECT, related_name="homework")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="homework")
    teacher = models.ForeignKey(Teacher, on_delete=models.PROTECT, related_name="homework")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    assigned_date = models.DateField()
    due_date = models.DateField()
    max_score = models.DecimalField(**SCORE_DIGITS, validators=[MinValueValidator(Decimal("0.01"))])

    class Meta:
        ordering = ["-due_date", "id"]
        verbose_name_plural = "homework"
        constraints = [
            models.CheckConstraint(condition=Q(max_score__gt=0), name="homework_max_score_positive"),
            models.CheckConstraint(condition=Q(due_date__gte=F("assigned_date")), name="homework_due_after_assigned"),
        ]
        indexes = [
            models.Index(fields=["class_group", "due_date"]),
            models.Index(fields=["teacher", "assigned_date"]),
            models.Index(fields=["subject", "due_date"]),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.class_group}, due {self.due_date})"

    def clean(self) -> None:
        errors = {}
        if self.assigned_date and self.due_date and self.due_date < self.assigned_date:
            errors["due_date"] = "The due date is before the assigned date."
        if self.class_group_id:
            errors |= school_date_errors(
                self.class_group.school, dates={"assigned_date": self.assigned_date, "due_date": self.due_date}
            )
            school_id = self.class_group.school_id
            if self.subject_id and self.subject.school_id != school_id:
                errors["subject"] = "The subject belongs to another school."
            if self.teacher_id and self.teacher.school_id != school_id:
                errors["teacher"] = "The teacher works at another school."
        if self.pk and self.max_score:
            if rows_lockable():
                # The admin validates and saves in one transaction: holding the homework row (first, in the
                # lock order) makes a grade being recorded now either committed and seen below, or waiting
                # until this edit commits and then checked against the new maximum.
                Homework.objects.select_for_update(no_key=True).filter(pk=self.pk).values_list("pk").first()
            highest = Grade.objects.filter(submission__homework_id=self.pk).aggregate(m=models.Max("score"))["m"]
            if highest is not None and highest > self.max_score:
                errors["max_score"] = _max_score_below_grade(highest)
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        # The database copies max_score to the grades (a trigger, see migration 0002); a grade above the new
        # maximum then fails their CHECK. Said as a validation error of the field, not an integrity error.
        try:
            super().save(*args, **kwargs)
        except IntegrityError as error:
            if GRADE_WITHIN_MAX not in str(error):
                raise
            highest = Grade.objects.filter(submission__homework_id=self.pk).aggregate(m=models.Max("score"))["m"]
            raise ValidationError({"max_score": _max_score_below_grade(highest)}) from error


def _max_score_below_grade(highest) -> str:
    return f"A grade of {highest:.2f} has already been given; the maximum cannot be lower."


class HomeworkSubmission(TrackedModel):
    homework = models.ForeignKey(Homework, on_delete=models.CASCADE, related_name="submissions")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="submissions")
    submitted_at = models.DateTimeField(default=timezone.now)
    content = models.TextField(blank=True)

    class Meta:
        ordering = ["homework_id", "student_id"]
        constraints = [
            models.UniqueConstraint(fields=["homework", "student"], name="submission_one_per_student"),
        ]
        indexes = [models.Index(fields=["student", "homework"])]

    def __str__(self) -> str:
        return f"{self.student} - {self.homework.title}"

    def clean(self) -> None:
        if self.homework_id and rows_lockable():
            # As for a grade: the homework first (the lock order), so the unique check that follows is current.
            Homework.objects.select_for_update(no_key=True).filter(pk=self.homework_id).values_list("pk").first()
        errors = {}
        if self.homework_id:
            errors |= school_date_errors(
                self.homework.class_group.school, moments={"submitted_at": self.submitted_at}, past={"submitted_at"}
            )
        if (
            self._state.adding
            and self.student_id
            and self.homework_id
            and self.student.class_group_id != self.homework.class_group_id
        ):
            errors["student"] = "The student is not in the class the homework was set for."
        if errors:
            raise ValidationError(errors)


class Grade(TrackedModel):
    submission = models.OneToOneField(HomeworkSubmission, on_delete=models.CASCADE, related_name="grade")
    score = models.DecimalField(**SCORE_DIGITS, validators=[MinValueValidator(Decimal("0"))])
    # Copy of the homework's max_score, kept by the database (triggers of migration 0002: on a grade's write
    # and on a change of its homework's max_score), so the CHECK below holds under any interleaving.
    max_score = models.DecimalField(**SCORE_DIGITS, editable=False)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    graded_at = models.DateTimeField(default=timezone.now)
    feedback = models.TextField(blank=True)

    class Meta:
        ordering = ["submission_id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=F("max_score")), name=GRADE_WITHIN_MAX),
        ]

    def __str__(self) -> str:
        return f"{self.score}/{self.max_score} for {self.submission}"

    def clean(self) -> None:
        if self.submission_id and self.score is not None:
            maximum = self.submission.homework.max_score
            if rows_lockable():
                # Validated and saved in one transaction (the admin): read the maximum under the homework's
                # lock, taken first as the lock order says, so an edit of it cannot slip in before the save.
                maximum = (
                    Homework.objects.select_for_update(no_key=True)
                    .filter(pk=self.submission.homework_id)
                    .values_list("max_score", flat=True)
                    .get()
                )
            if self.score < 0 or self.score > maximum:
                raise ValidationError({"score": f"The score must be between 0 and {maximum}."})

    def save(self, *args, **kwargs):
        self.max_score = self.submission.homework.max_score
        super().save(*args, **kwargs)

    @property
    def percentage(self) -> Decimal:
        return self.score * 100 / self.max_score
