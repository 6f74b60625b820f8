from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.bounds import LESSON_PERIOD, within
from core.models import TrackedModel, rows_lockable
from schools.models import ClassGroup, Student, Subject, Teacher


class AttendanceStatus(models.TextChoices):
    PRESENT = "PRESENT", "Present"
    LATE = "LATE", "Late"
    ABSENT = "ABSENT", "Absent"
    EXCUSED = "EXCUSED", "Excused (authorised absence)"


class Lesson(TrackedModel):
    """One held lesson. A school that takes one daily register has one lesson a day with no subject."""

    class_group = models.ForeignKey(ClassGroup, on_delete=models.PROTECT, related_name="lessons")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, null=True, blank=True, related_name="lessons")
    teacher = models.ForeignKey(Teacher, on_delete=models.PROTECT, related_name="lessons")
    date = models.DateField()
    period = models.PositiveSmallIntegerField(default=1, validators=within(LESSON_PERIOD))

    class Meta:
        ordering = ["-date", "period", "id"]
        constraints = [
            models.UniqueConstraint(fields=["class_group", "date", "period"], name="lesson_unique_per_period"),
        ]
        indexes = [
            models.Index(fields=["class_group", "date"]),
            models.Index(fields=["teacher", "date"]),
            models.Index(fields=["date"]),
        ]

    def __str__(self) -> str:
        subject = self.subject.name if self.subject_id else "Register"
        return f"{self.class_group} {subject} {self.date} P{self.period}"

    def clean(self) -> None:
        school_id = self.class_group.school_id if self.class_group_id else None
        if school_id is None:
            return
        if self.teacher_id and self.teacher.school_id != school_id:
            raise ValidationError({"teacher": "The teacher works at another school."})
        if self.subject_id and self.subject.school_id != school_id:
            raise ValidationError({"subject": "The subject belongs to another school."})
        if (
            self.date
            and not self.class_group.school.terms.filter(start_date__lte=self.date, end_date__gte=self.date).exists()
        ):
            raise ValidationError({"date": f"{self.date} is not within any term of the school."})


class Attendance(TrackedModel):
    """One student's mark at one lesson."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="attendance_marks")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="marks")
    status = models.CharField(max_length=8, choices=AttendanceStatus.choices)
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["lesson_id", "student_id"]
        constraints = [
            models.UniqueConstraint(fields=["student", "lesson"], name="attendance_one_mark_per_lesson"),
            models.CheckConstraint(
                condition=models.Q(status__in=AttendanceStatus.values), name="attendance_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["lesson", "status"])]

    def __str__(self) -> str:
        return f"{self.student} {self.status} at {self.lesson}"

    def clean(self) -> None:
        if self.lesson_id and rows_lockable():
            # Validated and saved in one transaction (the admin): hold the lesson first (the lock order), so a
            # roll call of it running now commits before the unique check that follows sees the marks.
            Lesson.objects.select_for_update(no_key=True).filter(pk=self.lesson_id).values_list("pk").first()
        # Checked for new marks only: a student who later changes class keeps their old marks.
        if (
            self._state.adding
            and self.student_id
            and self.lesson_id
            and self.student.class_group_id != self.lesson.class_group_id
        ):
            raise ValidationError({"student": "The student is not in the lesson's class."})
