"""The scheduled jobs: nightly class ranks, weekly teacher metrics and the nightly roll-over of the early-warning
flags, their lock, run record and schedule.

A job runs for one school at a time under a lock row: a RUNNING ``JobRun``, of which the database allows
one per job and school (a partial unique index, so it works the same on SQLite and PostgreSQL). The row is
released (marked SUCCEEDED or FAILED) when the run ends, even by an exception.

On PostgreSQL the run also holds a session-level advisory lock per job and school on its connection for
the whole run. PostgreSQL releases it when the process dies (its connection ends), so the lock dies with
its process: a RUNNING row whose advisory lock nobody holds was left by a killed process and is taken
over at once (marked FAILED, abandoned), and a run whose lock is held by a live process is refused
however old its heartbeat. On SQLite a row left RUNNING by a killed process is taken over once its
heartbeat is older than ``STALE_AFTER``.

Data is written in one transaction per school and term (ranks) or per school and week (teacher metrics),
so a run that dies leaves each period as before or fully updated, and the next run completes it. Both jobs
recompute from the stored rows and write only what differs, so a second run changes nothing.
"""

import datetime
import os
import socket
import time
import traceback
import zoneinfo
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from analytics import progress, services
from analytics.definitions import week_end, week_start
from analytics.engine.flags import flag_keys_discover
from analytics.models import (
    EarlyWarningSettings,
    JobRun,
    StudentTermPerformance,
    StudentTermStanding,
    TeacherPerformanceMetric,
)
from core.dates import days_later
from schools.models import AcademicTerm, ClassGroup, School, Student, Teacher

STALE_AFTER = datetime.timedelta(minutes=30)
# A scheduled slot whose runs failed this many times is left for a person to look at (the admin lists it).
MAX_SCHEDULED_ATTEMPTS = 3
# The nightly rank run also re-ranks a term that ended this recently: grades entered after the last day
# of term still reach the report card.
LATE_GRADING_DAYS = 14

Job = JobRun.Job
Status = JobRun.Status
# First key of the PostgreSQL advisory lock of the first job, then one per job (the engine's summary locks
# use 0x5C401..0x5C403); the second key is the school's id.
JOB_LOCK_CLASS = 0x5C410


class JobAlreadyRunning(Exception):
    """Another run of the same job for the same school holds the lock; this attempt was refused."""

    def __init__(self, refused: JobRun):
        self.run = refused
        super().__init__(refused.summary)


class JobFailed(Exception):
    """The run raised; it is recorded as FAILED (with the traceback) and its lock is released."""

    def __init__(self, failed: JobRun):
        self.run = failed
        super().__init__(failed.summary)


# --- the lock and the run record ------------------------------------------------------------------


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- the advisory lock (PostgreSQL) ---


def job_lock_key(job: str, school_id: int) -> tuple[int, int]:
    """The two keys of the job's advisory lock for the school: one lock per job and school, no collisions."""
    return JOB_LOCK_CLASS + list(Job.values).index(job), school_id


def _held_here() -> set[tuple[int, int]]:
    """The job locks this connection's session holds (a session may take its own advisory lock again)."""
    session = id(connection.connection)
    held = getattr(connection, "_job_locks", None)
    if held is None or held[0] != session:
        held = connection._job_locks = (session, set())
    return held[1]


def _job_lock_take(job: str, school_id: int) -> bool | None:
    """Take the job's advisory lock for the school: True if taken, False if held elsewhere; None on SQLite."""
    if connection.vendor != "postgresql":
        return None
    key = job_lock_key(job, school_id)
    connection.ensure_connection()
    if key in _held_here():
        return False  # a run of this job for this school is already under way on this connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", list(key))
        taken = cursor.fetchone()[0]
    if taken:
        _held_here().add(key)
    return taken


def _job_lock_release(job: str, school_id: int) -> None:
    key = job_lock_key(job, school_id)
    held = _held_here()
    if key in held:
        held.discard(key)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", list(key))


