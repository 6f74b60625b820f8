"""StudentTermAttendance: a student's days of a term, rolled up from their daily rows."""

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable

from analytics.definitions import AttendanceCounts
from analytics.engine import sql
from analytics.engine.machinery import STUDENT_LOCK, Computed, Lookups, RefreshResult, Table, refresh
from analytics.models import StudentDailySummary, StudentTermAttendance
from attendance.models import AttendanceStatus
from schools.models import AcademicTerm

TERM_ATTENDANCE = Table(
    StudentTermAttendance,
    ("student_id", "term_id"),
    {
        "days_marked": 0,
        "days_present": 0,
        "days_late": 0,
        "days_absent": 0,
        "days_excused": 0,
        "lessons_marked": 0,
        "lessons_attended": 0,
        "lessons_counted": 0,
        "attendance_percentage": None,
    },
    {},
    lock_class=STUDENT_LOCK,
    lock_width=1,
)


def term_attendance_refresh(*, keys: Iterable[tuple[int, int]], dry_run: bool = False) -> RefreshResult:
    """Recompute StudentTermAttendance rows of (student_id, term_id) keys from the student's daily rows."""
    return refresh(TERM_ATTENDANCE, keys, term_attendance_compute, dry_run=dry_run)


def term_attendance_compute(keys: set[tuple[int, int]], *, lookups: Lookups | None = None, **_) -> Computed:
    terms = (lookups or Lookups()).terms({term_id for _, term_id in keys})
    if not terms:
        return {}
    period = (min(start for _, start, _ in terms.values()), max(end for _, _, end in terms.values()))
    days = defaultdict(list)
    for row in StudentDailySummary.objects.filter(
        student_id__in={s for s, _ in keys}, date__range=period, lessons_marked__gt=0
    ).values("student_id", "date", "attendance_status", "lessons_marked", "lessons_attended", "lessons_counted"):
        days[row["student_id"]].append(row)

    computed = {}
    for key in keys:
        student_id, term_id = key
        if term_id not in terms:
            continue
        school_id, start, end = terms[term_id]
        rows = [row for row in days.get(student_id, []) if start <= row["date"] <= end]
        if not rows:
            continue
        statuses = Counter(row["attendance_status"] for row in rows)
        counts = AttendanceCounts(
            sum(row["lessons_marked"] for row in rows),
            sum(row["lessons_attended"] for row in rows),
            sum(row["lessons_counted"] for row in rows),
        )
        computed[key] = (
            school_id,
            {
                "days_marked": len(rows),
                "days_present": statuses[AttendanceStatus.PRESENT] + statuses[AttendanceStatus.LATE],
                "days_late": statuses[AttendanceStatus.LATE],
                "days_absent": statuses[AttendanceStatus.ABSENT],
                "days_excused": statuses[AttendanceStatus.EXCUSED],
                "lessons_marked": counts.marked,
                "lessons_attended": counts.attended,
                "lessons_counted": counts.counted,
                "attendance_percentage": counts.rate,
            },
        )
    return computed


def term_attendance_keys_discover(*, term_ids: Iterable[int], student_ids: Iterable[int] | None = None) -> set:
    """(student, term) keys with marked days in the term or a stored row (of the students, or of everyone)."""
    student_filter = {"student_id__in": set(student_ids)} if student_ids is not None else {}
    keys = set()
    for term in AcademicTerm.objects.filter(id__in=set(term_ids)):
        keys.update(
            (student_id, term.pk)
            for student_id in StudentDailySummary.objects.filter(
                school_id=term.school_id,
                date__range=(term.start_date, term.end_date),
                lessons_marked__gt=0,
                **student_filter,
            )
            .values_list("student_id", flat=True)
            .distinct()
        )
    keys.update(
        StudentTermAttendance.objects.filter(term_id__in=set(term_ids), **student_filter).values_list(
            "student_id", "term_id"
        )
    )
    return keys


def term_attendance_write(keys: set[tuple[int, int]], *, now: datetime.datetime) -> RefreshResult:
    """Recompute and write the (student, term) rows of the keys in the database, set-based (``engine.sql``): the
    same figures as ``term_attendance_compute``, the oracle the property tests hold it to, from the daily rows
    (written first) and the term's dates as they stand."""
    result = RefreshResult()
    for chunk in sql.chunks(sorted(keys)):
        written = _term_attendance_upsert(chunk, now)
        empty = [row_id for row_id, days in written if not days]
        result.deleted += sql.delete(StudentTermAttendance, empty)
        result.updated += len(written) - len(empty)
    return result


def _term_attendance_upsert(keys, now: datetime.datetime) -> list[tuple]:
    with_sql, params = sql.values_cte("k", (("student_id", "integer"), ("term_id", "integer")), keys)
    c, d, t, ta = sql.column, StudentDailySummary, AcademicTerm, StudentTermAttendance
    status = f"d.{c(d, 'attendance_status')}"

    def days(*statuses: str) -> str:
        params.extend(statuses)
        return f"SUM(CASE WHEN {status} IN ({', '.join(['%s'] * len(statuses))}) THEN 1 ELSE 0 END)"

    marked, attended, counted = (f"SUM(d.{c(d, name)})" for name in DAILY_LESSONS)
    select_sql = (
        f"SELECT term.{c(t, 'school')}, k.student_id, k.term_id, COUNT(d.{c(d, 'id')}), "  # noqa: S608 (names quoted by the connection, values as parameters)
        f"COALESCE({days(AttendanceStatus.PRESENT, AttendanceStatus.LATE)}, 0), "
        f"COALESCE({days(AttendanceStatus.LATE)}, 0), "
        f"COALESCE({days(AttendanceStatus.ABSENT)}, 0), "
        f"COALESCE({days(AttendanceStatus.EXCUSED)}, 0), "
        f"COALESCE({marked}, 0), COALESCE({attended}, 0), COALESCE({counted}, 0), "
        f"{sql.rounded_percentage(attended, counted)}, %s "
        f"FROM k JOIN {sql.table(t)} term ON term.{c(t, 'id')} = k.term_id "
        f"LEFT JOIN {sql.table(d)} d ON d.{c(d, 'student')} = k.student_id "
        f"AND d.{c(d, 'date')} >= term.{c(t, 'start_date')} AND d.{c(d, 'date')} <= term.{c(t, 'end_date')} "
        f"AND d.{c(d, 'lessons_marked')} > 0 "
        f"WHERE 1 = 1 GROUP BY k.student_id, k.term_id, term.{c(t, 'school')} "
        # A key with no marked day and no stored row has nothing to write.
        f"HAVING COUNT(d.{c(d, 'id')}) > 0 OR EXISTS (SELECT 1 FROM {sql.table(ta)} s "
        f"WHERE s.{c(ta, 'student')} = k.student_id AND s.{c(ta, 'term')} = k.term_id)"
    )
    params.append(sql.adapt(now))
    return sql.upsert(
        ta,
        with_sql=with_sql,
        select_sql=select_sql,
        columns=("school", "student", "term", *TERM_ATTENDANCE.derived, "updated_at"),
        key=("student", "term"),
        update=("school", *TERM_ATTENDANCE.derived),
        force=f"excluded.{c(ta, 'days_marked')} = 0",
        returning=[c(ta, "id"), c(ta, "days_marked")],
        params=params,
    )


DAILY_LESSONS = ("lessons_marked", "lessons_attended", "lessons_counted")
