from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.bounds import school_date_errors
from core.models import TrackedModel
from schools.models import Guardian, School, Student


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone call"
    MEETING = "meeting", "Meeting"
    IN_APP = "in-app", "In-app message"


class Communication(TrackedModel):
    """A message or conversation between the school and a guardian, logged."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="communications")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sent_communications")
    recipient = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="communications")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, null=True, blank=True, related_name="communications")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    sent_at = models.DateTimeField(default=timezone.now)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-sent_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(channel__in=Channel.values), name="communication_channel_valid"),
        ]
        indexes = [
            models.Index(fields=["sender", "sent_at"]),
            models.Index(fields=["school", "sent_at"]),
            models.Index(fields=["student", "sent_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.recipient}: {self.subject}"

    def clean(self) -> None:
        errors = {}
        if self.school_id:
            errors |= school_date_errors(self.school, moments={"sent_at": self.sent_at}, past={"sent_at"})
        if self.recipient_id and self.school_id and self.recipient.school_id != self.school_id:
            errors["recipient"] = "The guardian belongs to another school."
        if self.student_id and self.school_id and self.student.school_id != self.school_id:
            errors["student"] = "The student belongs to another school."
        elif self.student_id and self.recipient_id and not self.recipient.students.filter(pk=self.student_id).exists():
            errors["student"] = "The student is not a child of this guardian."
        if errors:
            raise ValidationError(errors)
