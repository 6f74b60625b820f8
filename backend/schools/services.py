"""Writes of the schools app."""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from schools.models import AcademicTerm, School

DEMO_SCHOOL_NAME = "Demo School"
DEMO_TERM_HALF_LENGTH = datetime.timedelta(weeks=7)


@transaction.atomic
def demo_school_ensure(*, today: datetime.date) -> School:
    """Create the demo school, and a term around ``today`` unless one contains it; returns the school."""
    school, _ = School.objects.get_or_create(name=DEMO_SCHOOL_NAME, defaults={"timezone": settings.TIME_ZONE})
    if not school.terms.filter(start_date__lte=today, end_date__gte=today).exists():
        # Re-run long after the first term ended: the new term starts after the last one.
        last_end = school.terms.filter(end_date__lt=today).aggregate(last=Max("end_date"))["last"]
        start = today - DEMO_TERM_HALF_LENGTH
        if last_end is not None and last_end >= start:
            start = last_end + datetime.timedelta(days=1)
        term = AcademicTerm(
            school=school, name=f"Term from {start}", start_date=start, end_date=today + DEMO_TERM_HALF_LENGTH
        )
        term.full_clean()
        term.save()
    return school
