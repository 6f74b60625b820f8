"""The demo: a simulated school with one login per role, built once and reused."""

import datetime

from core.models import User
from core.services import superuser_ensure
from schools.models import School
from simulation.services import (
    DEMO_USERNAMES,
    Progress,
    default_start,
    demo_logins_refuse_outside_debug,
    schools_simulate,
)

DEMO_STUDENTS = 300
DEMO_WEEKS = 8
DEMO_SEED = 2026
SUPERUSER = ("admin", "admin")  # demo only: printed, and refused outside DJANGO_DEBUG


def demo_school_ensure(*, now: datetime.datetime, progress: Progress | None = None) -> tuple[School, bool]:
    """The school the demo logins belong to, simulated (bulk mode) the first time; and whether it was.

    The simulation runs ``DEMO_WEEKS`` whole weeks and this week up to today in the school's time zone, so
    the school's pages have today's roll calls on a school day.
    """
    admin = User.objects.filter(username=DEMO_USERNAMES["admin"], school_admin__isnull=False).first()
    if admin is not None:
        return admin.school_admin.school, False
    result = schools_simulate(
        students=DEMO_STUDENTS,
        weeks=DEMO_WEEKS + 1,
        seed=DEMO_SEED,
        start=default_start(weeks=DEMO_WEEKS, today=now.date()),
        until=now,
        bulk=True,
        progress=progress,
    )
    if result.differences or result.jobs_failed:
        raise RuntimeError(f"The demo school is not consistent: {len(result.differences)} differing rows")
    return result.schools[0].school, True


def demo_superuser_ensure() -> bool:
    """The district operator's login of the demo; whether it was created now. Refused outside DJANGO_DEBUG."""
    demo_logins_refuse_outside_debug()
    username, password = SUPERUSER
    return superuser_ensure(username=username, password=password)
