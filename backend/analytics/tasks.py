"""Celery tasks of the analytics jobs: each takes ids and calls the same service as its management command.

Beat runs ``dispatch_scheduled_jobs`` every 15 minutes (settings.CELERY_BEAT_SCHEDULE); it queues the
per-school tasks whose local slot has passed. With no broker configured every task runs inline.
"""

import datetime
import functools
import logging
from collections.abc import Callable

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from analytics import jobs
from analytics.models import JobRun
from schools.models import AcademicTerm, School

logger = logging.getLogger(__name__)

# Acknowledged after they ran, so a job on a worker that dies is delivered again; both jobs are
# idempotent and lock-guarded, so a second delivery is harmless.
JOB_TASK_OPTIONS = {"acks_late": True}


def _slot(scheduled_for: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(scheduled_for) if scheduled_for else None


def _settled(job: str, school_id: int, scheduled_for: str | None) -> str | None:
    """Why a scheduled delivery has nothing to do (its slot already ran: a second delivery), else None."""
    slot = _slot(scheduled_for)
    if slot and jobs.job_slot_settled(job=job, school_id=school_id, scheduled_for=slot):
        return f"{job}: school {school_id}: slot {scheduled_for} already done"
    return None


def _logged(run: Callable[[], JobRun]) -> tuple[str, bool]:
    """Run the job and log its summary; a run refused because another holds the lock is logged, not raised."""
    try:
        summary = run().summary
    except jobs.JobAlreadyRunning as refused:
        logger.warning("%s", refused)
        return str(refused), False
    logger.info("%s", summary)
    return summary, True


@shared_task(**JOB_TASK_OPTIONS)
def calculate_class_ranks(*, school_id: int, term_ids: list[int], scheduled_for: str | None = None) -> list[str]:
    """Rank the school's terms one after the other (one lock at a time); returns the run summaries."""
    if settled := _settled(JobRun.Job.CLASS_RANKS, school_id, scheduled_for):
        return [settled]
    summaries = []
    for term in AcademicTerm.objects.filter(school_id=school_id, pk__in=term_ids).select_related("school"):
        summary, ran = _logged(functools.partial(jobs.class_ranks_run, term=term, scheduled_for=_slot(scheduled_for)))
        summaries.append(summary)
        if not ran:
            break
    return summaries


@shared_task(**JOB_TASK_OPTIONS)
def generate_teacher_metrics(
    *, school_id: int, first_week: str, last_week: str | None = None, scheduled_for: str | None = None
) -> str:
    """Recompute the school's teacher metrics for the weeks (Mondays, ISO dates); returns the run summary."""
    if settled := _settled(JobRun.Job.TEACHER_METRICS, school_id, scheduled_for):
        return settled
    run = functools.partial(
        jobs.teacher_metrics_run,
        school=School.objects.get(pk=school_id),
        first_week=datetime.date.fromisoformat(first_week),
        last_week=datetime.date.fromisoformat(last_week) if last_week else None,
        scheduled_for=_slot(scheduled_for),
    )
    return _logged(run)[0]


@shared_task(**JOB_TASK_OPTIONS)
def roll_early_warning_flags(*, school_id: int, day: str | None = None, scheduled_for: str | None = None) -> str:
    """Roll the school's early-warning flags over to the day (ISO date; default today there); returns the summary."""
    if settled := _settled(JobRun.Job.EARLY_WARNING, school_id, scheduled_for):
        return settled
    run = functools.partial(
        jobs.early_warning_flags_run,
        school=School.objects.get(pk=school_id),
        day=datetime.date.fromisoformat(day) if day else None,
        scheduled_for=_slot(scheduled_for),
    )
    return _logged(run)[0]


@shared_task
def dispatch_scheduled_jobs() -> int:
    """Queue every school's job whose local slot has passed and has no run yet; returns how many were queued."""
    due = jobs.scheduled_runs_due(now=timezone.now())
    for run in due:
        slot = run.scheduled_for.isoformat()
        if run.job == JobRun.Job.CLASS_RANKS:
            queue = functools.partial(
                calculate_class_ranks.delay, school_id=run.school_id, term_ids=list(run.term_ids), scheduled_for=slot
            )
        elif run.job == JobRun.Job.EARLY_WARNING:
            queue = functools.partial(
                roll_early_warning_flags.delay,
                school_id=run.school_id,
                day=run.local_date.isoformat(),
                scheduled_for=slot,
            )
        else:
            queue = functools.partial(
                generate_teacher_metrics.delay,
                school_id=run.school_id,
                first_week=run.week.isoformat(),
                scheduled_for=slot,
            )
        transaction.on_commit(queue)
    return len(due)
