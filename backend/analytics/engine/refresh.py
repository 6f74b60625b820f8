"""Bringing every table up to date for the keys a change names, and the rebuild and check of whole schools.

Every path that changes source data (per-row signals, bulk roll call, imports, the rebuild) ends in
``keys_refresh`` or ``analytics_rebuild``: the keys of every table are locked at once, in the one global
order, then each table's compute function recomputes its keys from source rows (the daily rows before
their rollups) and ``machinery.refresh`` writes the difference.
"""

import datetime
from collections import defaultdict
from collections.abc import Callable
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from analytics.definitions import week_start
from analytics.engine import machinery
from analytics.engine.daily import DAILY, DailyKey, daily_compute, daily_keys_discover, daily_write
from analytics.engine.flags import FLAGS, flag_keys, flags_compute
from analytics.engine.grading import GRADING, grading_compute, grading_keys_discover
from analytics.engine.machinery import STORED_COMPILED_MAX, STUDENT_LOCK, Difference, Lookups, RefreshResult, refresh
from analytics.engine.school_day import (
    SCHOOL_DAY,
    school_day_compute,
    school_day_write,
    school_days_discover,
    school_days_refresh,
)
from analytics.engine.teacher import (
    TEACHER,
    school_weeks_discover,
    school_weeks_refresh,
    teacher_keys_discover,
    teacher_weeks_refresh,
)
from analytics.engine.term import TERM, subject_rows, term_compute, term_keys_discover
from analytics.engine.term_attendance import (
    TERM_ATTENDANCE,
    term_attendance_compute,
    term_attendance_keys_discover,
    term_attendance_write,
)
from analytics.keys import Keys
from core.compiled import CompiledRead
from schools.models import AcademicTerm, School, Student, Teacher


def rollup_keys(*, daily_keys: set[DailyKey]) -> tuple[set[tuple[int, int]], set[tuple[int, datetime.date]]]:
    """The (student, term) and (school, date) rollup keys that the given daily keys feed."""
    student_terms, school_days, _ = _rollup(daily_keys)
    return student_terms, school_days


def _rollup(daily_keys: set[DailyKey]) -> tuple[set[tuple[int, int]], set[tuple[int, datetime.date]], set[str]]:
    """The rollup keys the daily keys feed, and the time zones of their schools, from one query."""
    if not daily_keys:
        return set(), set(), set()
    schools, terms, zones = {}, defaultdict(set), set()
    for student_id, school_id, zone, term_id, start, end in _STUDENT_TERMS(
        student_ids=sorted({student_id for student_id, _ in daily_keys})
    ):
        schools[student_id] = school_id
        zones.add(zone)
        if term_id is not None:
            terms[student_id].add((term_id, start, end))
    student_terms, school_days = set(), set()
    for student_id, day in daily_keys:
        if student_id not in schools:
            continue
        school_days.add((schools[student_id], day))
        student_terms.update((student_id, term_id) for term_id, start, end in terms[student_id] if start <= day <= end)
    return student_terms, school_days, zones


def _student_terms_query(*, student_ids: list[int]):
    """The students with their school's time zone and every term of their school (a row per term)."""
    return Student.objects.filter(id__in=student_ids).values_list(
        "id",
        "school_id",
        "school__timezone",
        "school__terms__id",
        "school__terms__start_date",
        "school__terms__end_date",
    )


# Compiled once per number of students (a save's, a class's: up to STORED_COMPILED_MAX; more are built as usual).
_STUDENT_TERMS = CompiledRead(_student_terms_query, max_length=STORED_COMPILED_MAX, student_ids=list)


