"""Job files are kept REPORT_CARD_JOB_RETENTION_DAYS after the job finished, then removed with the job (an hourly
beat task, or the command); a job still queued or running is never removed, but one stuck past
REPORT_CARD_JOB_TIMEOUT_HOURS is stopped (failed, its half-written folder removed); a failed job leaves no file."""

import datetime
import io
import os

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command

from reportcards import services, tasks
from reportcards.models import ReportCardJob
from reportcards.services import report_card_job_run, report_card_jobs_expire
from tests.factories import ClassGroupFactory, StudentFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def jobs(hillcrest, report_cards_dir, settings):
    """Four jobs made at the frozen now: one succeeded (its PDF on disk), one failed, one running (a half-written
    file in its folder), one queued; and the folders of two jobs deleted since, last written 8 and 2 days ago."""
    settings.REPORT_CARD_JOB_RETENTION_DAYS = 7
    settings.REPORT_CARD_JOB_TIMEOUT_HOURS = 6
    w = hillcrest

    def job(**fields):
        return ReportCardJob.objects.create(
            school=w.school, term=w.term, class_group=w.klass, requested_by=w.admin.user, **fields
        )

    done = report_card_job_run(job_id=job().pk)
    failed = job(status=ReportCardJob.Status.FAILED, error="OSError: disk full", finished_at=services.timezone.now())
    running = job(status=ReportCardJob.Status.RUNNING, started_at=services.timezone.now())
    queued = job()
    services.job_dir(running.pk).mkdir(parents=True)
    (services.job_dir(running.pk) / ".hillcrest-term-1-grade-7a.pdf.x.part").write_bytes(b"%PDF-half")
    now = services.timezone.now().timestamp()
    orphans = {}
    for pk, age in ((9001, 8 * DAY), (9002, 2 * DAY)):
        folder = services.job_dir(pk)
        folder.mkdir()
        (folder / "old.pdf").write_bytes(b"x" * 100)
        os.utime(folder, (now - age.total_seconds(),) * 2)
        orphans[pk] = folder
    (report_cards_dir / "notes").mkdir()  # not a job's folder: never touched
    assert done.status == ReportCardJob.Status.SUCCEEDED
    return {"done": done, "failed": failed, "running": running, "queued": queued, "orphans": orphans}


def remaining_jobs() -> set[int]:
    return set(ReportCardJob.objects.values_list("pk", flat=True))


def test_nothing_is_removed_within_the_retention(jobs, report_cards_dir):
    with time_machine.travel(services.timezone.now() + 3 * DAY, tick=False):
        expired = report_card_jobs_expire()
    # Only the folder of the deleted job last written 8 days ago (3 + 8 > 7).
    assert (expired.jobs, expired.folders) == ([], [jobs["orphans"][9001]])

    with time_machine.travel(services.timezone.now() + 7 * DAY - datetime.timedelta(minutes=1), tick=False):
        expired = report_card_jobs_expire()
    assert (expired.jobs, expired.folders, expired.bytes) == ([], [jobs["orphans"][9002]], 100)

    assert remaining_jobs() == {jobs[name].pk for name in ("done", "failed", "running", "queued")}
    assert (report_cards_dir / jobs["done"].file_name).is_file()


def test_finished_jobs_past_the_retention_go_with_their_files(jobs, report_cards_dir):
    done, running = jobs["done"], jobs["running"]
    pdf_size = (report_cards_dir / done.file_name).stat().st_size
    with time_machine.travel(services.timezone.now() + 7 * DAY + datetime.timedelta(minutes=1), tick=False):
        expired = report_card_jobs_expire()

    assert expired.jobs == [done.pk, jobs["failed"].pk]
    assert expired.folders == [services.job_dir(done.pk), *jobs["orphans"].values()]
    assert expired.bytes == pdf_size + 100 + 100
    # The running and the queued job were stuck for 7 days: stopped (failed now, their half-written folder gone)
    # and kept for the retention from now, like any failed job.
    assert expired.stopped == [running.pk, jobs["queued"].pk]
    assert remaining_jobs() == {running.pk, jobs["queued"].pk}
    assert set(ReportCardJob.objects.values_list("status", flat=True)) == {ReportCardJob.Status.FAILED}
    assert sorted(path.name for path in report_cards_dir.iterdir()) == ["notes"]


