"""A bulk report-card job: the cards of a class (one PDF) or of a school (a zip of class PDFs), with progress."""

from django.conf import settings
from django.db import models

from schools.models import AcademicTerm, ClassGroup, School


class ReportCardJob(models.Model):
    """One request for a class's or a school's report cards; ``done`` of ``total`` students rendered so far."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    term = models.ForeignKey(AcademicTerm, on_delete=models.CASCADE, related_name="+")
    class_group = models.ForeignKey(
        ClassGroup, on_delete=models.CASCADE, null=True, blank=True, related_name="+", help_text="Empty: the school."
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0, help_text="Students whose card is rendered.")
    total = models.PositiveIntegerField(default=0, help_text="Students to render.")
    file_name = models.CharField(max_length=255, blank=True, help_text="Under settings.REPORT_CARDS_DIR.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]),
                name="report_card_job_status_valid",
            ),
        ]

    def __str__(self) -> str:
        scope = self.class_group or self.school
        return f"Report cards {scope} {self.term}: {self.status} {self.done}/{self.total}"