def job_locks_held() -> set[tuple[int, int]] | None:
    """The keys of the job locks held now by any session (PostgreSQL); None on SQLite (no such locks)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        # An advisory lock on two int4 keys shows as classid = key1, objid = key2, objsubid = 2.
        cursor.execute(
            "SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND classid::bigint BETWEEN %s AND %s",
            [JOB_LOCK_CLASS, JOB_LOCK_CLASS + len(Job.values) - 1],
        )
        return {(int(classid), int(objid)) for classid, objid in cursor.fetchall()}


def _job_run_start(
    *,
    job: str,
    school: School,
    label: str,
    period_start: datetime.date,
    period_end: datetime.date,
    term: AcademicTerm | None,
    scheduled_for: datetime.datetime | None,
    stale_after: datetime.timedelta,
) -> JobRun:
    """Create the RUNNING row that is the lock, taking over an abandoned one; raise JobAlreadyRunning if held.

    On PostgreSQL the advisory lock is taken first and held until ``_job_lock_release``.
    """
    fields = {
        "job": job,
        "school": school,
        "term": term,
        "period_start": period_start,
        "period_end": period_end,
        "scheduled_for": scheduled_for,
        "worker": _worker(),
    }
    locked = _job_lock_take(job, school.pk)
    if locked is False:
        holder = JobRun.objects.filter(job=job, school=school, status=Status.RUNNING).first()
        raise JobAlreadyRunning(_job_run_refused(fields=fields, label=label, holder=holder))
    try:
        for _attempt in range(3):
            now = timezone.now()
            running = JobRun.objects.filter(job=job, school=school, status=Status.RUNNING)
            if locked:
                # The lock is ours, so no live process runs this job for this school: its row is left over.
                abandoned = running
                error = (
                    "Abandoned: its process no longer holds the job's lock (it ended without finishing, "
                    "e.g. killed); taken over at once by a new run."
                )
            else:
                abandoned = running.filter(heartbeat_at__lt=now - stale_after)
                error = f"Abandoned: no sign of life for over {stale_after}; the lock was taken over by a new run."
            try:
                with transaction.atomic():
                    abandoned.update(status=Status.FAILED, finished_at=now, error=error)
                    return JobRun.objects.create(status=Status.RUNNING, started_at=now, heartbeat_at=now, **fields)
            except IntegrityError:
                holder = running.first()
                if holder is not None:
                    raise JobAlreadyRunning(_job_run_refused(fields=fields, label=label, holder=holder)) from None
                # The holder finished in between: try again.
        raise RuntimeError(f"Could not take the {job} lock of {label}: it changed hands three times")
    except BaseException:
        if locked:
            _job_lock_release(job, school.pk)
        raise


def _job_run_refused(*, fields: dict, label: str, holder: JobRun | None) -> JobRun:
    """Record an attempt refused because the holder has the lock (None: a process that has not recorded its run yet)."""
    now = timezone.now()
    if holder is None:
        since = "another process holds the lock (its run is starting)"
    else:
        since = f"run {holder.pk} ({holder.worker}) has held the lock since {holder.started_at:%Y-%m-%d %H:%M:%S %Z}"
    return JobRun.objects.create(
        status=Status.REFUSED,
        started_at=now,
        heartbeat_at=now,
        finished_at=now,
        summary=f"{fields['job']}: {label}: refused, {since}"[:500],
        error=f"Refused: {since}.",
        **fields,
    )


def _job_run_heartbeat(run: JobRun, *, rows_changed: int) -> None:
    run.rows_changed = rows_changed
    run.heartbeat_at = timezone.now()
    JobRun.objects.filter(pk=run.pk).update(rows_changed=run.rows_changed, heartbeat_at=run.heartbeat_at)


def _job_run_finish(run: JobRun, *, status: str, summary: str, error: str = "") -> None:
    run.status, run.summary, run.error = status, summary[:500], error
    run.finished_at = run.heartbeat_at = timezone.now()
    JobRun.objects.filter(pk=run.pk).update(
        status=run.status,
        summary=run.summary,
        error=run.error,
        rows_changed=run.rows_changed,
        finished_at=run.finished_at,
        heartbeat_at=run.heartbeat_at,
    )


@contextmanager
def _job_run(
    *,
    job: str,
    school: School,
    label: str,
    period_start: datetime.date,
    period_end: datetime.date,
    term: AcademicTerm | None = None,
    scheduled_for: datetime.datetime | None = None,
    stale_after: datetime.timedelta = STALE_AFTER,
) -> Iterator[JobRun]:
    """Hold the job's lock for the school while the block runs; record the run's end, whatever it is."""
    run = _job_run_start(
        job=job,
        school=school,
        label=label,
        period_start=period_start,
        period_end=period_end,
        term=term,
        scheduled_for=scheduled_for,
        stale_after=stale_after,
    )
    started = time.monotonic()
    try:
        yield run
    except BaseException as exc:
        seconds = time.monotonic() - started
        summary = f"{job}: {label}: FAILED after {seconds:.2f}s (run {run.pk}): {type(exc).__name__}: {exc}"
        _job_run_finish(run, status=Status.FAILED, summary=summary, error=traceback.format_exc())
        if isinstance(exc, Exception):
            raise JobFailed(run) from exc
        raise
    finally:
        _job_lock_release(job, school.pk)


def _school_label(school: School) -> str:
    return f"{school.name} (school {school.pk})"


def _changed_phrase(changed: int, details: str, seconds: float, run: JobRun) -> str:
    if not changed:
        return f"0 rows changed, already up to date ({seconds:.2f}s, run {run.pk})"
    rows = "1 row" if changed == 1 else f"{changed} rows"
    return f"{rows} changed ({details}) ({seconds:.2f}s, run {run.pk})"


# --- class ranks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassRanksResult:
    subject_ranks: int  # StudentTermPerformance rows whose rank or rank_of changed
    standings: int  # StudentTermStanding rows created, changed or deleted

    @property
    def changed(self) -> int:
        return self.subject_ranks + self.standings


def _rank_sql_parts(school: School) -> dict[str, str]:
    q = connection.ops.quote_name
    partition = "cg.grade_level" if school.rank_scope == School.RankScope.GRADE_LEVEL else "s.class_group_id"
    return {
        "perf": q(StudentTermPerformance._meta.db_table),
        "standing": q(StudentTermStanding._meta.db_table),
        "student": q(Student._meta.db_table),
        "class_group": q(ClassGroup._meta.db_table),
        "rank": q("rank"),
        "rank_of": q("rank_of"),
        "partition": partition,
    }


# Who is ranked: active students in a class, with an average. Everyone else gets a null rank. Partitions
# also split on that flag, so the unranked never take a place. Standard competition ranking is RANK().
_SUBJECT_RANKS_SQL = """
UPDATE {perf}
SET {rank} = ranked.new_rank, {rank_of} = ranked.new_rank_of, updated_at = %s
FROM (
    SELECT rows.id AS id,
           CASE WHEN rows.ranked = 1 THEN RANK() OVER (
               PARTITION BY rows.subject_id, rows.part, rows.ranked ORDER BY rows.average_grade DESC
           ) END AS new_rank,
           CASE WHEN rows.ranked = 1 THEN COUNT(*) OVER (
               PARTITION BY rows.subject_id, rows.part, rows.ranked
           ) END AS new_rank_of
    FROM (
        SELECT p.id, p.subject_id, p.average_grade, {partition} AS part,
               CASE WHEN p.average_grade IS NOT NULL AND s.active AND s.class_group_id IS NOT NULL
                    THEN 1 ELSE 0 END AS ranked
        FROM {perf} p
        JOIN {student} s ON s.id = p.student_id
        LEFT JOIN {class_group} cg ON cg.id = s.class_group_id
        WHERE p.term_id = %s
    ) rows
) ranked
WHERE {perf}.id = ranked.id
  AND ({perf}.{rank} IS DISTINCT FROM ranked.new_rank OR {perf}.{rank_of} IS DISTINCT FROM ranked.new_rank_of)