def test_a_job_stuck_past_the_time_out_is_stopped(jobs, report_cards_dir):
    running, queued = jobs["running"], jobs["queued"]
    # 6 hours less a minute: still waited for.
    with time_machine.travel(services.timezone.now() + datetime.timedelta(hours=6, minutes=-1), tick=False):
        assert report_card_jobs_expire().stopped == []
    assert ReportCardJob.objects.get(pk=running.pk).status == ReportCardJob.Status.RUNNING
    assert services.job_dir(running.pk).is_dir()
    # A dry run names them and changes nothing.
    later = services.timezone.now() + datetime.timedelta(hours=6, minutes=1)
    with time_machine.travel(later, tick=False):
        out = io.StringIO()
        call_command("expire_report_card_jobs", "--dry-run", stdout=out)
        assert f"Would stop 2 job(s) queued or running for over 6 hour(s): {running.pk}, {queued.pk}." in out.getvalue()
        assert ReportCardJob.objects.get(pk=running.pk).status == ReportCardJob.Status.RUNNING
        expired = report_card_jobs_expire()
    assert expired.stopped == [running.pk, queued.pk]
    for job in (running, queued):
        job.refresh_from_db()
        assert job.status == ReportCardJob.Status.FAILED
        assert job.error == "Stopped: not finished 6 hours after it was asked for or started (its worker ended)."
        assert job.finished_at == later
        assert not services.job_dir(job.pk).exists()
    # The message of the stopped queued job, delivered at last, runs nothing.
    assert report_card_job_run(job_id=queued.pk).status == ReportCardJob.Status.FAILED
    assert not services.job_dir(queued.pk).exists()


def test_a_stopped_job_whose_worker_finishes_after_all_stays_failed_without_a_file(
    hillcrest, report_cards_dir, monkeypatch
):
    w = hillcrest
    job = ReportCardJob.objects.create(school=w.school, term=w.term, class_group=w.klass, requested_by=w.admin.user)
    write = services.report_cards_write

    def stopped_while_writing(**kwargs):
        files = write(**kwargs)
        ReportCardJob.objects.filter(pk=job.pk).update(status=ReportCardJob.Status.FAILED, error="Stopped")
        return files

    monkeypatch.setattr(services, "report_cards_write", stopped_while_writing)
    job = report_card_job_run(job_id=job.pk)
    assert (job.status, job.error, job.file_name) == (ReportCardJob.Status.FAILED, "Stopped", "")
    assert not services.job_dir(job.pk).exists()


def test_a_job_that_finishes_later_is_kept_from_its_finish(jobs):
    # Queued now, it runs (and finishes) 5 days later: kept until 7 days after that.
    queued = jobs["queued"]
    with time_machine.travel(services.timezone.now() + 5 * DAY, tick=False):
        report_card_job_run(job_id=queued.pk)
    with time_machine.travel(services.timezone.now() + 8 * DAY, tick=False):
        assert queued.pk not in report_card_jobs_expire().jobs
    with time_machine.travel(services.timezone.now() + 12 * DAY + datetime.timedelta(minutes=1), tick=False):
        assert queued.pk in report_card_jobs_expire().jobs
    assert queued.pk not in remaining_jobs()


def test_the_command_dry_run_removes_nothing(jobs, report_cards_dir):
    done = jobs["done"]
    with time_machine.travel(services.timezone.now() + 8 * DAY, tick=False):
        out = io.StringIO()
        call_command("expire_report_card_jobs", "--dry-run", stdout=out)
        assert f"job-{done.pk}" in out.getvalue()
        assert "Would remove 2 job(s) finished over 7 day(s) ago and 3 folder(s)" in out.getvalue()
        assert (report_cards_dir / done.file_name).is_file()
        assert len(remaining_jobs()) == 4

        out = io.StringIO()
        call_command("expire_report_card_jobs", stdout=out)
        assert "Removed 2 job(s) finished over 7 day(s) ago and 3 folder(s)" in out.getvalue()
    assert not services.job_dir(done.pk).exists()
    assert len(remaining_jobs()) == 2


def test_beat_runs_the_clean_up_hourly(jobs):
    entry = settings.CELERY_BEAT_SCHEDULE["reportcards-expire-jobs"]
    assert entry["task"] == tasks.expire_report_card_jobs.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == (set(range(24)), {30})
    with time_machine.travel(services.timezone.now() + 8 * DAY, tick=False):
        summary = tasks.expire_report_card_jobs.delay().get()
    assert summary.startswith("report card jobs expired: 2 job(s), 3 folder(s), ")
    assert summary.endswith("; stopped as stuck: 2 job(s)")
    assert len(remaining_jobs()) == 2


def test_a_failed_school_job_leaves_no_file(hillcrest, report_cards_dir, monkeypatch):
    w = hillcrest
    younger = ClassGroupFactory(school=w.school, name="Grade 6B", grade_level=6)
    StudentFactory(school=w.school, class_group=younger, first_name="Sam", last_name="Six")
    job = ReportCardJob.objects.create(school=w.school, term=w.term, requested_by=w.admin.user)
    render, calls = services._render, []

    def failing_on_the_third_card(html):
        calls.append(html)
        if len(calls) == 3:  # the second class's second card: the first class's PDF is in the zip by now
            raise OSError("disk full")
        return render(html)

    monkeypatch.setattr(services, "_render", failing_on_the_third_card)

    job = report_card_job_run(job_id=job.pk)

    assert (job.status, job.done, job.error, job.file_name) == (
        ReportCardJob.Status.FAILED,
        2,
        "OSError: disk full",
        "",
    )
    assert list(report_cards_dir.iterdir()) == []
