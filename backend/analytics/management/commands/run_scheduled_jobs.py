from django.core.management.base import BaseCommand

from analytics.tasks import dispatch_scheduled_jobs


class Command(BaseCommand):
    help = (
        "Run (or, with a Celery broker, queue) every school's scheduled job whose local time has come and that has "
        "not run yet: what Celery beat does every 15 minutes, for installations that use cron instead."
    )

    def handle(self, *args, **options):
        queued = dispatch_scheduled_jobs()
        self.stdout.write(f"run_scheduled_jobs: {queued} job(s) due")
