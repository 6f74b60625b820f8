import datetime
import functools

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics import jobs
from analytics.definitions import week_start as monday_of
from analytics.management.commands._progress import job_runs_report
from schools.models import School


class Command(BaseCommand):
    help = (
        "Recompute every teacher's weekly metrics of a week (default: the current week in each school's time "
        "zone) or of a range of weeks: rows are created, corrected, or deleted when the week has no activity. "
        "Prints one line per school; exits with status 1 if a run was refused or failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--school", help="Only this school (id or exact name). Default: every school.")
        parser.add_argument(
            "--week-start", type=datetime.date.fromisoformat, help="The Monday of the week (YYYY-MM-DD)."
        )
        parser.add_argument(
            "--from", dest="first_day", type=datetime.date.fromisoformat, help="Backfill from the week of this date."
        )
        parser.add_argument(
            "--to", dest="last_day", type=datetime.date.fromisoformat, help="Backfill to the week of this date."
        )

    def handle(self, *args, school, week_start: datetime.date | None, first_day, last_day, **options):
        if week_start and (first_day or last_day):
            raise CommandError("Give either --week-start or --from/--to, not both.")
        if week_start and week_start.weekday():
            monday = week_start - datetime.timedelta(days=week_start.weekday())
            raise CommandError(f"--week-start {week_start} is a {week_start:%A}; weeks start on Monday ({monday}).")
        if bool(first_day) != bool(last_day):
            raise CommandError("--from and --to go together.")
        if first_day and first_day > last_day:
            raise CommandError(f"--from {first_day} is after --to {last_day}.")
        try:
            schools = [jobs.school_lookup(ref=school)] if school else list(School.objects.all())
        except LookupError as exc:
            raise CommandError(exc) from None

        def weeks(target: School) -> tuple[datetime.date, datetime.date]:
            if first_day:
                return monday_of(first_day), monday_of(last_day)
            first = week_start or monday_of(timezone.now().astimezone(target.tzinfo).date())
            return first, first

        job_runs_report(
            self,
            (
                functools.partial(jobs.teacher_metrics_run, school=target, first_week=first, last_week=last)
                for target in schools
                for first, last in [weeks(target)]
            ),
        )
