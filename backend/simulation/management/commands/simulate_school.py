import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from simulation.services import (
    BULK_ABOVE_STUDENTS,
    COUNTED,
    DEMO_PASSWORD,
    DEMO_USERNAMES,
    default_start,
    schools_simulate,
)


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--start: {value!r} is not a date (YYYY-MM-DD)") from error


class Command(BaseCommand):
    help = (
        "Create a realistic school (or several, in different time zones) and simulate weeks of lessons, roll "
        "calls, homework, grades, messages to parents and fee payments; then run the rank and teacher-metric "
        "jobs (when installed), verify the analytics and print demo logins. The same seed gives the same school."
    )

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=200, help="Students in all (default 200).")
        parser.add_argument("--weeks", type=int, default=4, help="Weeks to simulate (default 4).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument("--schools", type=int, default=1, help="Schools, each in another time zone (default 1).")
        parser.add_argument(
            "--start",
            type=_date,
            help="First simulated day (its Monday is used). Default: the weeks end last Sunday.",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--bulk",
            action="store_true",
            help=f"bulk_create and one set-based rebuild (automatic above {BULK_ABOVE_STUDENTS} students).",
        )
        mode.add_argument(
            "--service", action="store_true", help="Write through the services (signals) whatever the size."
        )
        parser.add_argument(
            "--rebuild-batch-size",
            type=int,
            default=250,
            help="Bulk mode: students per transaction of the summary rebuild (default 250, as rebuild_analytics).",
        )
        parser.add_argument("--no-jobs", action="store_true", help="Do not run the rank and teacher-metric jobs.")
        parser.add_argument(
            "--no-demo-logins",
            action="store_true",
            help="Do not give the first school the demo logins (public password; required with DJANGO_DEBUG off).",
        )
        parser.add_argument("--no-verify", action="store_true", help="Do not verify the summaries afterwards.")

    def handle(
        self, *args, students, weeks, seed, schools, start, bulk, service, no_jobs, no_verify, no_demo_logins, **options
    ):
        if options["rebuild_batch_size"] < 1:
            raise CommandError("--rebuild-batch-size must be at least 1")
        start = start or default_start(weeks=weeks, today=timezone.now().date())
        try:
            result = schools_simulate(
                students=students,
                weeks=weeks,
                seed=seed,
                schools=schools,
                start=start,
                bulk=True if bulk else False if service else None,
                rebuild_batch_size=options["rebuild_batch_size"],
                run_jobs=not no_jobs,
                verify=not no_verify,
                demo_users=not no_demo_logins,
                progress=self.stdout.write,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        except ValidationError as error:
            # Service mode checks records as a school's input is checked (docs/security.md, "Input bounds").
            raise CommandError(f"A simulated record is refused: {'; '.join(error.messages)}") from error

        write = self.stdout.write
        write("")
        write(f"Simulated {weeks} weeks from {start - datetime.timedelta(days=start.weekday())}, seed {seed}:")
        for simulated in result.schools:
            school = simulated.school
            write(
                f"  {school.name} (id {school.pk}, {school.timezone}): {simulated.students} students, "
                f"term {simulated.term.name} {simulated.term.start_date}..{simulated.term.end_date}"
            )
        write("Created:")
        for name in COUNTED:
            write(f"  {name:<28}{result.counts[name]:>10,}")
        for name, count in result.summary_rows.items():
            write(f"  {name:<28}{count:>10,}")
        for line in result.jobs:
            write(f"  {line}")
        phases = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result.phases.items())
        write(f"Time: {result.seconds:.1f}s in {result.mode} mode ({phases})")
        if not no_verify:
            for difference in result.differences[:20]:
                write(f"  {difference}")
            style = self.style.ERROR if result.differences else self.style.SUCCESS
            write(style(f"verify_analytics: {len(result.differences)} differing rows"))
        if result.demo_users:
            write(f"Demo logins at {result.schools[0].school.name} (password {DEMO_PASSWORD}, for demos only):")
            for role, user in result.demo_users.items():
                write(f"  {role:<9} {DEMO_USERNAMES[role]:<14} {user.get_full_name()}")
        if result.differences:
            raise CommandError(f"{len(result.differences)} summary rows differ from a recomputation", returncode=1)
        if result.jobs_failed:
            raise CommandError(f"{result.jobs_failed} job runs failed", returncode=1)
