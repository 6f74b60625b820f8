"""Writes of report cards: the HTML, a student's PDF, a class's PDF, a school's zip of class PDFs, and the job
that makes them in the background.

Rendering is streamed: a class is laid out student by student and written to disk before the next class is
read (with worker processes, one class per worker and one more in hand), so memory is bounded by the largest
class, not the number of students in a job. Finished jobs' files are removed after a retention period.
"""

import collections
import contextlib
import datetime
import logging
import multiprocessing
import os
import re
import resource
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from analytics.selectors import school_today
from reportcards import selectors
from reportcards.models import ReportCardJob
from schools.models import AcademicTerm, ClassGroup, School, Student

logger = logging.getLogger(__name__)

TEMPLATE = "reportcards/card.html"
STYLESHEET = "reportcards/card.css"
Progress = Callable[[int, int], None]  # (students done, students in all)


def cards_html(*, cards: list[dict], title: str, pdf_url: str | None = None, for_pdf: bool = False) -> str:
    """The report-card document: one page (or two) per card; ``pdf_url`` adds a download link on screen.

    The styles (``reportcards/card.css``) are inside the page; ``for_pdf`` leaves them out, as the PDF renderer
    gets them parsed once per process (``_Renderer``)."""
    return render_to_string(TEMPLATE, {"cards": cards, "title": title, "pdf_url": pdf_url, "for_pdf": for_pdf})


# WeasyPrint's default stylesheet gives every element of the document six pseudo-elements (``::marker`` and
# the footnote and note calls and markers), each with its own computed style: about a quarter of a card's
# rendering time, for boxes a card never shows (it has no lists, footnotes or notes). The PDF is rendered
# with that stylesheet less those rules (``::marker`` kept for list items).
_UA_PSEUDO_RULES = re.compile(r"^::(footnote|note)-[a-z]+ \{.*\}$", re.MULTILINE)


class _Renderer:
    """What every card of a process shares, built on first use: WeasyPrint (imported then: it loads Pango, which
    only the processes that print need), the font configuration, the card's stylesheet, parsed once, and the
    lean default stylesheet."""

    def __init__(self):
        import weasyprint
        from weasyprint.css.counters import CounterStyle
        from weasyprint.html import UA
        from weasyprint.text.fonts import FontConfiguration

        self.fonts = FontConfiguration()
        self.stylesheet = weasyprint.CSS(
            string=render_to_string(STYLESHEET), base_url=str(settings.BASE_DIR), font_config=self.fonts
        )
        ua_lean = weasyprint.CSS(
            string=_UA_PSEUDO_RULES.sub("", UA.replace("\n::marker {", "\nli::marker {")),
            counter_style=CounterStyle(),
        )

        class CardHTML(weasyprint.HTML):
            def _ua_stylesheets(self, forms=False):
                return [ua_lean]

        self.html_class = CardHTML

    def render(self, html: str):
        """A laid-out WeasyPrint document of ``html`` (made by ``cards_html(..., for_pdf=True)``)."""
        document = self.html_class(string=html, base_url=str(settings.BASE_DIR))
        return document.render(font_config=self.fonts, stylesheets=[self.stylesheet])


_renderer: _Renderer | None = None


def _renderer_get() -> _Renderer:
    global _renderer
    if _renderer is None:
        _renderer = _Renderer()
    return _renderer


def _render(html: str):
    return _renderer_get().render(html)


def card_title(card: dict) -> str:
    return f"Report card: {card['student']['name']}, {card['term']['name']}"


def card_pdf(*, student: Student, term: AcademicTerm, printed_on: datetime.date | None = None) -> bytes:
    """One student's term report card as PDF bytes."""
    card = selectors.report_card_data(student=student, term=term, printed_on=printed_on)
    return _render(cards_html(cards=[card], title=card_title(card), for_pdf=True)).write_pdf()


def file_stem(*parts: str) -> str:
    return "-".join(slugify(part) or "x" for part in parts)