"""

# The overall average is computed in whole hundredths with integer arithmetic, so it is exact and
# rounded half-up on both databases (SQLite stores decimals as floats): mean = (2*sum + n) // (2*n).
# The trailing WHERE true keeps SQLite's parser from reading ON CONFLICT as a join constraint.
_STANDINGS_SQL = """
INSERT INTO {standing} (student_id, term_id, school_id, overall_average, subjects_averaged,
                        {rank}, {rank_of}, updated_at)
SELECT agg.student_id, %s, %s,
       agg.cents / 100.0,
       agg.n,
       CASE WHEN agg.ranked = 1 THEN RANK() OVER (
           PARTITION BY agg.part, agg.ranked ORDER BY agg.cents DESC
       ) END,
       CASE WHEN agg.ranked = 1 THEN COUNT(*) OVER (PARTITION BY agg.part, agg.ranked) END,
       %s
FROM (
    SELECT p.student_id,
           {partition} AS part,
           COUNT(p.average_grade) AS n,
           (2 * SUM(CAST(ROUND(p.average_grade * 100) AS INTEGER)) + COUNT(p.average_grade))
               / NULLIF(2 * COUNT(p.average_grade), 0) AS cents,
           CASE WHEN COUNT(p.average_grade) > 0 AND s.active AND s.class_group_id IS NOT NULL
                THEN 1 ELSE 0 END AS ranked
    FROM {perf} p
    JOIN {student} s ON s.id = p.student_id
    LEFT JOIN {class_group} cg ON cg.id = s.class_group_id
    WHERE p.term_id = %s
    GROUP BY p.student_id, s.active, s.class_group_id, cg.grade_level
) agg
WHERE true
ON CONFLICT (student_id, term_id) DO UPDATE SET
    school_id = excluded.school_id,
    overall_average = excluded.overall_average,
    subjects_averaged = excluded.subjects_averaged,
    {rank} = excluded.{rank},
    {rank_of} = excluded.{rank_of},
    updated_at = excluded.updated_at
