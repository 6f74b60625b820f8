import datetime
import functools

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet

from analytics import jobs
from analytics.management.commands._progress import job_runs_report
from schools.models import School


class Command(BaseCommand):
    help = (
        "Roll each school's early-warning flags over to a date (default: today in each school's time zone): the "
        "date the flags are as of moves to it and every student's flags are recomputed. Idempotent; the nightly "
        "schedule runs it just after local midnight. Exits with status 1 if a run was refused or failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--school", help="Only this school (id or exact name). Default: every school.")
        parser.add_argument("--date", type=datetime.date.fromisoformat, help="The as-of date (YYYY-MM-DD).")

    def handle(self, *args, school, date: datetime.date | None, **options):
        try:
            schools: list[School] | QuerySet = [jobs.school_lookup(ref=school)] if school else School.objects.all()
        except LookupError as exc:
            raise CommandError(exc) from None
        job_runs_report(
            self, (functools.partial(jobs.early_warning_flags_run, school=target, day=date) for target in schools)
        )
