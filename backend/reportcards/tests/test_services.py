"""Bulk report cards: a class's PDF (one card per student, in class order by name), a school's zip of class
PDFs, the background job with its progress and download, and the command."""

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from reportcards import services
from reportcards.models import ReportCardJob
from reportcards.services import report_card_job_run, report_cards_write
from reportcards.tests.conftest import pdf_pages
from tests.factories import ClassGroupFactory, StudentFactory

pytestmark = pytest.mark.django_db


def test_a_class_pdf_has_one_card_per_student_in_order(hillcrest, tmp_path):
    w = hillcrest
    # Added out of order, and one who left (inactive): not printed.
    StudentFactory(school=w.school, class_group=w.klass, first_name="Abe", last_name="Zulu", student_number="H009")
    StudentFactory(school=w.school, class_group=w.klass, first_name="Al", last_name="Bello", student_number="H008")
    StudentFactory(school=w.school, class_group=w.klass, first_name="Gone", last_name="Away", active=False)

    files = report_cards_write(school=w.school, term=w.term, class_group=w.klass, out_dir=tmp_path)

    assert [path.name for path in files] == ["hillcrest-term-1-grade-7a.pdf"]
    pages = pdf_pages(files[0].read_bytes())
    # One page per student here (a long card may take two): each page names its student.
    names = [next(name for name in NAMES if f"STUDENT {name} STUDENT NUMBER" in page) for page in pages]
    assert names == ["Ann Abara", "Al Bello", "Ben Bello", "Cat Chege", "Abe Zulu"]
    # Each card carries its own figures.
    assert "Maths Mia Moss 82.50% 1st of 3" in pages[0]
    assert "Maths Mia Moss 75.00% 2nd of 3 75.00% (3/4) Strong start" in pages[2]
    assert "English Eve Ellis 67.50% 3rd of 3" in pages[3]
    assert "PRESENT 1 OF WHICH LATE 0 ABSENT 4 EXCUSED 0" in pages[3]


NAMES = ("Ann Abara", "Al Bello", "Ben Bello", "Cat Chege", "Abe Zulu")


def test_a_school_archive_holds_one_pdf_per_class(hillcrest, tmp_path):
    w = hillcrest
    younger = ClassGroupFactory(school=w.school, name="Grade 6B", grade_level=6)
    StudentFactory(school=w.school, class_group=younger, first_name="Sam", last_name="Six")
    ClassGroupFactory(school=w.school, name="Grade 8 (empty)", grade_level=8)
    StudentFactory(school=w.school, class_group=None, first_name="New", last_name="Comer")
    seen = []

    files = report_cards_write(
        school=w.school, term=w.term, out_dir=tmp_path, archive=True, progress=lambda d, t: seen.append((d, t))
    )

    assert [path.name for path in files] == ["hillcrest-term-1.zip"]
    with zipfile.ZipFile(files[0]) as bundle:
        # Grade order, then the students without a class; an empty class has no file.
        assert bundle.namelist() == [
            "hillcrest-term-1-grade-6b.pdf",
            "hillcrest-term-1-grade-7a.pdf",
            "hillcrest-term-1-without-a-class.pdf",
        ]
        counts = [len(pdf_pages(bundle.read(name))) for name in bundle.namelist()]
    assert counts == [1, 3, 1]
    assert seen == [(n, 5) for n in range(6)]
    # Nothing half-written is left beside it.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["hillcrest-term-1.zip"]


def test_the_job_runs_and_records_progress_and_its_file(hillcrest, report_cards_dir):
    w = hillcrest
    job = ReportCardJob.objects.create(
        school=w.school, term=w.term, class_group=w.klass, requested_by=w.admin.user, total=3
    )

    job = report_card_job_run(job_id=job.pk)

    assert (job.status, job.done, job.total, job.error) == (ReportCardJob.Status.SUCCEEDED, 3, 3, "")
    assert job.file_name == f"job-{job.pk}/hillcrest-term-1-grade-7a.pdf"
    assert len(pdf_pages((report_cards_dir / job.file_name).read_bytes())) == 3
    assert job.started_at is not None
    assert job.finished_at is not None