def class_cards_html(
    *, students: list[Student], term: AcademicTerm, title: str, printed_on: datetime.date | None = None
) -> list[str]:
    """The PDF's HTML of each student's card, in the order given (the figures are read here)."""
    if not students:
        return []
    teachers = selectors.subject_teachers(class_group_id=students[0].class_group_id)
    htmls = []
    for student in students:
        same_class = student.class_group_id == students[0].class_group_id
        card = selectors.report_card_data(
            student=student, term=term, printed_on=printed_on, teachers=teachers if same_class else None
        )
        htmls.append(cards_html(cards=[card], title=title, for_pdf=True))
    return htmls


def pdf_write(*, htmls: list[str], target, tick: Callable[[], None] | None = None) -> int:
    """Lay out each card's HTML and write their pages as one PDF to ``target`` (a path or a binary file); each card
    starts on a new page. Returns how many cards were written; ``tick`` is called after each card."""
    pages = []
    first = None
    for html in htmls:
        document = _render(html)
        first = first or document
        pages.extend(document.pages)
        if tick:
            tick()
    if first is not None:
        first.copy(pages).write_pdf(target)
    return len(htmls)


def class_pdf_write(
    *,
    students: list[Student],
    term: AcademicTerm,
    target,
    title: str,
    printed_on: datetime.date | None = None,
    tick: Callable[[], None] | None = None,
) -> int:
    """Write the cards of ``students`` (in the order given) as one PDF to ``target``, in this process."""
    htmls = class_cards_html(students=students, term=term, title=title, printed_on=printed_on)
    return pdf_write(htmls=htmls, target=target, tick=tick)


# --- rendering in worker processes ----------------------------------------------------------------
#
# Laying cards out is nearly all of a job's time and uses one core. A job of at least PARALLEL_MIN_CARDS cards
# is laid out by REPORT_CARDS_PROCESSES worker processes (forked: they share the parsed stylesheets and fonts)
# while this process reads the figures and writes the files: a school's classes go to the workers as they
# are read, a few at a time; a class job's class is split in consecutive parts (at least PART_MIN_CARDS cards
# each) merged into one PDF afterwards. The workers read nothing from the database: they get the HTML.

PARALLEL_MIN_CARDS = 8
PART_MIN_CARDS = 6

_worker_done = None  # in a worker: the count of cards laid out, shared with the job's process


def _worker_start(done) -> None:
    global _worker_done
    _worker_done = done


def _worker_tick() -> None:
    with _worker_done.get_lock():
        _worker_done.value += 1


def _part_write(htmls: list[str], target: str) -> tuple[int, float, float]:
    """In a worker: lay out the cards and write their PDF to ``target``. Returns the worker's id, CPU seconds
    and peak memory (MiB) so far."""
    pdf_write(htmls=htmls, target=target, tick=_worker_tick)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return os.getpid(), usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


@dataclass
class WorkersUsage:
    """What the worker processes of a ``report_cards_write`` used: CPU seconds and peak memory (MiB) of each."""

    cpu_seconds: dict[int, float] = field(default_factory=dict)
    peak_mib: dict[int, float] = field(default_factory=dict)


