import resource
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reportcards.services import WorkersUsage, report_cards_write
from schools.models import AcademicTerm, ClassGroup, School


class Command(BaseCommand):
    help = (
        "Write term report cards as PDF: a class's cards in one PDF (--class), or every class of the school, "
        "one PDF each (or one zip with --archive)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--school", type=int, required=True, help="School id.")
        parser.add_argument("--term", type=int, required=True, help="Term id (of that school).")
        parser.add_argument("--class", dest="class_group", type=int, help="Class id: only this class.")
        parser.add_argument("--out", required=True, help="Folder to write into (created if missing).")
        parser.add_argument("--archive", action="store_true", help="One zip of the class PDFs instead of PDFs.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, school, term, class_group, out, archive, no_progress, **options):
        school_row = School.objects.filter(pk=school).first()
        if school_row is None:
            raise CommandError(f"--school: no school with id {school}.")
        term_row = AcademicTerm.objects.filter(pk=term, school=school_row).first()
        if term_row is None:
            raise CommandError(f"--term: no term with id {term} at {school_row.name}.")
        group = None
        if class_group is not None:
            group = ClassGroup.objects.filter(pk=class_group, school=school_row).first()
            if group is None:
                raise CommandError(f"--class: no class with id {class_group} at {school_row.name}.")
        out_dir = Path(out)
        if out_dir.exists() and not out_dir.is_dir():
            raise CommandError(f"--out: {out} is not a folder.")

        started, cpu_started = time.monotonic(), time.process_time()
        bar = ProgressBar(self.stderr, started, show=not no_progress)
        workers = WorkersUsage()
        files = report_cards_write(
            school=school_row,
            term=term_row,
            class_group=group,
            out_dir=out_dir,
            archive=archive and group is None,
            progress=bar,
            usage=workers,
        )
        bar.finish()
        for path in files:
            self.stdout.write(str(path))
        # CPU: this process's and the worker processes' (which are idle until the job starts).
        seconds = time.monotonic() - started
        cpu = time.process_time() - cpu_started + sum(workers.cpu_seconds.values())
        summary = f"{len(files)} file(s) in {seconds:.1f}s"
        if bar.done:
            summary += f" ({bar.done} cards, {seconds / bar.done:.3f}s per card, {cpu / bar.done:.3f}s CPU per card)"
        self.stdout.write(summary)
        this = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peaks = sorted(workers.peak_mib.values(), reverse=True)
        self.stdout.write(
            f"peak memory: {this + sum(peaks):.0f} MiB in all, {this:.0f} MiB this process"
            + (f" + {' + '.join(f'{peak:.0f}' for peak in peaks)} MiB its worker processes" if peaks else "")
        )


class ProgressBar:
    """``[#####.....] 12/30 cards, 3.1s`` on one line of the terminal, redrawn in place."""

    WIDTH = 30

    def __init__(self, stream, started: float, *, show: bool = True):
        self.stream, self.started, self.show, self.done, self.total = stream, started, show, 0, 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if not self.show:
            return
        filled = self.WIDTH * done // total if total else self.WIDTH
        elapsed = time.monotonic() - self.started
        line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total} cards, {elapsed:.1f}s"
        self.stream.write("\r" + line, ending="")
        self.stream.flush()

    def finish(self) -> None:
        if self.show:
            self.stream.write("")