WHERE {standing}.school_id IS DISTINCT FROM excluded.school_id
   OR {standing}.overall_average IS DISTINCT FROM excluded.overall_average
   OR {standing}.subjects_averaged IS DISTINCT FROM excluded.subjects_averaged
   OR {standing}.{rank} IS DISTINCT FROM excluded.{rank}
   OR {standing}.{rank_of} IS DISTINCT FROM excluded.{rank_of}
"""


def class_ranks_calculate(*, term: AcademicTerm) -> ClassRanksResult:
    """Set rank and rank_of of the term's StudentTermPerformance rows and refill its StudentTermStanding rows."""
    school = term.school
    parts = _rank_sql_parts(school)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Lock the term's rows in the order real-time writers upsert them (by key), so the job and a
            # roll call touching the same rows wait for one another instead of deadlocking.
            cursor.execute(
                f"SELECT id FROM {parts['perf']} WHERE term_id = %s ORDER BY student_id, subject_id FOR UPDATE",  # noqa: S608
                [term.pk],
            )
        cursor.execute(_SUBJECT_RANKS_SQL.format(**parts), [now, term.pk])
        subject_ranks = cursor.rowcount
        cursor.execute(_STANDINGS_SQL.format(**parts), [term.pk, school.pk, now, term.pk])
        standings = cursor.rowcount
        # A standing whose student has no performance row left in the term has nothing to stand on.
        standings += (
            StudentTermStanding.objects.filter(term=term)
            .exclude(student_id__in=StudentTermPerformance.objects.filter(term=term).values("student_id"))
            .delete()[0]
        )
    return ClassRanksResult(subject_ranks=subject_ranks, standings=standings)


def class_ranks_run(
    *,
    term: AcademicTerm,
    scheduled_for: datetime.datetime | None = None,
    snapshot_dates: Iterable[datetime.date] | None = None,
) -> JobRun:
    """Recalculate one term's class ranks under the school's job lock, recording the run in JobRun, then write
    the term's standing snapshots of ``snapshot_dates`` (default: the day that ended, see progress.snapshot_day).
    """
    school = term.school
    if snapshot_dates is None:
        night = progress.snapshot_day(term=term, today=timezone.now().astimezone(school.tzinfo).date())
        snapshot_dates = [night] if night else []
    snapshot_dates = sorted({day for day in snapshot_dates if term.start_date <= day <= term.end_date})
    label = f"{_school_label(school)}, {term.name} {term.start_date}..{term.end_date}"
    with _job_run(
        job=Job.CLASS_RANKS,
        school=school,
        label=label,
        term=term,
        period_start=term.start_date,
        period_end=term.end_date,
        scheduled_for=scheduled_for,
    ) as run:
        started = time.monotonic()
        result = class_ranks_calculate(term=term)
        snapshots = progress.standing_snapshots_write(
            term=term,
            days=snapshot_dates,
            heartbeat=lambda rows: _job_run_heartbeat(run, rows_changed=result.changed + rows),
        ).changed
        run.rows_changed = result.changed + snapshots
        details = f"{result.subject_ranks} subject ranks, {result.standings} overall standings"
        if snapshots:
            days = f"{snapshot_dates[0]}" if len(snapshot_dates) == 1 else f"{snapshot_dates[0]}..{snapshot_dates[-1]}"
            details += f", {snapshots} snapshot rows of {days}"
        phrase = _changed_phrase(run.rows_changed, details, time.monotonic() - started, run)
        _job_run_finish(run, status=Status.SUCCEEDED, summary=f"{Job.CLASS_RANKS}: {label}: {phrase}")
    return run