class _Workers:
    """The job's worker processes; ``tick`` is called once per card laid out, in this process."""

    def __init__(self, *, processes: int, tick: Callable[[], None], usage: WorkersUsage):
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork")
        self.processes, self.tick, self.reported, self.usage = processes, tick, 0, usage
        self.done = context.Value("i", 0)
        _renderer_get()  # before the fork: every worker starts with the fonts and stylesheets ready
        self.pool = ProcessPoolExecutor(
            max_workers=processes, mp_context=context, initializer=_worker_start, initargs=(self.done,)
        )

    def submit(self, *, htmls: list[str], target: Path, parts: int) -> list[tuple]:
        """Queue a class's cards, in ``parts`` consecutive parts; [(future, part's file)]."""
        size = -(-len(htmls) // parts)
        chunks = [htmls[start : start + size] for start in range(0, len(htmls), size)]
        files = [target] if len(chunks) == 1 else [target.with_name(f"{target.name}.{i}") for i in range(len(chunks))]
        return [
            (self.pool.submit(_part_write, chunk, str(file)), file) for chunk, file in zip(chunks, files, strict=True)
        ]

    def wait(self, submitted: list[tuple]) -> None:
        """Until a class's parts are written (a worker's failure is raised here), reporting progress meanwhile."""
        from concurrent.futures import FIRST_EXCEPTION, wait

        pending = {future for future, _ in submitted}
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            self.report()
            for future, _ in submitted:
                if future.done():
                    future.result()
        self.report()
        for future, _ in submitted:
            pid, cpu, peak = future.result()
            self.usage.cpu_seconds[pid], self.usage.peak_mib[pid] = cpu, peak

    def report(self) -> None:
        while self.reported < self.done.value:
            self.reported += 1
            self.tick()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _parts_merge(files: list[Path], target: Path) -> None:
    """One PDF of the parts' pages, in order."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for file in files:
        writer.append(str(file))
    writer.write(str(target))


def _atomic_target(path: Path):
    """A temporary file beside ``path``, renamed onto it by the caller once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(handle)
    return Path(temporary)


def class_title(*, school: School, term: AcademicTerm, class_group: ClassGroup | None) -> str:
    return f"Report cards: {school.name}, {class_group.name if class_group else 'without a class'}, {term.name}"


def class_file_name(*, school: School, term: AcademicTerm, class_group: ClassGroup | None) -> str:
    return file_stem(school.name, term.name, class_group.name if class_group else "without-a-class") + ".pdf"


def school_file_name(*, school: School, term: AcademicTerm) -> str:
    return file_stem(school.name, term.name) + ".zip"


def report_cards_write(
    *,
    school: School,
    term: AcademicTerm,
    out_dir: Path,
    class_group: ClassGroup | None = None,
    archive: bool = False,
    printed_on: datetime.date | None = None,
    progress: Progress | None = None,
    processes: int | None = None,
    usage: WorkersUsage | None = None,
) -> list[Path]:
    """Write a class's cards as one PDF, or a school's as one PDF per class (in grade and name order; the
    students without a class last), or with ``archive`` one zip of those PDFs. Returns the files written.

    Each class is rendered, written to disk and dropped before the next is read (with worker processes, a few
    classes are in hand at once). ``processes``: how many lay the cards out (default REPORT_CARDS_PROCESSES);
    ``usage`` is filled with what they used.
    """
    printed_on = printed_on or school_today(school=school)
    total = selectors.job_student_count(school=school, class_group=class_group)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)
    groups: list[ClassGroup | None] = (
        [class_group] if class_group is not None else [*selectors.school_classes(school=school), None]
    )
    processes = settings.REPORT_CARDS_PROCESSES if processes is None else processes
    # A daemonic process (a Celery prefork pool's worker) may not start processes: there the job is laid out in
    # the worker itself, and a Celery worker per core runs jobs side by side.
    parallel = processes > 1 and total >= PARALLEL_MIN_CARDS and not multiprocessing.current_process().daemon
    workers = _Workers(processes=processes, tick=tick, usage=usage or WorkersUsage()) if parallel else None
    written: list[Path] = []
    temporaries: list[Path] = []  # every file written on the way, removed at the end whatever happens
    in_flight: collections.deque = collections.deque()  # (name, file, parts) of classes given to the workers
    zip_path = out_dir / school_file_name(school=school, term=term) if archive else None
    if zip_path:
        temporaries.append(_atomic_target(zip_path))
    try:
        with (
            zipfile.ZipFile(temporaries[0], "w", zipfile.ZIP_DEFLATED) if zip_path else contextlib.nullcontext()
        ) as bundle:

            def place(name: str, temporary: Path) -> None:
                """A class's PDF is complete: into the zip, or renamed onto its name."""
                if bundle is not None:
                    bundle.write(temporary, arcname=name)
                    temporary.unlink()
                else:
                    temporary.replace(out_dir / name)
                    written.append(out_dir / name)

            def complete(name: str, temporary: Path, parts: list[tuple]) -> None:
                workers.wait(parts)
                if len(parts) > 1:
                    _parts_merge([file for _, file in parts], temporary)
                    for _, file in parts:
                        file.unlink()
                place(name, temporary)

            for group in groups:
                students = list(
                    selectors.class_students(class_group=group)
                    if group is not None
                    else selectors.unplaced_students(school=school)
                )
                if not students:
                    continue
                name = class_file_name(school=school, term=term, class_group=group)
                temporary = _atomic_target(out_dir / name)
                temporaries.append(temporary)
                htmls = class_cards_html(
                    students=students,
                    term=term,
                    title=class_title(school=school, term=term, class_group=group),
                    printed_on=printed_on,
                )
                if workers is None:
                    pdf_write(htmls=htmls, target=str(temporary), tick=tick)
                    place(name, temporary)
                    continue
                # A class job's class is split between the workers; a school's classes go whole, a few at once.
                parts = min(processes, len(htmls) // PART_MIN_CARDS) if class_group is not None else 1
                submitted = workers.submit(htmls=htmls, target=temporary, parts=max(parts, 1))
                temporaries += [file for _, file in submitted]
                in_flight.append((name, temporary, submitted))
                while len(in_flight) > processes:  # one class more than workers: none waits for the next
                    complete(*in_flight.popleft())
            while in_flight:
                complete(*in_flight.popleft())
        if zip_path:
            temporaries[0].replace(zip_path)
            written.append(zip_path)
    finally:
        if workers is not None:
            workers.close()
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
    return written


# --- the background job ---------------------------------------------------------------------------


def jobs_dir() -> Path:
    return Path(settings.REPORT_CARDS_DIR)


def job_dir(job_id: int) -> Path:
    """The folder of a job's files."""
    return jobs_dir() / f"job-{job_id}"


JOB_DIR_NAME = re.compile(r"^job-([0-9]+)$")


def report_card_job_start(*, user, school: School, term: AcademicTerm, class_group: ClassGroup | None) -> ReportCardJob:
    """Record a job for a class's or a school's cards and queue it once the transaction commits."""
    from reportcards.tasks import generate_report_cards

    job = ReportCardJob.objects.create(
        school=school,
        term=term,
        class_group=class_group,
        requested_by=user,
        total=selectors.job_student_count(school=school, class_group=class_group),
    )
    transaction.on_commit(lambda: generate_report_cards.delay(job_id=job.pk))
    return job


def report_card_job_run(*, job_id: int) -> ReportCardJob:
    """Render a queued job's cards into its file, recording progress; a failure is recorded, not raised."""
    job = ReportCardJob.objects.select_related("school", "term", "class_group").get(pk=job_id)
    if job.status != ReportCardJob.Status.QUEUED:
        return job  # delivered twice: the first delivery runs it
    claimed = ReportCardJob.objects.filter(pk=job.pk, status=ReportCardJob.Status.QUEUED).update(
        status=ReportCardJob.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return job

    def progress(done: int, total: int) -> None:
        ReportCardJob.objects.filter(pk=job.pk).update(done=done, total=total)

    out_dir = job_dir(job.pk)
    try:
        files = report_cards_write(
            school=job.school,
            term=job.term,
            class_group=job.class_group,
            out_dir=out_dir,
            archive=job.class_group is None,
            progress=progress,
        )
        # A class without students writes nothing: an empty file would only confuse.
        file_name = str(files[0].relative_to(jobs_dir())) if files else ""
        finished = ReportCardJob.objects.filter(pk=job.pk, status=ReportCardJob.Status.RUNNING).update(
            status=ReportCardJob.Status.SUCCEEDED, file_name=file_name, finished_at=timezone.now()
        )
        if not finished:  # stopped meanwhile as stuck (report_card_jobs_expire): it stays failed, with no file
            shutil.rmtree(out_dir, ignore_errors=True)
    except Exception as failure:
        logger.exception("report card job %s failed", job.pk)
        shutil.rmtree(out_dir, ignore_errors=True)  # a failed job leaves no file behind, not even a class's PDF
        ReportCardJob.objects.filter(pk=job.pk).update(
            status=ReportCardJob.Status.FAILED, error=f"{type(failure).__name__}: {failure}", finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job


def job_file(job: ReportCardJob) -> Path | None:
    """The finished job's file on disk, or None (not finished, nothing written, or removed since)."""
    if job.status != ReportCardJob.Status.SUCCEEDED or not job.file_name:
        return None
    path = (jobs_dir() / job.file_name).resolve()
    if jobs_dir().resolve() not in path.parents or not path.is_file():
        return None
    return path


# --- clean-up -------------------------------------------------------------------------------------


@dataclass
class JobsExpired:
    """What ``report_card_jobs_expire`` removed (or, on a dry run, would remove)."""

    jobs: list[int] = field(default_factory=list)  # ids of finished jobs older than the retention
    stopped: list[int] = field(default_factory=list)  # ids of jobs stuck queued or running past the time-out
    folders: list[Path] = field(default_factory=list)  # their folders, and folders of jobs deleted since
    bytes: int = 0  # the size of the files in those folders


def _folder_size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def report_card_jobs_expire(*, now: datetime.datetime | None = None, dry_run: bool = False) -> JobsExpired:
    """Remove the jobs that finished (succeeded or failed) more than ``REPORT_CARD_JOB_RETENTION_DAYS`` ago with
    their files, and the folders of jobs that no longer exist (removed with their school or term) last written
    before then. A queued or running job is never removed; nor are other files of the folder.

    First, a job queued or running for more than ``REPORT_CARD_JOB_TIMEOUT_HOURS`` (its worker was killed, or
    its message lost with the broker) is stopped: marked failed with the reason, its half-written folder
    removed, so that nobody waits on it; it is then kept for the retention like any failed job. Should its
    worker still finish after all, the job stays failed and the file is removed (``report_card_job_run``)."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.REPORT_CARD_JOB_RETENTION_DAYS)
    finished = (ReportCardJob.Status.SUCCEEDED, ReportCardJob.Status.FAILED)
    hours = settings.REPORT_CARD_JOB_TIMEOUT_HOURS
    stuck_since = now - datetime.timedelta(hours=hours)
    stuck = Q(status=ReportCardJob.Status.RUNNING, started_at__lt=stuck_since) | Q(
        status=ReportCardJob.Status.QUEUED, created_at__lt=stuck_since
    )
    stopped = list(ReportCardJob.objects.filter(stuck).order_by("pk").values_list("pk", flat=True))
    if not dry_run:
        # One by one, each still stuck at its update: a job that finished meanwhile keeps its status and file.
        stopped = [
            pk
            for pk in stopped
            if ReportCardJob.objects.filter(stuck, pk=pk).update(
                status=ReportCardJob.Status.FAILED,
                error=f"Stopped: not finished {hours} hours after it was asked for or started (its worker ended).",
                finished_at=now,
            )
        ]
        for pk in stopped:
            shutil.rmtree(job_dir(pk), ignore_errors=True)
    expired = JobsExpired(
        stopped=stopped,
        jobs=list(
            ReportCardJob.objects.filter(status__in=finished, finished_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
    )
    folders = [job_dir(pk) for pk in expired.jobs if job_dir(pk).is_dir()]
    if jobs_dir().is_dir():
        orphans = sorted(
            (folder for folder in jobs_dir().iterdir() if folder.is_dir() and JOB_DIR_NAME.match(folder.name)),
            key=lambda folder: int(JOB_DIR_NAME.match(folder.name)[1]),
        )
        existing = set(
            ReportCardJob.objects.filter(
                pk__in=[int(JOB_DIR_NAME.match(folder.name)[1]) for folder in orphans]
            ).values_list("pk", flat=True)
        )
        folders += [
            folder
            for folder in orphans
            if int(JOB_DIR_NAME.match(folder.name)[1]) not in existing
            and datetime.datetime.fromtimestamp(folder.stat().st_mtime, tz=datetime.UTC) < cutoff
        ]
    expired.folders = folders
    expired.bytes = sum(_folder_size(folder) for folder in folders)
    if not dry_run:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        # Only those still finished: a job is never removed while it runs.
        ReportCardJob.objects.filter(pk__in=expired.jobs, status__in=finished).delete()
    return expired