def test_a_job_delivered_twice_runs_once(hillcrest, report_cards_dir):
    w = hillcrest
    job = ReportCardJob.objects.create(school=w.school, term=w.term, class_group=w.klass, requested_by=w.admin.user)
    first = report_card_job_run(job_id=job.pk)

    again = report_card_job_run(job_id=job.pk)

    assert again.status == ReportCardJob.Status.SUCCEEDED
    assert again.finished_at == first.finished_at


def test_a_failing_job_is_recorded_failed_not_raised(hillcrest, monkeypatch):
    w = hillcrest
    job = ReportCardJob.objects.create(school=w.school, term=w.term, class_group=w.klass, requested_by=w.admin.user)

    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("reportcards.services.report_cards_write", broken)

    job = report_card_job_run(job_id=job.pk)

    assert job.status == ReportCardJob.Status.FAILED
    assert job.error == "OSError: disk full"
    assert job.file_name == ""


# --- the command ----------------------------------------------------------------------------------


def test_command_writes_a_class_pdf_with_progress(hillcrest, tmp_path):
    w = hillcrest
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "report_cards",
        f"--school={w.school.pk}",
        f"--term={w.term.pk}",
        f"--class={w.klass.pk}",
        f"--out={tmp_path / 'cards'}",
        stdout=out,
        stderr=err,
    )

    path = tmp_path / "cards" / "hillcrest-term-1-grade-7a.pdf"
    assert len(pdf_pages(path.read_bytes())) == 3
    assert str(path) in out.getvalue()
    assert "(3 cards, " in out.getvalue()
    assert "s CPU per card)" in out.getvalue()
    progress = err.getvalue()
    assert "0/3 cards" in progress
    assert "[##############################] 3/3 cards" in progress


def test_command_writes_every_class_of_the_school(hillcrest, tmp_path):
    w = hillcrest
    other = ClassGroupFactory(school=w.school, name="Grade 8C", grade_level=8)
    StudentFactory(school=w.school, class_group=other)

    out, err = io.StringIO(), io.StringIO()

    call_command(
        "report_cards",
        f"--school={w.school.pk}",
        f"--term={w.term.pk}",
        f"--out={tmp_path}",
        "--no-progress",
        stdout=out,
        stderr=err,
    )

    # Without the bar the summary still counts the cards (the benchmark reads it).
    assert "2 file(s) in " in out.getvalue()
    assert "(4 cards, " in out.getvalue()
    assert err.getvalue() == ""

    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "hillcrest-term-1-grade-7a.pdf",
        "hillcrest-term-1-grade-8c.pdf",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--school=999999", "--term=1"], "--school: no school with id 999999."),
        (["--school={school}", "--term=999999"], "--term: no term with id 999999 at Hillcrest."),
        (["--school={school}", "--term={other_term}"], "--term: no term with id {other_term} at Hillcrest."),
        (["--school={school}", "--term={term}", "--class=999999"], "--class: no class with id 999999 at Hillcrest."),
    ],
)
def test_command_refuses_ids_of_nothing_or_of_another_school(hillcrest, tmp_path, args, message):
    w = hillcrest
    other = StudentFactory()
    other_term = other.school.terms.create(name="T", start_date=w.term.start_date, end_date=w.term.end_date)
    ids = {"school": w.school.pk, "term": w.term.pk, "other_term": other_term.pk}

    with pytest.raises(CommandError) as refused:
        call_command("report_cards", *[arg.format(**ids) for arg in args], f"--out={tmp_path}")

    assert str(refused.value) == message.format(**ids)
    assert list(tmp_path.iterdir()) == []


# --- worker processes -----------------------------------------------------------------------------


@pytest.fixture
def parallel(monkeypatch):
    """Worker processes for jobs as small as the Hillcrest school's, and a class split in parts of 2 cards."""
    monkeypatch.setattr(services, "PARALLEL_MIN_CARDS", 1)
    monkeypatch.setattr(services, "PART_MIN_CARDS", 2)


