"""Celery tasks of report cards: each takes ids and calls the service (inline when no broker is configured)."""

from celery import shared_task

from reportcards import services


@shared_task(acks_late=True)
def generate_report_cards(*, job_id: int) -> str:
    """Render a report-card job (a class's PDF or a school's zip); returns its status and progress."""
    job = services.report_card_job_run(job_id=job_id)
    return f"report cards job {job.pk}: {job.status} {job.done}/{job.total}"


@shared_task
def expire_report_card_jobs() -> str:
    """Stop the stuck jobs; remove the finished jobs older than the retention, with their files (beat: hourly)."""
    expired = services.report_card_jobs_expire()
    return (
        f"report card jobs expired: {len(expired.jobs)} job(s), {len(expired.folders)} folder(s), {expired.bytes} bytes"
        f"; stopped as stuck: {len(expired.stopped)} job(s)"
    )
