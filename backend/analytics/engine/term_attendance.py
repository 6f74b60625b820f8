"""StudentTermAttendance: a student's days of a term, rolled up from their daily rows."""

from collections import Counter, defaultdict
from collections.abc import Iterable

from analytics.definitions import AttendanceCounts
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
