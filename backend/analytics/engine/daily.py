"""StudentDailySummary: a student's day (attendance status from the marks, homework due and handed in)."""

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable

from analytics.definitions import attendance_counts, daily_attendance_status, submission_deadline
from analytics.engine import sql
from analytics.engine.machinery import (
    STUDENT_LOCK,
    Computed,
    Lookups,
    RefreshResult,
    Table,
    in_filter,
    in_range,
    refresh,
    rules,
)
from analytics.keys import MARKS
from analytics.models import StudentDailySummary
from attendance.models import Attendance, AttendanceStatus, Lesson
from homework.models import Homework, HomeworkSubmission
from schools.models import School, Student

DailyKey = tuple[int, datetime.date]


DAILY = Table(
    StudentDailySummary,
    ("student_id", "date"),
    {
        "attendance_status": None,
        "lessons_marked": 0,
        "lessons_attended": 0,
        "lessons_counted": 0,
        "homework_due": 0,
        "homework_on_time": 0,
        "homework_late": 0,
        "homework_completed": None,
    },
    {"behavior_score": None},
    lock_class=STUDENT_LOCK,
    lock_width=1,
)


def daily_summaries_refresh(*, keys: Iterable[DailyKey], dry_run: bool = False) -> RefreshResult:
    """Recompute StudentDailySummary rows of the given (student_id, date) keys."""
    return refresh(DAILY, keys, daily_compute, dry_run=dry_run)


_DAILY_HOMEWORK = ("homework_due", "homework_on_time", "homework_late", "homework_completed")


def daily_compute(
    keys: set[DailyKey], *, lookups: Lookups | None = None, stored: dict | None = None, changed=frozenset()
) -> Computed:
    """Daily rows of the keys. When only marks changed, a stored row keeps its homework figures."""
    student_ids = {student_id for student_id, _ in keys}
    dates = {day for _, day in keys}
    students = (lookups or Lookups()).students(student_ids)
    marks = defaultdict(list)
    for student_id, day, status in (
        Attendance.objects.filter(in_filter("lesson__date", dates), student_id__in=student_ids)
        .order_by()
        .values_list("student_id", "lesson__date", "status")
    ):
        marks[student_id, day].append(status)

    kept = {key: row for key, row in (stored or {}).items() if changed == {MARKS}}
    homework = _daily_homework({key for key in keys if key not in kept}, students)

    computed = {}
    for key in keys:
        student_id, day = key
        student = students.get(student_id)
        if student is None:
            continue
        statuses = marks.get(key, [])
        figures = {name: kept[key][name] for name in _DAILY_HOMEWORK} if key in kept else homework(key, student)
        if not statuses and not figures["homework_due"]:
            continue
        counts = attendance_counts(statuses, rules(student))
        computed[key] = (
            student["school_id"],
            {
                "attendance_status": daily_attendance_status(statuses),
                "lessons_marked": counts.marked,
                "lessons_attended": counts.attended,
                "lessons_counted": counts.counted,
                **figures,
            },
        )
    return computed


def _daily_homework(keys: set[DailyKey], students: dict[int, dict]) -> Callable[[DailyKey, dict], dict]:
    """Read the homework due on the keys' days and its submissions; returns key, student -> homework figures."""
    student_ids = {student_id for student_id, _ in keys}
    dates = {day for _, day in keys}
    class_ids = {students[s]["class_group_id"] for s in student_ids if s in students and students[s]["class_group_id"]}
    due = defaultdict(list)  # (class_group_id, date) -> homework ids due
    if keys and class_ids:
        for homework_id, class_id, day in (
            Homework.objects.filter(in_filter("due_date", dates), class_group_id__in=class_ids)
            .order_by()
            .values_list("id", "class_group_id", "due_date")
        ):
            due[class_id, day].append(homework_id)
    submitted = {}
    if due:
        submitted = {
            (homework_id, student_id): at
            for homework_id, student_id, at in HomeworkSubmission.objects.filter(
                in_filter("homework__due_date", dates),
                student_id__in=student_ids,
                homework__class_group_id__in=class_ids,
            )
            .order_by()
            .values_list("homework_id", "student_id", "submitted_at")
        }

    def figures(key: DailyKey, student: dict) -> dict:
        student_id, day = key
        homework_ids = due.get((student["class_group_id"], day), [])
        deadline = submission_deadline(day, zoneinfo.ZoneInfo(student["school__timezone"]))
        times = [
            submitted[homework_id, student_id] for homework_id in homework_ids if (homework_id, student_id) in submitted
        ]
        on_time = sum(1 for at in times if at < deadline)
        return {
            "homework_due": len(homework_ids),
            "homework_on_time": on_time,
            "homework_late": len(times) - on_time,
            "homework_completed": (on_time == len(homework_ids)) if homework_ids else None,
        }

    return figures


