import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.bounds import BEHAVIOUR_SCALE, GRADE_LEVEL, birth_date_errors, school_today, term_date_errors, within
from core.dates import local_date
from core.models import TrackedModel


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone (e.g. Africa/Nairobi).")


class School(TrackedModel):
    class RankScope(models.TextChoices):
        CLASS_GROUP = "CLASS_GROUP", "Class group"
        GRADE_LEVEL = "GRADE_LEVEL", "Grade level"

    name = models.CharField(max_length=200)
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="IANA time zone; dates of timestamps (submissions, messages) are taken in it.",
    )
    late_counts_as_present = models.BooleanField(
        default=True, help_text="A LATE mark counts as attended in attendance percentages."
    )
    excused_absences_excluded = models.BooleanField(
        default=False, help_text="EXCUSED marks are left out of attendance percentages altogether."
    )
    behavior_score_min = models.PositiveSmallIntegerField(default=1, validators=within(BEHAVIOUR_SCALE))
    behavior_score_max = models.PositiveSmallIntegerField(default=5, validators=within(BEHAVIOUR_SCALE))
    rank_scope = models.CharField(
        max_length=16,
        choices=RankScope.choices,
        default=RankScope.CLASS_GROUP,
        help_text="Students are ranked within their class group, or within their whole grade level.",
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(behavior_score_min__lt=F("behavior_score_max")),
                name="school_behavior_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def local_date(self, moment: datetime.datetime) -> datetime.date:
        """The calendar date of a moment in the school's own time zone."""
        return local_date(moment, self.tzinfo)


class AcademicTerm(TrackedModel):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="terms")
    name = models.CharField(max_length=100)
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        ordering = ["school_id", "start_date"]
        constraints = [
            models.CheckConstraint(condition=Q(start_date__lt=F("end_date")), name="term_start_before_end"),
            models.UniqueConstraint(fields=["school", "name"], name="term_name_unique_per_school"),
        ]
        indexes = [models.Index(fields=["school", "start_date", "end_date"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.start_date} to {self.end_date})"

    def clean(self) -> None:
        today = school_today(self.school) if self.school_id else timezone.localdate()
        errors = term_date_errors(start_date=self.start_date, end_date=self.end_date, today=today)
        if errors:
            raise ValidationError(errors)
        if self.start_date and self.end_date:
            if self.start_date >= self.end_date:
                raise ValidationError({"end_date": "The term must end after it starts."})
            if self.school_id:
                overlapping = AcademicTerm.objects.filter(
                    school_id=self.school_id,
                    start_date__lte=self.end_date,
                    end_date__gte=self.start_date,
                ).exclude(pk=self.pk)
                other = overlapping.first()
                if other is not None:
                    raise ValidationError(
                        {"start_date": f"The term overlaps {other.name} ({other.start_date} to {other.end_date})."}
                    )

    def contains(self, day: datetime.date) -> bool:
        return self.start_date <= day <= self.end_date


class Subject(TrackedModel):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="subjects")
    name = models.CharField(max_length=100)
    code = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["school", "name"], name="subject_name_unique_per_school")]

    def __str__(self) -> str:
        return self.name


class ClassGroup(TrackedModel):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="class_groups")
    name = models.CharField(max_length=50, help_text='For example "Grade 7B".')
    grade_level = models.PositiveSmallIntegerField(validators=within(GRADE_LEVEL))

    class Meta:
        ordering = ["grade_level", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["school", "name"], name="class_group_name_unique_per_school")]

    def __str__(self) -> str:
        return self.name


class SchoolAdmin(TrackedModel):
    """A member of the school office or leadership: full access to one school's data."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="school_admin")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="admins")

    class Meta:
        ordering = ["school_id", "id"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class Teacher(TrackedModel):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teacher")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="teachers")

    class Meta:
        ordering = ["school_id", "user__last_name", "user__first_name", "id"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class Student(TrackedModel):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="student"
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="students")
    class_group = models.ForeignKey(
        ClassGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="students"
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    student_number = models.CharField(max_length=32)
    date_of_birth = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["school", "student_number"], name="student_number_unique_per_school")
        ]
        indexes = [models.Index(fields=["class_group", "active"])]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def clean(self) -> None:
        errors = {}
        if self.date_of_birth:
            today = school_today(self.school) if self.school_id else timezone.localdate()
            errors |= birth_date_errors(date_of_birth=self.date_of_birth, today=today)
        if self.class_group_id and self.school_id and self.class_group.school_id != self.school_id:
            errors["class_group"] = "The class belongs to another school."
        if errors:
            raise ValidationError(errors)


class Guardian(TrackedModel):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guardian")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="guardians")
    students = models.ManyToManyField(Student, related_name="guardians", blank=True)
    phone = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["school_id", "user__last_name", "id"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class TeachingAssignment(TrackedModel):
    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="assignments")
    class_group = models.ForeignKey(ClassGroup, on_delete=models.CASCADE, related_name="assignments")
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="assignments")

    class Meta:
        ordering = ["class_group_id", "subject_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["teacher", "class_group", "subject"], name="teaching_assignment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.teacher} teaches {self.subject} to {self.class_group}"

    def clean(self) -> None:
        school_ids = {
            getattr(self, name).school_id
            for name in ("teacher", "class_group", "subject")
            if getattr(self, f"{name}_id", None)
        }
        if len(school_ids) > 1:
            raise ValidationError("Teacher, class and subject must belong to the same school.")
