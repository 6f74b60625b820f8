from django.conf import settings
from django.core.management.base import BaseCommand

from reportcards.services import report_card_jobs_expire


class Command(BaseCommand):
    help = (
        "Remove the report-card jobs that finished more than REPORT_CARD_JOB_RETENTION_DAYS ago, with their files "
        "(and the folders of jobs removed since); queued or running jobs are kept, but those stuck for more than "
        "REPORT_CARD_JOB_TIMEOUT_HOURS are first stopped (marked failed). Beat runs the same every hour."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what would be removed; remove nothing.")

    def handle(self, *args, dry_run, **options):
        expired = report_card_jobs_expire(dry_run=dry_run)
        for folder in expired.folders:
            self.stdout.write(str(folder))
        verb = "Would remove" if dry_run else "Removed"
        if expired.stopped:
            ids = ", ".join(str(pk) for pk in expired.stopped)
            self.stdout.write(
                f"{'Would stop' if dry_run else 'Stopped'} {len(expired.stopped)} job(s) queued or running for over "
                f"{settings.REPORT_CARD_JOB_TIMEOUT_HOURS} hour(s): {ids}."
            )
        self.stdout.write(
            f"{verb} {len(expired.jobs)} job(s) finished over {settings.REPORT_CARD_JOB_RETENTION_DAYS} day(s) ago "
            f"and {len(expired.folders)} folder(s), {expired.bytes} bytes."
        )
