"""Summary tables: each derived field equals a from-scratch recomputation from source data.

Definitions are in docs/metrics.md. Derived fields are written only by ``analytics.services``;
teacher inputs (``behavior_score``, ``teacher_comment``) are never touched by a recomputation.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from attendance.models import AttendanceStatus
from schools.models import AcademicTerm, School, Student, Subject, Teacher

PERCENT = {"max_digits": 5, "decimal_places": 2, "validators": [MinValueValidator(0), MaxValueValidator(100)]}


class StudentDailySummary(models.Model):
    """One row per student and date that has attendance marks, homework due, or a behaviour score."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="daily_summaries")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    attendance_status = models.CharField(max_length=8, choices=AttendanceStatus.choices, null=True, blank=True)
    # Lesson marks of the day, and how many of them are attended / counted under the school's rules.
    lessons_marked = models.PositiveIntegerField(default=0)
    lessons_attended = models.PositiveIntegerField(default=0)
    lessons_counted = models.PositiveIntegerField(default=0)
    homework_due = models.PositiveIntegerField(default=0)
    homework_on_time = models.PositiveIntegerField(default=0)
    homework_late = models.PositiveIntegerField(default=0)
    homework_completed = models.BooleanField(null=True, blank=True)
    behavior_score = models.SmallIntegerField(null=True, blank=True, help_text="Teacher input.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "student daily summaries"
        ordering = ["student_id", "date"]
        constraints = [models.UniqueConstraint(fields=["student", "date"], name="daily_summary_unique")]
        indexes = [models.Index(fields=["school", "date"])]

    def __str__(self) -> str:
        return f"{self.student} {self.date}"


class StudentTermPerformance(models.Model):
    """One row per student, term and subject that has grades or attendance marks."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="term_performances")
    term = models.ForeignKey(AcademicTerm, on_delete=models.CASCADE, related_name="+")
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    average_grade = models.DecimalField(**PERCENT, null=True, blank=True)
    grades_count = models.PositiveIntegerField(default=0)
    attendance_percentage = models.DecimalField(**PERCENT, null=True, blank=True)
    lessons_marked = models.PositiveIntegerField(default=0)
    lessons_attended = models.PositiveIntegerField(default=0)
    lessons_counted = models.PositiveIntegerField(default=0)
    # Written by the nightly rank job only.
    rank = models.PositiveIntegerField(null=True, blank=True)
    rank_of = models.PositiveIntegerField(null=True, blank=True, help_text="How many were ranked.")
    teacher_comment = models.TextField(blank=True, help_text="Teacher input.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["student_id", "term_id", "subject_id"]
        constraints = [models.UniqueConstraint(fields=["student", "term", "subject"], name="term_performance_unique")]
        indexes = [models.Index(fields=["term", "subject"]), models.Index(fields=["school", "term"])]

    def __str__(self) -> str:
        return f"{self.student} {self.subject} {self.term}"


class TeacherPerformanceMetric(models.Model):
    """One row per teacher and week (starting Monday) with any lesson, homework, message or mark."""

    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="weekly_metrics")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField(help_text="The Monday the week starts on.")
    classes_taught = models.PositiveIntegerField(default=0)
    homeworks_assigned = models.PositiveIntegerField(default=0)
    parent_communications = models.PositiveIntegerField(default=0)
    average_student_attendance = models.DecimalField(**PERCENT, null=True, blank=True)
    lessons_attended = models.PositiveIntegerField(default=0)
    lessons_counted = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["teacher_id", "week_start"]
        constraints = [models.UniqueConstraint(fields=["teacher", "week_start"], name="teacher_metric_unique")]
        indexes = [models.Index(fields=["school", "week_start"])]

    def __str__(self) -> str:
        return f"{self.teacher} week of {self.week_start}"