def daily_keys_discover(*, student_ids: Iterable[int], period=None) -> set:
    student_ids = set(student_ids)
    keys = set(
        Attendance.objects.filter(student_id__in=student_ids, **in_range("lesson__date", period))
        .values_list("student_id", "lesson__date")
        .distinct()
    )
    keys.update(
        Student.objects.filter(id__in=student_ids, **in_range("class_group__homework__due_date", period))
        .exclude(class_group__homework__isnull=True)
        .values_list("id", "class_group__homework__due_date")
        .distinct()
    )
    keys.update(
        StudentDailySummary.objects.filter(student_id__in=student_ids, **in_range("date", period)).values_list(
            "student_id", "date"
        )
    )
    return keys


def daily_write(
    keys: set[DailyKey], *, zones: Iterable[str], lookups: Lookups, now: datetime.datetime
) -> RefreshResult:
    """Recompute and write the daily rows of the keys in the database, set-based (``engine.sql``).

    The same figures as ``daily_compute`` (the oracle the property tests hold it to). The statement reads the
    marks, the student's school, class and rules, the homework due and its submissions itself (after the
    locks). Only the homework deadline is computed in Python, by ``submission_deadline`` in the school's time
    zone (exact for every zone and transition), for each of ``zones`` (the zones of the keys' schools read
    to name the keys, before the locks) and each day, and matched to the school's zone by the statement. A key
    whose school's zone is not among them (changed meanwhile by a writer that held the locks) is written with
    its homework pending (``updated_at``), returned as such, and written again with the zone read now. Every
    figure is computed whole: nothing is kept from the stored row but the teacher input, which keeps an
    otherwise empty row alive.
    """
    result = RefreshResult()
    pending = set()
    for chunk in sql.chunks(sorted(keys)):
        deadlines = [
            (zone, day, submission_deadline(day, zoneinfo.ZoneInfo(zone)))
            for zone in sorted(set(zones))
            for day in sorted({day for _, day in chunk})
        ]
        written = _daily_upsert(chunk, deadlines, now)
        pending.update((student_id, day) for _, student_id, day, *_, late in written if late)
        written = [row for row in written if not row[-1]]
        empty = [row[0] for row in written if not row[3] and not row[4] and row[5] is None]
        result.deleted += sql.delete(StudentDailySummary, empty)
        result.updated += len(written) - len(empty)
    if pending:
        students = lookups.students({student_id for student_id, _ in pending})
        result += daily_write(
            pending, zones={row["school__timezone"] for row in students.values()}, lookups=lookups, now=now
        )
    return result