def terms_containing(
    *, schools: Iterable[School], day: datetime.date | None = None
) -> list[tuple[School, datetime.date, AcademicTerm | None]]:
    """Each school with the day (default: today in the school's time zone) and its term containing it, if any."""
    result = []
    for school in schools:
        school_day = day or timezone.now().astimezone(school.tzinfo).date()
        term = AcademicTerm.objects.filter(school=school, start_date__lte=school_day, end_date__gte=school_day).first()
        result.append((school, school_day, term))
    return result


def terms_overlapping(
    *, schools: Iterable[School], first: datetime.date, last: datetime.date
) -> list[tuple[School, datetime.date, AcademicTerm | None]]:
    """Each school with each of its terms overlapping first..last (a school with none: once, with None)."""
    result = []
    for school in schools:
        terms = AcademicTerm.objects.filter(school=school, start_date__lte=last, end_date__gte=first)
        found = list(terms.order_by("start_date"))
        result.extend((school, first, term) for term in found or [None])
    return result


# --- teacher metrics ------------------------------------------------------------------------------


def teacher_metrics_generate(*, school: School, week: datetime.date) -> services.RefreshResult:
    """Recompute the TeacherPerformanceMetric row of every teacher of the school for the week (a Monday)."""
    teacher_ids = set(Teacher.objects.filter(school=school).values_list("id", flat=True))
    # A teacher who has moved on still has this school's rows of earlier weeks to keep right.
    teacher_ids |= set(
        TeacherPerformanceMetric.objects.filter(school=school, week_start=week).values_list("teacher_id", flat=True)
    )
    with transaction.atomic():
        return services.teacher_metrics_refresh(keys={(teacher_id, week) for teacher_id in teacher_ids})


