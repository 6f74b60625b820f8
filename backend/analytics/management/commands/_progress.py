"""Progress lines for long-running analytics commands (written to stderr, so stdout stays a report), and the
loop the job commands share: one run per school or term, a line each, status 1 if any was refused or failed."""

import sys
import time
from collections.abc import Callable, Iterable

from django.core.management.base import BaseCommand, CommandError

from analytics import jobs
from analytics.models import JobRun


def job_runs_report(command: BaseCommand, runs: Iterable[Callable[[], JobRun]]) -> None:
    """Call each run in turn, print its summary (or why it was refused or failed, on stderr); then a CommandError
    (exit status 1) if any of them did not succeed."""
    unsuccessful = 0
    for run in runs:
        try:
            summary = run().summary
        except (jobs.JobAlreadyRunning, jobs.JobFailed) as exc:
            command.stderr.write(str(exc))
            unsuccessful += 1
        else:
            command.stdout.write(summary)
    if unsuccessful:
        raise CommandError(f"{unsuccessful} run(s) refused or failed (see the job runs in the admin)")


class ProgressPrinter:
    """Prints `label: done/total (pct%)` at most every half second, and always at the end of a stage."""

    def __init__(self, stream=None, interval: float = 0.5) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        percent = 100 * done // total if total else 100
        self.stream.write(f"{label}: {done}/{total} ({percent}%)\n")
        self.stream.flush()
