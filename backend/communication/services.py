import datetime

from django.utils import timezone

from communication.models import Communication
from core.conflicts import conflict_retried
from schools.models import Guardian, Student


@conflict_retried
def communication_create(
    *,
    sender,
    recipient: Guardian,
    channel: str,
    subject: str,
    body: str = "",
    student: Student | None = None,
    sent_at: datetime.datetime | None = None,
) -> Communication:
    """Log a message or conversation with a guardian of the school, about one of their children if given."""
    communication = Communication(
        school_id=recipient.school_id,
        sender=sender,
        recipient=recipient,
        student=student,
        channel=channel,
        subject=subject,
        body=body,
        sent_at=sent_at or timezone.now(),
    )
    communication.full_clean()
    communication.save()
    return communication