def teacher_metrics_run(
    *,
    school: School,
    first_week: datetime.date,
    last_week: datetime.date | None = None,
    scheduled_for: datetime.datetime | None = None,
) -> JobRun:
    """Recompute a school's teacher metrics week by week (Mondays first_week..last_week) under the job lock."""
    last_week = last_week or first_week
    if first_week.weekday() or last_week.weekday() or last_week < first_week:
        raise ValueError(f"Weeks must be Mondays with the first not after the last: {first_week}, {last_week}")
    weeks = [first_week + datetime.timedelta(weeks=n) for n in range((last_week - first_week).days // 7 + 1)]
    period_end = week_end(last_week)
    count = "1 week" if len(weeks) == 1 else f"{len(weeks)} weeks"
    label = f"{_school_label(school)}, weeks {first_week}..{period_end} ({count})"
    with _job_run(
        job=Job.TEACHER_METRICS,
        school=school,
        label=label,
        period_start=first_week,
        period_end=period_end,
        scheduled_for=scheduled_for,
    ) as run:
        started = time.monotonic()
        total = services.RefreshResult()
        for week in weeks:
            total += teacher_metrics_generate(school=school, week=week)
            _job_run_heartbeat(run, rows_changed=total.changed)
        details = f"{total.created} created, {total.updated} updated, {total.deleted} deleted"
        phrase = _changed_phrase(total.changed, details, time.monotonic() - started, run)
        _job_run_finish(run, status=Status.SUCCEEDED, summary=f"{Job.TEACHER_METRICS}: {label}: {phrase}")
    return run


# --- early-warning flags --------------------------------------------------------------------------


def early_warning_flags_roll(*, school: School, day: datetime.date) -> services.RefreshResult:
    """Move the school's flag date to ``day`` and recompute its students' flags as of it (idempotent)."""
    with transaction.atomic():
        # The settings row first, then the students' locks (inside the refresh): the order of the admin's save.
        settings_row, _ = EarlyWarningSettings.objects.select_for_update().get_or_create(school=school)
        if settings_row.flags_as_of != day:
            settings_row.flags_as_of = day
            settings_row.save(update_fields=["flags_as_of"])
        return services.flags_refresh(student_ids={student for student, _ in flag_keys_discover(school_id=school.pk)})


def early_warning_flags_run(
    *, school: School, day: datetime.date | None = None, scheduled_for: datetime.datetime | None = None
) -> JobRun:
    """Roll a school's early-warning flags over to a day (default: today in its time zone) under the job lock."""
    day = day or timezone.now().astimezone(school.tzinfo).date()
    label = f"{_school_label(school)}, flags as of {day}"
    with _job_run(
        job=Job.EARLY_WARNING,
        school=school,
        label=label,
        period_start=day,
        period_end=day,
        scheduled_for=scheduled_for,
    ) as run:
        started = time.monotonic()
        result = early_warning_flags_roll(school=school, day=day)
        run.rows_changed = result.changed
        details = f"{result.created} raised, {result.updated} updated, {result.deleted} cleared"
        phrase = _changed_phrase(result.changed, details, time.monotonic() - started, run)
        _job_run_finish(run, status=Status.SUCCEEDED, summary=f"{Job.EARLY_WARNING}: {label}: {phrase}")
    return run


# --- the schedule ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """When a job runs, in each school's own time zone."""

    at: datetime.time
    weekday: int | None = None  # Monday is 0; None: every day


def job_schedules() -> dict[str, Schedule]:
    """The job schedules of settings.ANALYTICS_JOB_SCHEDULES, parsed."""
    return {
        job: Schedule(at=datetime.time.fromisoformat(entry["time"]), weekday=entry.get("weekday"))
        for job, entry in settings.ANALYTICS_JOB_SCHEDULES.items()
    }


def schedule_last_slot(*, schedule: Schedule, tz: zoneinfo.ZoneInfo, now: datetime.datetime) -> datetime.datetime:
    """The latest moment at or before now at which the schedule fires in the time zone, as an aware UTC datetime.

    A local time skipped by a daylight-saving jump fires at the instant of the jump (02:00 that does not
    exist is read with the offset before it); a local time that happens twice fires at its first occurrence.
    """
    now = now.astimezone(datetime.UTC)
    day = now.astimezone(tz).date()
    if schedule.weekday is not None:
        day -= datetime.timedelta(days=(day.weekday() - schedule.weekday) % 7)
    step = datetime.timedelta(days=1 if schedule.weekday is None else 7)
    while True:
        slot = datetime.datetime.combine(day, schedule.at, tzinfo=tz).astimezone(datetime.UTC)
        if slot <= now:
            return slot
        day -= step


@dataclass(frozen=True)
class DueRun:
    """A school's job whose scheduled slot has passed with no run recorded for it."""

    job: str
    school_id: int
    scheduled_for: datetime.datetime  # UTC
    local_date: datetime.date  # the slot's date in the school's time zone
    term_ids: tuple[int, ...] = ()  # class ranks: the terms to rank
    week: datetime.date | None = None  # teacher metrics: the Monday of the week


def _slot_settled(
    runs: list[dict], *, now: datetime.datetime, stale_after: datetime.timedelta, held: set[tuple] | None = None
) -> bool:
    """Whether the slot's runs settle it. ``held``: the job locks held now (PostgreSQL), which say a run is live."""
    statuses = [run["status"] for run in runs]
    live = any(
        run["status"] == Status.RUNNING and _live(run, now=now, stale_after=stale_after, held=held) for run in runs
    )
    return Status.SUCCEEDED in statuses or live or statuses.count(Status.FAILED) >= MAX_SCHEDULED_ATTEMPTS


def _live(run: dict, *, now: datetime.datetime, stale_after: datetime.timedelta, held: set[tuple] | None) -> bool:
    if run["status"] != Status.RUNNING:
        return False
    if held is not None:  # PostgreSQL: a RUNNING row is live while its process holds the job's lock
        return job_lock_key(run["job"], run["school_id"]) in held
    return run["heartbeat_at"] >= now - stale_after


def job_slot_settled(*, job: str, school_id: int, scheduled_for: datetime.datetime) -> bool:
    """Whether the slot has a successful or live run, or has failed too often to try again."""
    now = timezone.now()
    runs = list(
        JobRun.objects.filter(job=job, school_id=school_id, scheduled_for=scheduled_for).values(
            "job", "school_id", "status", "heartbeat_at"
        )
    )
    return _slot_settled(runs, now=now, stale_after=STALE_AFTER, held=job_locks_held())


def ranks_terms_for_night(*, terms: Iterable[AcademicTerm], day: datetime.date) -> list[AcademicTerm]:
    """The terms a nightly rank run on `day` covers: the one containing the day before, and any just ended."""
    yesterday = day - datetime.timedelta(days=1)
    return [term for term in terms if term.start_date <= yesterday <= days_later(term.end_date, LATE_GRADING_DAYS)]


def scheduled_runs_due(*, now: datetime.datetime, schedules: dict[str, Schedule] | None = None) -> list[DueRun]:
    """Every school's job whose latest local slot has passed and is not settled (see job_slot_settled)."""
    schedules = job_schedules() if schedules is None else schedules
    schools = list(School.objects.only("id", "timezone"))
    horizon = now - datetime.timedelta(days=8)
    recorded: dict[tuple, list[dict]] = {}
    held = job_locks_held()
    for run in JobRun.objects.filter(scheduled_for__gte=horizon).values(
        "job", "school_id", "scheduled_for", "status", "heartbeat_at"
    ):
        recorded.setdefault((run["job"], run["school_id"], run["scheduled_for"]), []).append(run)
    terms: dict[int, list[AcademicTerm]] = {}
    for term in AcademicTerm.objects.filter(
        end_date__gte=(now - datetime.timedelta(days=LATE_GRADING_DAYS + 3)).date()
    ).order_by("start_date"):
        terms.setdefault(term.school_id, []).append(term)

    due = []
    for school in schools:
        for job, schedule in schedules.items():
            slot = schedule_last_slot(schedule=schedule, tz=school.tzinfo, now=now)
            if _slot_settled(recorded.get((job, school.pk, slot), []), now=now, stale_after=STALE_AFTER, held=held):
                continue
            local_date = slot.astimezone(school.tzinfo).date()
            if job == Job.CLASS_RANKS:
                covered = ranks_terms_for_night(terms=terms.get(school.pk, []), day=local_date)
                if covered:
                    term_ids = tuple(term.pk for term in covered)
                    due.append(DueRun(job, school.pk, slot, local_date, term_ids=term_ids))
            elif job == Job.TEACHER_METRICS:
                due.append(DueRun(job, school.pk, slot, local_date, week=week_start(local_date)))
            elif job == Job.EARLY_WARNING:
                due.append(DueRun(job, school.pk, slot, local_date))
    return due


def school_lookup(*, ref: str) -> School:
    """The school with this id or exact name; LookupError naming the problem otherwise."""
    schools = School.objects.filter(pk=int(ref)) if ref.isdigit() else School.objects.filter(name=ref)
    found = list(schools[:2])
    if len(found) != 1:
        raise LookupError(f"No school {ref!r}" if not found else f"Several schools are named {ref!r}; use the id")
    return found[0]


def term_lookup(*, ref: str, school: School | None) -> AcademicTerm:
    """The term with this id, or this name (at the school, if given); LookupError naming the problem otherwise."""
    terms = AcademicTerm.objects.select_related("school")
    terms = terms.filter(pk=int(ref)) if ref.isdigit() else terms.filter(name=ref)
    if school is not None:
        terms = terms.filter(school=school)
    found = list(terms[:2])
    if len(found) != 1:
        where = f" at {school.name}" if school else ""
        raise LookupError(f"No term {ref!r}{where}" if not found else f"Several terms are named {ref!r}; use --school")
    return found[0]