def keys_refresh(*, keys: Keys, dry_run: bool = False) -> RefreshResult:
    """Recompute every summary row the keys name, widening scopes (student, term, teacher, school) first."""
    result = RefreshResult()
    for school_id in sorted(keys.schools):
        result += analytics_rebuild(school_id=school_id, dry_run=dry_run)
    daily = keys.daily | daily_keys_discover(student_ids=keys.students) if keys.students else keys.daily
    term = keys.term | term_keys_discover(term_ids=keys.terms) if keys.terms else keys.term
    teacher = keys.teacher | teacher_keys_discover(teacher_ids=keys.teachers) if keys.teachers else keys.teacher
    grading = keys.grading | grading_keys_discover(teacher_ids=keys.teachers) if keys.teachers else keys.grading
    student_terms, school_days, zones = _rollup(daily)
    if keys.terms:
        # A term whose dates change takes in or leaves out days of every student's term attendance.
        student_terms |= term_attendance_keys_discover(term_ids=keys.terms)
    result += _refresh_together(
        daily=daily,
        term=term,
        teacher={(teacher_id, week_start(day)) for teacher_id, day in teacher},
        grading=grading,
        student_terms=student_terms,
        school_days=school_days | keys.school_days,
        term_all_subjects=keys.term_all_subjects,
        flag_students=keys.students | keys.flag_students,
        dry_run=dry_run,
        changed=keys.changed,
        set_based=not dry_run,
        zones=zones,
    )
    return result


Progress = Callable[[str, int, int], None]
MAX_BATCH_SIZE = 1000


def analytics_rebuild(
    *,
    school_id: int | None = None,
    term_id: int | None = None,
    dry_run: bool = False,
    batch_size: int = 250,
    progress: Progress | None = None,
) -> RefreshResult:
    """Recompute every summary row (of one school / one term) from source data and repair what differs.

    Works in batches of students (and of teachers), one transaction each, so memory stays bounded
    and a rebuild that stops halfway leaves whole batches done. Teacher inputs are kept; ranks are
    the nightly job's and are not touched.
    """
    # A batch holds one advisory lock per student (PostgreSQL allows a few thousand per transaction).
    batch_size = max(1, min(batch_size, MAX_BATCH_SIZE))
    result = RefreshResult()
    schools = School.objects.order_by("id")
    terms = AcademicTerm.objects.order_by("start_date")
    if term_id is not None:
        terms = terms.filter(id=term_id)
        schools = schools.filter(terms__id=term_id)
    if school_id is not None:
        schools = schools.filter(id=school_id)
    for school in schools:
        school_terms = list(terms.filter(school=school))
        term_ids = [term.pk for term in school_terms]
        period = (school_terms[0].start_date, school_terms[-1].end_date) if term_id is not None else None
        students = list(Student.objects.filter(school=school).order_by("id").values_list("id", flat=True))
        for done, batch in batches(students, batch_size):
            with transaction.atomic():
                daily = daily_keys_discover(student_ids=batch, period=period)
                student_terms = term_attendance_keys_discover(term_ids=term_ids, student_ids=batch)
                rolled_up, _ = rollup_keys(daily_keys=daily)
                student_terms |= {key for key in rolled_up if key[1] in term_ids}
                result += _refresh_together(
                    daily=daily,
                    term=term_keys_discover(term_ids=term_ids, student_ids=batch),
                    student_terms=student_terms,
                    flag_students=set(batch),
                    dry_run=dry_run,
                )
            if progress:
                progress(f"{school.name}: students", done, len(students))
        days = sorted(school_days_discover(school_id=school.pk, period=period))
        for done, batch in batches(days, batch_size):
            with transaction.atomic():
                result += school_days_refresh(keys=batch, dry_run=dry_run)
            if progress:
                progress(f"{school.name}: school days", done, len(days))
        teachers = list(Teacher.objects.filter(school=school).order_by("id").values_list("id", flat=True))
        for done, batch in batches(teachers, batch_size):
            with transaction.atomic():
                found = teacher_keys_discover(teacher_ids=batch, period=period)
                weeks = {(teacher_id, week_start(day)) for teacher_id, day in found}
                grading = grading_keys_discover(teacher_ids=batch, period=period)
                if not dry_run:
                    # Every lock of the batch's teachers in one statement (the lock order).
                    machinery.lock(TEACHER.locks(weeks) | GRADING.locks(grading))
                result += teacher_weeks_refresh(keys=weeks, dry_run=dry_run, locked=True)
                result += refresh(GRADING, grading, grading_compute, dry_run=dry_run, locked=True)
            if progress:
                progress(f"{school.name}: teachers", done, len(teachers))
        with transaction.atomic():
            # Every week of the school's teacher figures, also one whose teacher weeks are all gone.
            weeks = school_weeks_discover(school_id=school.pk, period=period)
            result += school_weeks_refresh(keys=weeks, dry_run=dry_run)
    return result


