"""Writes of report cards: the HTML, a student's PDF, a class's PDF, a school's zip of class PDFs, and the job
that makes them in the background.

Rendering is streamed: a class is laid out student by student and written to disk before the next class is
read, so memory is bounded by the largest class, not the number of students in a job.
"""

import contextlib
import datetime
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
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


def _render(html: str):
    global _renderer
    if _renderer is None:
        _renderer = _Renderer()
    return _renderer.render(html)


def card_title(card: dict) -> str:
    return f"Report card: {card['student']['name']}, {card['term']['name']}"


def card_pdf(*, student: Student, term: AcademicTerm, printed_on: datetime.date | None = None) -> bytes:
    """One student's term report card as PDF bytes."""
    card = selectors.report_card_data(student=student, term=term, printed_on=printed_on)
    return _render(cards_html(cards=[card], title=card_title(card), for_pdf=True)).write_pdf()


def file_stem(*parts: str) -> str:
    return "-".join(slugify(part) or "x" for part in parts)


def class_pdf_write(
    *,
    students: list[Student],
    term: AcademicTerm,
    target,
    title: str,
    printed_on: datetime.date | None = None,
    tick: Callable[[], None] | None = None,
) -> int:
    """Write the cards of ``students`` (in the order given) as one PDF to ``target`` (a path or a binary file);
    each card starts on a new page. Returns how many cards were written; ``tick`` is called after each card."""
    if not students:
        return 0
    teachers = selectors.subject_teachers(class_group_id=students[0].class_group_id)
    pages = []
    first = None
    for student in students:
        same_class = student.class_group_id == students[0].class_group_id
        card = selectors.report_card_data(
            student=student, term=term, printed_on=printed_on, teachers=teachers if same_class else None
        )
        document = _render(cards_html(cards=[card], title=title, for_pdf=True))
        first = first or document
        pages.extend(document.pages)
        if tick:
            tick()
    first.copy(pages).write_pdf(target)
    return len(students)


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
) -> list[Path]:
    """Write a class's cards as one PDF, or a school's as one PDF per class (in grade and name order; the
    students without a class last), or with ``archive`` one zip of those PDFs. Returns the files written.

    Each class is rendered, written to disk and dropped before the next is read.
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
    written: list[Path] = []
    zip_path = out_dir / school_file_name(school=school, term=term) if archive else None
    zip_temporary = _atomic_target(zip_path) if zip_path else None
    try:
        with (
            zipfile.ZipFile(zip_temporary, "w", zipfile.ZIP_DEFLATED)
            if zip_temporary
            else contextlib.nullcontext() as bundle
        ):
            for group in groups:
                students = list(
                    selectors.class_students(class_group=group)
                    if group is not None
                    else selectors.unplaced_students(school=school)
                )
                if not students:
                    continue
                name = class_file_name(school=school, term=term, class_group=group)
                path = out_dir / name
                temporary = _atomic_target(path)
                try:
                    class_pdf_write(
                        students=students,
                        term=term,
                        target=str(temporary),
                        title=class_title(school=school, term=term, class_group=group),
                        printed_on=printed_on,
                        tick=tick,
                    )
                    if bundle is not None:
                        bundle.write(temporary, arcname=name)
                    else:
                        temporary.replace(path)
                        written.append(path)
                finally:
                    temporary.unlink(missing_ok=True)
        if zip_temporary:
            zip_temporary.replace(zip_path)
            written.append(zip_path)
    finally:
        if zip_temporary:
            zip_temporary.unlink(missing_ok=True)
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
        ReportCardJob.objects.filter(pk=job.pk).update(
            status=ReportCardJob.Status.SUCCEEDED, file_name=file_name, finished_at=timezone.now()
        )
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
    folders: list[Path] = field(default_factory=list)  # their folders, and folders of jobs deleted since
    bytes: int = 0  # the size of the files in those folders


def _folder_size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def report_card_jobs_expire(*, now: datetime.datetime | None = None, dry_run: bool = False) -> JobsExpired:
    """Remove the jobs that finished (succeeded or failed) more than ``REPORT_CARD_JOB_RETENTION_DAYS`` ago with
    their files, and the folders of jobs that no longer exist (removed with their school or term) last written
    before then. A queued or running job is never removed, however old; nor are other files of the folder."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.REPORT_CARD_JOB_RETENTION_DAYS)
    finished = (ReportCardJob.Status.SUCCEEDED, ReportCardJob.Status.FAILED)
    expired = JobsExpired(
        jobs=list(
            ReportCardJob.objects.filter(status__in=finished, finished_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
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
