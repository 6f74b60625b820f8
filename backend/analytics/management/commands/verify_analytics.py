from django.core.management.base import BaseCommand, CommandError

from analytics.management.commands._progress import ProgressPrinter
from analytics.services import analytics_verify


class Command(BaseCommand):
    help = (
        "Recompute every summary row from source data and print each row that differs from what is stored. "
        "Exits with status 1 when any row differs. Writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--school", type=int, help="Only this school (id).")
        parser.add_argument("--term", type=int, help="Only this term (id).")
        parser.add_argument("--quiet-progress", action="store_true", help="Do not print progress lines.")

    def handle(self, *args, school, term, quiet_progress, **options):
        progress = None if quiet_progress else ProgressPrinter(self.stderr)
        differences = analytics_verify(school_id=school, term_id=term, progress=progress)
        for difference in differences:
            self.stdout.write(str(difference))
        if differences:
            raise CommandError(f"{len(differences)} differing rows", returncode=1)
        self.stdout.write(self.style.SUCCESS("0 differing rows"))
