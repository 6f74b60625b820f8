import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.selectors import current_term
from simulation.demo import SUPERUSER, demo_school_ensure, demo_superuser_ensure
from simulation.services import DEMO_PASSWORD, DEMO_USERNAMES, demo_users_ensure


class Command(BaseCommand):
    help = (
        "Set up the demo (idempotent): a simulated school with one login per role and a superuser, then print "
        "where to look. For a local demo only: the passwords are public."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port", default=os.environ.get("PORT", "8000"), help="Port the server listens on, for the printed URLs."
        )

    def handle(self, *args, port, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup creates logins with public passwords: it runs only with DJANGO_DEBUG on.")
        write = self.stdout.write
        school, simulated = demo_school_ensure(today=timezone.localdate(), progress=write)
        if not simulated:
            write(f"The demo school exists already: {school.name} (id {school.pk}); nothing simulated.")
        demo_superuser_ensure()
        users = demo_users_ensure(school=school)
        student = users["student"].student
        term = current_term(school=school)

        base = f"http://127.0.0.1:{port}"
        write("")
        write(self.style.SUCCESS(f"Demo school: {school.name} ({school.timezone}), term {term.name if term else '-'}"))
        write(f"  API root          {base}/api/")
        write(f"  Swagger UI        {base}/api/docs/")
        write(f"  Admin             {base}/admin/")
        write(f"  Student overview  {base}/api/analytics/student/{student.pk}/overview/   ({student.full_name})")
        write(f"  Teacher metrics   {base}/api/analytics/teacher/my-performance/")
        write(f"  School health     {base}/api/analytics/admin/school-health/")
        write("")
        write(self.style.WARNING("Logins (for this local demo only; the passwords are public):"))
        for role, username in DEMO_USERNAMES.items():
            write(f"  {role:<9} {username} / {DEMO_PASSWORD}")
        write(f"  superuser {SUPERUSER[0]} / {SUPERUSER[1]}  (every school, the admin site)")
        write("")
        write(f"Sign in at {base}/api/auth/login/ (the admin site: superuser) and open the URLs above, or:")
        login = f"username={DEMO_USERNAMES['teacher']} -d password={DEMO_PASSWORD}"
        write(f"  curl -s -X POST -d {login} {base}/api/auth/token/")
        write(f'  curl -s -H "Authorization: Token <token>" {base}/api/analytics/teacher/my-performance/')