# What a daily row written before its homework deadline is known holds in ``updated_at`` until it is written
# again, in the same transaction (nobody else ever sees it).
_DEADLINE_PENDING = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def _daily_upsert(keys, deadlines, now: datetime.datetime) -> list[tuple]:
    """The rows written: (id, student, date, lessons marked, homework due, behaviour score, deadline pending)."""
    with_keys, params = sql.values_cte("k", (("student_id", "integer"), ("day", "date")), keys)
    with_deadlines, deadline_params = sql.values_cte(
        "dl", (("zone", "text"), ("day", "date"), ("deadline", "timestamptz")), deadlines or [(None, None, None)]
    )
    params += deadline_params
    daily, mark, lesson = sql.table(StudentDailySummary), sql.table(Attendance), sql.table(Lesson)
    homework, submission = sql.table(Homework), sql.table(HomeworkSubmission)
    a, la, h, hs, st, sc = Attendance, Lesson, Homework, HomeworkSubmission, Student, School
    c = sql.column
    present, late, absent, excused = (
        AttendanceStatus.PRESENT,
        AttendanceStatus.LATE,
        AttendanceStatus.ABSENT,
        AttendanceStatus.EXCUSED,
    )
    with_sql = (
        f"{with_keys}, {with_deadlines}, "  # noqa: S608 (names quoted by the connection, values as parameters)
        # Each key with its student's school, class and rules as they stand, and the deadline in its school's zone.
        f"kk AS (SELECT k.student_id, k.day, s.{c(st, 'school')} AS school_id, "
        f"s.{c(st, 'class_group')} AS class_group_id, sch.{c(sc, 'late_counts_as_present')} AS late_present, "
        f"sch.{c(sc, 'excused_absences_excluded')} AS excused_out, dl.deadline "
        f"FROM k JOIN {sql.table(st)} s ON s.{c(st, 'id')} = k.student_id "
        f"JOIN {sql.table(sc)} sch ON sch.{c(sc, 'id')} = s.{c(st, 'school')} "
        f"LEFT JOIN dl ON dl.zone = sch.{c(sc, 'timezone')} AND dl.day = k.day), "
        # The marks of each key: how many, attended and counted by the school's rules, and of which statuses.
        f"m AS (SELECT k.student_id, k.day, COUNT(*) AS marked, "
        f"SUM(CASE WHEN a.{c(a, 'status')} = %s OR (a.{c(a, 'status')} = %s AND k.late_present) THEN 1 ELSE 0 END)"
        f" AS attended, "
        f"SUM(CASE WHEN a.{c(a, 'status')} = %s AND k.excused_out THEN 0 ELSE 1 END) AS counted, "
        f"SUM(CASE WHEN a.{c(a, 'status')} = %s THEN 1 ELSE 0 END) AS late, "
        f"SUM(CASE WHEN a.{c(a, 'status')} = %s THEN 1 ELSE 0 END) AS present, "
        f"SUM(CASE WHEN a.{c(a, 'status')} = %s THEN 1 ELSE 0 END) AS excused "
        f"FROM kk k JOIN {mark} a ON a.{c(a, 'student')} = k.student_id "
        f"JOIN {lesson} l ON l.{c(la, 'id')} = a.{c(a, 'lesson')} AND l.{c(la, 'date')} = k.day "
        f"GROUP BY k.student_id, k.day), "
        # The homework due that day for the student's class, and the student's submissions before the deadline.
        f"h AS (SELECT k.student_id, k.day, COUNT(*) AS due, "
        f"SUM(CASE WHEN s.{c(hs, 'id')} IS NOT NULL AND s.{c(hs, 'submitted_at')} < k.deadline THEN 1 ELSE 0 END)"
        f" AS on_time, "
        f"SUM(CASE WHEN s.{c(hs, 'id')} IS NOT NULL AND NOT (s.{c(hs, 'submitted_at')} < k.deadline) THEN 1 ELSE 0 END)"
        f" AS late "
        f"FROM kk k JOIN {homework} hw ON hw.{c(h, 'class_group')} = k.class_group_id "
        f"AND hw.{c(h, 'due_date')} = k.day "
        f"LEFT JOIN {submission} s ON s.{c(hs, 'homework')} = hw.{c(h, 'id')} AND s.{c(hs, 'student')} = k.student_id "
        f"GROUP BY k.student_id, k.day)"
    )
    params += [present, late, excused, late, present, excused]
    d = StudentDailySummary
    select_sql = (
        "SELECT k.school_id, k.student_id, k.day, "  # noqa: S608 (names quoted by the connection)
        "CASE WHEN m.late > 0 THEN %s WHEN m.present > 0 THEN %s WHEN m.excused = m.marked THEN %s "
        "WHEN m.marked > 0 THEN %s END, "
        "COALESCE(m.marked, 0), COALESCE(m.attended, 0), COALESCE(m.counted, 0), "
        "COALESCE(h.due, 0), COALESCE(h.on_time, 0), COALESCE(h.late, 0), "
        "CASE WHEN h.due > 0 THEN h.on_time = h.due END, "
        "CASE WHEN h.due > 0 AND k.deadline IS NULL THEN %s ELSE %s END "
        "FROM kk k LEFT JOIN m ON m.student_id = k.student_id AND m.day = k.day "
        "LEFT JOIN h ON h.student_id = k.student_id AND h.day = k.day "
        # A key with no marks, no homework and no stored row has nothing to write.
        f"WHERE m.marked IS NOT NULL OR h.due IS NOT NULL OR EXISTS (SELECT 1 FROM {daily} t "
        f"WHERE t.{c(d, 'student')} = k.student_id AND t.{c(d, 'date')} = k.day)"
    )
    pending = sql.adapt(_DEADLINE_PENDING)
    params += [late, present, excused, absent, pending, sql.adapt(now), pending, pending, pending]
    updated_at = c(d, "updated_at")
    return sql.upsert(
        d,
        with_sql=with_sql,
        select_sql=select_sql,
        columns=("school", "student", "date", *DAILY.derived, "updated_at"),
        key=("student", "date"),
        update=("school", *DAILY.derived),
        # A row left empty is returned, to be deleted (or kept by its teacher input); so is a pending one.
        force=f"excluded.{c(d, 'lessons_marked')} = 0 AND excluded.{c(d, 'homework_due')} = 0 "
        f"OR excluded.{updated_at} = %s OR {daily}.{updated_at} = %s",
        returning=[
            *(c(d, name) for name in ("id", "student", "date", "lessons_marked", "homework_due", "behavior_score")),
            f"CASE WHEN {updated_at} = %s THEN 1 ELSE 0 END",
        ],
        params=params,
    )
