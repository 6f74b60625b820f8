import time

from django.core.management.base import BaseCommand

from analytics.management.commands._progress import ProgressPrinter
from analytics.services import analytics_rebuild


class Command(BaseCommand):
    help = (
        "Recompute every summary row from source data and repair the rows that differ, keeping teacher "
        "inputs (behaviour scores, comments). Idempotent: a second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--school", type=int, help="Only this school (id).")
        parser.add_argument("--term", type=int, help="Only this term (id).")
        parser.add_argument("--dry-run", action="store_true", help="Print what would change, write nothing.")
        parser.add_argument(
            "--batch-size", type=int, default=250, help="Students per transaction (default 250, at most 1000)."
        )
        parser.add_argument("--quiet-progress", action="store_true", help="Do not print progress lines.")

    def handle(self, *args, school, term, dry_run, batch_size, quiet_progress, **options):
        started = time.monotonic()
        result = analytics_rebuild(
            school_id=school,
            term_id=term,
            dry_run=dry_run,
            batch_size=max(batch_size, 1),
            progress=None if quiet_progress else ProgressPrinter(self.stderr),
        )
        if dry_run:
            for difference in result.differences:
                self.stdout.write(str(difference))
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            f"{verb} {result.changed} rows (created {result.created}, updated {result.updated}, "
            f"deleted {result.deleted}) in {time.monotonic() - started:.1f}s"
        )