def add_students(w) -> None:
    StudentFactory(school=w.school, class_group=w.klass, first_name="Abe", last_name="Zulu", student_number="H009")
    StudentFactory(school=w.school, class_group=w.klass, first_name="Al", last_name="Bello", student_number="H008")


def test_workers_split_a_class_and_merge_the_same_pdf(hillcrest, tmp_path, parallel):
    w = hillcrest
    add_students(w)
    alone = report_cards_write(school=w.school, term=w.term, class_group=w.klass, out_dir=tmp_path / "1", processes=1)
    seen, usage = [], services.WorkersUsage()

    (path,) = report_cards_write(
        school=w.school,
        term=w.term,
        class_group=w.klass,
        out_dir=tmp_path / "2",
        processes=2,
        progress=lambda d, t: seen.append((d, t)),
        usage=usage,
    )

    # 5 cards in two parts (3 and 2) laid out by two workers, merged in order: the same pages as in one process.
    assert len(usage.peak_mib) == 2
    pages = pdf_pages(path.read_bytes())
    assert pages == pdf_pages(alone[0].read_bytes())
    assert [next(name for name in NAMES if f"STUDENT {name} STUDENT NUMBER" in page) for page in pages] == list(NAMES)
    assert seen == [(n, 5) for n in range(6)]
    assert sorted(p.name for p in (tmp_path / "2").iterdir()) == ["hillcrest-term-1-grade-7a.pdf"]


def test_workers_write_a_schools_archive_as_one_process_does(hillcrest, tmp_path, parallel):
    w = hillcrest
    younger = ClassGroupFactory(school=w.school, name="Grade 6B", grade_level=6)
    StudentFactory(school=w.school, class_group=younger, first_name="Sam", last_name="Six")
    StudentFactory(school=w.school, class_group=None, first_name="New", last_name="Comer")
    archives = {}
    for processes in (1, 2):
        usage = services.WorkersUsage()
        (path,) = report_cards_write(
            school=w.school,
            term=w.term,
            out_dir=tmp_path / str(processes),
            archive=True,
            processes=processes,
            usage=usage,
        )
        with zipfile.ZipFile(path) as bundle:
            archives[processes] = {name: pdf_pages(bundle.read(name)) for name in bundle.namelist()}
        assert len(usage.peak_mib) == (processes if processes > 1 else 0)
        assert [p.name for p in (tmp_path / str(processes)).iterdir()] == ["hillcrest-term-1.zip"]
    assert list(archives[2]) == [
        "hillcrest-term-1-grade-6b.pdf",
        "hillcrest-term-1-grade-7a.pdf",
        "hillcrest-term-1-without-a-class.pdf",
    ]
    assert archives[2] == archives[1]


def test_a_worker_failure_is_raised_and_leaves_no_file(hillcrest, tmp_path, parallel, monkeypatch):
    w = hillcrest
    add_students(w)
    render = services._render

    def failing_on_ben(html):
        if "Ben Bello" in html:
            raise OSError("disk full")
        return render(html)

    monkeypatch.setattr(services, "_render", failing_on_ben)

    with pytest.raises(OSError, match="disk full"):
        report_cards_write(school=w.school, term=w.term, class_group=w.klass, out_dir=tmp_path, processes=2)
    assert list(tmp_path.iterdir()) == []


def test_a_daemonic_process_lays_the_cards_out_itself(hillcrest, tmp_path, parallel, monkeypatch):
    # A Celery prefork worker is daemonic and may not start processes.
    w = hillcrest
    monkeypatch.setattr(services.multiprocessing.current_process(), "daemon", True)
    usage = services.WorkersUsage()

    (path,) = report_cards_write(
        school=w.school, term=w.term, class_group=w.klass, out_dir=tmp_path, processes=2, usage=usage
    )

    assert usage.peak_mib == {}
    assert len(pdf_pages(path.read_bytes())) == 3
