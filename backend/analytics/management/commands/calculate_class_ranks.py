import datetime
import functools

from django.core.management.base import BaseCommand, CommandError

from analytics import jobs
from analytics.management.commands._progress import job_runs_report
from analytics.models import StudentStandingSnapshot
from core.services import database_statistics_refresh
from schools.models import School


class Command(BaseCommand):
    help = (
        "Rank students by average grade within their class (or grade level, a school setting) per subject, "
        "and overall by the mean of their subject averages, for each school's term containing --date. "
        "Each run also writes the standing snapshot of a date: --date (or each date of --date..--until: a "
        "backfill), by default the day that ended. "
        "Prints one line per school and term; exits with status 1 if a run was refused or failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--school", help="Only this school (id or exact name). Default: every school.")
        parser.add_argument("--term", help="Only this term (id, or name with --school). Default: by --date.")
        parser.add_argument(
            "--date",
            type=datetime.date.fromisoformat,
            help="Rank the terms containing this date (YYYY-MM-DD) and write their standing snapshot of it. "
            "Default: today in each school's time zone, and the snapshot of yesterday.",
        )
        parser.add_argument(
            "--until",
            type=datetime.date.fromisoformat,
            help="With --date: snapshot every date from --date to this one (YYYY-MM-DD), each term over its days.",
        )

    def handle(self, *args, school, term, date, until, **options):
        job = jobs.Job.CLASS_RANKS
        if until is not None and (date is None or until < date):
            raise CommandError("--until needs --date, and must not be before it")
        try:
            school = jobs.school_lookup(ref=school) if school else None
            term = jobs.term_lookup(ref=term, school=school) if term else None
        except LookupError as exc:
            raise CommandError(exc) from None
        schools = [school] if school else School.objects.all()
        if term is not None:
            targets = [(term.school, date, term)]
        elif until is not None:
            targets = jobs.terms_overlapping(schools=schools, first=date, last=until)
        else:
            targets = jobs.terms_containing(schools=schools, day=date)
        snapshot_dates = None
        if date is not None:
            last = until or date
            snapshot_dates = [date + datetime.timedelta(days=n) for n in range((last - date).days + 1)]

        def runs():
            for target_school, day, target_term in targets:
                if target_term is None:
                    name = f"{target_school.name} (school {target_school.pk})"
                    self.stdout.write(f"{job}: {name}: no term contains {day}")
                    continue
                yield functools.partial(jobs.class_ranks_run, term=target_term, snapshot_dates=snapshot_dates)

        try:
            job_runs_report(self, runs())
        finally:
            if snapshot_dates and len(snapshot_dates) > 1:
                # A backfill writes a term's snapshots at once (2.5 million rows for the 4,000 students of the
                # bench's school): the planner's estimates of before would send the overview's read of one
                # student's snapshots through the term's index, every row of it.
                database_statistics_refresh(models=[StudentStandingSnapshot])
                self.stderr.write("Standing snapshots: the query planner's statistics refreshed (ANALYZE)")
