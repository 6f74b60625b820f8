import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.services import superuser_ensure
from schools.services import demo_school_ensure

# Demo-only credentials, printed below; the command refuses to run outside DJANGO_DEBUG.
DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "admin"  # noqa: S105


class Command(BaseCommand):
    help = (
        "Set up the demo (idempotent): a superuser admin/admin and a demo school with a current term, "
        "then print where to look. For a local demo only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port", default=os.environ.get("PORT", "8000"), help="Port the server listens on, for the printed URLs."
        )

    def handle(self, *args, port, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup creates a login with a public password: it runs only with DJANGO_DEBUG on.")
        admin_created = superuser_ensure(username=DEMO_ADMIN_USERNAME, password=DEMO_ADMIN_PASSWORD)
        today = timezone.localdate()
        school = demo_school_ensure(today=today)

        term = school.terms.get(start_date__lte=today, end_date__gte=today)
        base = f"http://127.0.0.1:{port}"
        write = self.stdout.write
        write(f"Demo school: {school.name} (id {school.pk}), term {term.name}: {term.start_date} to {term.end_date}")
        write(f"  Admin          {base}/admin/")
        write(f"  API docs       {base}/api/docs/  (Swagger UI)")
        write(f"  OpenAPI schema {base}/api/schema/")
        login = f"{DEMO_ADMIN_USERNAME} / {DEMO_ADMIN_PASSWORD}"
        if not admin_created:
            login += f"  (the user {DEMO_ADMIN_USERNAME} existed already: its password was left as it was)"
        write(self.style.WARNING(f"Demo login (superuser, for this local demo only): {login}"))