def analytics_verify(
    *, school_id: int | None = None, term_id: int | None = None, progress: Progress | None = None
) -> list[Difference]:
    """Every summary row that differs from a from-scratch recomputation (writes nothing)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # One snapshot for the whole check, so writers running meanwhile cause no false alarms.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return analytics_rebuild(school_id=school_id, term_id=term_id, dry_run=True, progress=progress).differences


def batches(items: list, size: int):
    for start in range(0, len(items), size):
        batch = items[start : start + size]
        yield start + len(batch), batch


def _refresh_together(
    *,
    daily: set,
    term: set,
    teacher: set = frozenset(),
    grading: set = frozenset(),
    student_terms: set = frozenset(),
    school_days: set = frozenset(),
    term_all_subjects: set = frozenset(),
    flag_students: set = frozenset(),
    dry_run: bool = False,
    changed: frozenset | None = None,
    set_based: bool = False,
    zones: set[str] = frozenset(),
) -> RefreshResult:
    """Lock every key at once, then recompute the daily rows, their rollups, the term rows and the weeks.

    ``term_all_subjects`` are (student, term) pairs whose every subject row is to be recomputed.
    The flags of every student named (and of ``flag_students``) are recomputed last: they read the
    student's daily and term rows.
    ``changed``: the only kinds of source data that changed (``Keys.changed``), or None.
    ``set_based``: the daily rows and their two rollups are recomputed and written by the database
    (``daily_write``, ``term_attendance_write``, ``school_day_write``: no stored row read, no difference listed);
    otherwise in Python (``refresh``), which lists every difference (the rebuild and the check use it).
    ``zones``: the time zones of the daily keys' schools as read to name the keys (``daily_write``).
    """
    result = RefreshResult()
    flags = flag_keys(
        set(flag_students) | {key[0] for keys in (daily, term, student_terms, term_all_subjects) for key in keys}
    )
    with transaction.atomic(savepoint=False):
        if not dry_run:
            # The student locks cover every term row of the students, so ``term_all_subjects`` can be
            # listed once they are held.
            machinery.lock(
                DAILY.locks(daily)
                | TERM.locks(term)
                | TERM_ATTENDANCE.locks(student_terms)
                | {(STUDENT_LOCK, (student,)) for student, _ in term_all_subjects}
                | FLAGS.locks(flags)
                | TEACHER.locks(teacher)
                | GRADING.locks(grading)
                | SCHOOL_DAY.locks(school_days)
            )
        if term_all_subjects:
            term = term | subject_rows(term_all_subjects)
        # Read after the locks: a writer that held them (a student changing class, a school changing its
        # rules) has committed, and its change is seen.
        lookups = Lookups()
        if set_based:
            now = timezone.now()
            if daily:
                result += daily_write(daily, zones=zones, lookups=lookups, now=now)
            if student_terms:
                result += term_attendance_write(student_terms, now=now)
            if school_days:
                result += school_day_write(school_days, changed=changed or frozenset(), now=now)
        for table, table_keys, compute in (
            *(
                ()
                if set_based
                else (
                    (DAILY, daily, partial(daily_compute, lookups=lookups)),
                    (TERM_ATTENDANCE, student_terms, partial(term_attendance_compute, lookups=lookups)),
                    (SCHOOL_DAY, school_days, school_day_compute),
                )
            ),
            (TERM, term, term_compute),
            (FLAGS, flags, flags_compute),
            (GRADING, grading, grading_compute),
        ):
            result += refresh(table, table_keys, compute, dry_run=dry_run, locked=True, changed=changed)
        # The teacher weeks, then the school weeks they are in (whose lock comes last).
        result += teacher_weeks_refresh(keys=teacher, dry_run=dry_run, locked=True, changed=changed)
    return result
