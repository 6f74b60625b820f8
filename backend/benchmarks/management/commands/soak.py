from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from benchmarks.soak import SoakRefused, soak_markdown, soak_run, soak_text


class Command(BaseCommand):
    help = (
        "The concurrent soak (issue 11): N clients for T seconds writing the same rows through gunicorn on "
        "PostgreSQL, the jobs in a loop; then 5xx, deadlocks, verify_analytics and the audit of every write. "
        "Exits with status 1 on any miss of the targets (docs/soak.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=16, help="Concurrent clients (default 16).")
        parser.add_argument("--seconds", type=float, default=180, help="How long the clients run (default 180).")
        parser.add_argument("--students", type=int, default=300, help="Students of the simulated school (default 300).")
        parser.add_argument("--weeks", type=int, default=2, help="Weeks simulated before the soak (default 2).")
        parser.add_argument(
            "--max-requests", type=int, default=100_000, help="Stop after this many requests (default 100000)."
        )
        parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4).")
        parser.add_argument(
            "--postgres-log",
            type=Path,
            help="PostgreSQL's server log, for the deadlocks' statements (default: /var/log/postgresql/*.log).",
        )
        parser.add_argument("--port", type=int, help="The server's port on 127.0.0.1 (default: a free one).")
        parser.add_argument("--markdown", help="Also write the table as markdown to this path.")

    def say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()  # progress shows as it happens, also when the output is a pipe (CI)

    def handle(
        self, *args, clients, seconds, students, weeks, max_requests, workers, postgres_log, port, markdown, **options
    ):
        try:
            result = soak_run(
                clients=clients,
                seconds=seconds,
                students=students,
                weeks=weeks,
                max_requests=max_requests,
                workers=workers,
                postgres_log=postgres_log,
                port=port,
                say=self.say,
            )
        except SoakRefused as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(soak_text(result))
        if markdown:
            Path(markdown).write_text(soak_markdown(result))
            self.stdout.write(f"Markdown table written to {markdown}")
        if result.misses:
            raise CommandError("Targets missed: " + "; ".join(result.misses), returncode=1)
        self.stdout.write(self.style.SUCCESS("Every target met"))
