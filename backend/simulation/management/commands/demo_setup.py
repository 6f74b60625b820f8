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
        school, simulated = demo_school_ensure(now=timezone.now(), progress=write)
        if not simulated:
            write(f"The demo school exists already: {school.name} (id {school.pk}); nothing simulated.")
        demo_superuser_ensure()
        users = demo_users_ensure(school=school)
        student = users["student"].student
        term = current_term(school=school)

        base = f"http://127.0.0.1:{port}"
        write("")
        write(self.style.SUCCESS(f"Open {base}/ and sign in with one of these logins:"))
        write(self.style.WARNING("Logins (for this local demo only; the passwords are public):"))
        homes = {
            "admin": "school health",
            "teacher": "classes, weekly figures, behaviour and comments",
            "guardian": "their children's reports",
            "student": "their own report",
        }
        for role, username in DEMO_USERNAMES.items():
            write(f"  {role:<9} {username} / {DEMO_PASSWORD}   {homes.get(role, '')}")
        write(f"  superuser {SUPERUSER[0]} / {SUPERUSER[1]}   every school side by side, the admin site")
        write("")
        write(f"Demo school: {school.name} ({school.timezone}), term {term.name if term else '-'}")
        write(f"  Pages             {base}/")
        write(f"  Student report    {base}/students/{student.pk}/report/   ({student.full_name})")
        write(f"  School health     {base}/schools/{school.pk}/health/")
        write(f"  API root          {base}/api/")
        write(f"  Swagger UI        {base}/api/docs/   (ReDoc {base}/api/redoc/)")
        write(f"  Admin             {base}/admin/")
        write(f"  Student overview  {base}/api/analytics/student/{student.pk}/overview/")
        write(f"  Teacher metrics   {base}/api/analytics/teacher/my-performance/")
        write(f"  School health API {base}/api/analytics/admin/school-health/")
        write("")
        write("With a token instead of a browser session:")
        login = f"username={DEMO_USERNAMES['teacher']} -d password={DEMO_PASSWORD}"
        write(f"  curl -s -X POST -d {login} {base}/api/auth/token/")
        write(f'  curl -s -H "Authorization: Token <token>" {base}/api/analytics/teacher/my-performance/')
