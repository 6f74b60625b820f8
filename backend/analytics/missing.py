"""Missing data: what teachers have not entered yet, computed on read (see docs/architecture.md, "Missing data").

Each figure depends on today's date in the school's time zone (a lesson becomes "held" when its day comes, a
homework "overdue" a week after it was due), so it is counted when asked, in a fixed number of grouped queries
whatever the number of teachers, students or weeks. The grading figures are summed from the teachers' grading
days (TeacherGradingDay, kept by the engine: what does not depend on today), the cut-off of a week before today
applied to their due dates here. Definitions are in docs/metrics.md, "Missing data".
"""

import datetime

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from analytics.definitions import week_end, week_start
from analytics.models import StudentTermPerformance, TeacherGradingDay
from attendance.models import Attendance, Lesson
from core.compiled import CompiledRead
from schools.models import AcademicTerm, School, Student, Teacher

# Homework is overdue for grading when its due date is more than this many days before today.
GRADING_GRACE_DAYS = 7
# Teacher comments are asked for in the last this many days of a term (its last two weeks).
COMMENT_DAYS = 14
COMMENT_WINDOW = datetime.timedelta(days=COMMENT_DAYS)

WEEK_FIGURES = ("lessons_held", "lessons_without_roll_call", "homework_overdue_ungraded", "submissions_ungraded")


def _has_marks() -> Exists:
    return Exists(Attendance.objects.filter(lesson_id=OuterRef("pk")))


def comment_term(
    *, school: School, today: datetime.date, terms: list[AcademicTerm] | None = None
) -> AcademicTerm | None:
    """The term whose last two weeks contain today, if any (comments are asked for then): among ``terms`` (every
    term of the school, read already by the caller) if given, else read."""
    if terms is not None:
        last_days = (term for term in terms if term.start_date <= today <= term.end_date < today + COMMENT_WINDOW)
        return min(last_days, key=lambda term: term.start_date, default=None)
    rows = COMMENT_TERM(school_id=school.pk, today=today, window_end=today + COMMENT_WINDOW)
    if not rows:
        return None
    return AcademicTerm.from_db(DEFAULT_DB_ALIAS, COMMENT_TERM_FIELDS, rows[0])


# The reads of the missing figures, asked for on every teacher-performance request and teacher page: compiled once
# (core.compiled).
COMMENT_TERM_FIELDS = ("id", "school_id", "name", "start_date", "end_date")
COMMENT_TERM = CompiledRead(
    lambda *, school_id, today, window_end: (
        AcademicTerm.objects.filter(
            school_id=school_id, start_date__lte=today, end_date__gte=today, end_date__lt=window_end
        )
        .order_by("start_date", "pk")
        .values_list(*COMMENT_TERM_FIELDS)[:1]
    ),
    school_id=int,
    today=datetime.date,
    window_end=datetime.date,
)


def _lessons_query(
    *, teacher_ids: list[int], first: datetime.date, last: datetime.date, today: datetime.date
) -> QuerySet:
    """Lessons held from ``first`` to ``last`` and today's, by teacher and day: how many, how many without a mark."""
    return (
        Lesson.objects.filter(Q(date__range=(first, last)) | Q(date=today), teacher_id__in=teacher_ids)
        .annotate(marked=_has_marks())
        .values("teacher_id", "date")
        .annotate(held=Count("id"), unmarked=Count("id", filter=Q(marked=False)))
        .order_by()
    )


def _grading_days_query(
    *, teacher_ids: list[int], first: datetime.date, last: datetime.date, before: datetime.date
) -> QuerySet:
    """The teachers' grading days (TeacherGradingDay: homework due that day with submissions not graded, kept by
    the engine) from ``first`` to ``last`` and before ``before``."""
    return (
        TeacherGradingDay.objects.filter(teacher_id__in=teacher_ids, due_date__range=(first, last), due_date__lt=before)
        .order_by()
        .values("teacher_id", "due_date", "homework_ungraded", "submissions_ungraded")
    )


# Compiled once per number of teachers: one on teacher performance and the teacher page, a page of the school's.
LESSONS = CompiledRead(_lessons_query, teacher_ids=list, first=datetime.date, last=datetime.date, today=datetime.date)
GRADING_DAYS = CompiledRead(
    _grading_days_query, teacher_ids=list, first=datetime.date, last=datetime.date, before=datetime.date
)


def missing_data(
    *,
    school: School,
    teacher_ids: list[int],
    weeks: list[datetime.date],
    today: datetime.date,
    terms: list[AcademicTerm] | None = None,
) -> dict[int, dict]:
    """Per teacher: each week's missing figures, today's roll calls not taken, and (in the last two weeks of a
    term) the comments missing for the students of their classes. Three queries, four in those two weeks."""
    result = {
        teacher_id: {
            "weeks": {week: dict.fromkeys(WEEK_FIGURES, 0) for week in weeks},
            "today": {"lessons": 0, "roll_calls_not_taken": 0},
            "comments": None,
        }
        for teacher_id in teacher_ids
    }
    if not teacher_ids:
        return result
    weeks = sorted(weeks)
    first, last = (weeks[0], min(week_end(weeks[-1]), today)) if weeks else (today, today)

    # Lessons held: dated in the week and not after today; without roll call: no mark at all.
    for row in LESSONS(teacher_ids=teacher_ids, first=first, last=last, today=today):
        teacher = result[row["teacher_id"]]
        if row["date"] == today:
            teacher["today"]["lessons"] += row["held"]
            teacher["today"]["roll_calls_not_taken"] += row["unmarked"]
        week = teacher["weeks"].get(week_start(row["date"]))
        if week is not None and row["date"] <= today:
            week["lessons_held"] += row["held"]
            week["lessons_without_roll_call"] += row["unmarked"]

    # Homework due in the week, more than a week ago, with submissions not graded.
    overdue_before = today - datetime.timedelta(days=GRADING_GRACE_DAYS)
    if weeks and first < overdue_before:
        for row in GRADING_DAYS(teacher_ids=teacher_ids, first=first, last=week_end(weeks[-1]), before=overdue_before):
            week = result[row["teacher_id"]]["weeks"].get(week_start(row["due_date"]))
            if week is not None:
                week["homework_overdue_ungraded"] += row["homework_ungraded"]
                week["submissions_ungraded"] += row["submissions_ungraded"]

    term = comment_term(school=school, today=today, terms=terms)
    if term is not None:
        for teacher_id in teacher_ids:
            result[teacher_id]["comments"] = {
                "term": {"id": term.pk, "name": term.name, "start_date": term.start_date, "end_date": term.end_date},
                "missing": 0,
                "of": 0,
            }
        # One comment per active student of the class and subject of each teaching assignment.
        commented = StudentTermPerformance.objects.filter(
            student_id=OuterRef("pk"), term=term, subject_id=OuterRef("assigned_subject")
        ).exclude(teacher_comment="")
        for row in (
            Student.objects.filter(active=True, class_group__assignments__teacher_id__in=teacher_ids)
            .annotate(
                assigned_teacher=F("class_group__assignments__teacher_id"),
                assigned_subject=F("class_group__assignments__subject_id"),
            )
            .annotate(commented=Exists(commented))
            .values("assigned_teacher")
            .annotate(of=Count("id"), missing=Count("id", filter=Q(commented=False)))
        ):
            comments = result[row["assigned_teacher"]]["comments"]
            comments["of"] += row["of"]
            comments["missing"] += row["missing"]
    return result


def roll_calls_today(*, schools: list[School], todays: dict[int, datetime.date]) -> dict:
    """Lessons of today (each school's own today) and how many have no roll call yet: one query."""
    if not schools:
        return {"lessons": 0, "not_taken": 0}
    if len(schools) == 1:
        rows = ROLL_CALLS_TODAY(school_id=schools[0].pk, today=todays[schools[0].pk])
        return (
            {"lessons": rows[0]["lessons"], "not_taken": rows[0]["not_taken"]}
            if rows
            else {"lessons": 0, "not_taken": 0}
        )
    on_their_day = Q()
    for school in schools:
        on_their_day |= Q(class_group__school_id=school.pk, date=todays[school.pk])
    counts = (
        Lesson.objects.filter(on_their_day)
        .annotate(marked=_has_marks())
        .aggregate(lessons=Count("id"), not_taken=Count("id", filter=Q(marked=False)))
    )
    return {"lessons": counts["lessons"], "not_taken": counts["not_taken"]}


# One school's lessons of its today (school health's page and endpoint): compiled once, a row (none without lessons).
ROLL_CALLS_TODAY = CompiledRead(
    lambda *, school_id, today: (
        Lesson.objects.filter(class_group__school_id=school_id, date=today)
        .annotate(marked=_has_marks())
        .order_by()
        .values("date")
        .annotate(lessons=Count("id"), not_taken=Count("id", filter=Q(marked=False)))
    ),
    school_id=int,
    today=datetime.date,
)


def school_teachers(*, school: School) -> list[dict]:
    """Every teacher of the school as {"id", "name"}, by name (case-insensitively, then id): the order of the
    missing-data table, read as plain values (a page of the table is a slice of this list)."""
    teachers = [
        {"id": teacher_id, "name": f"{first_name} {last_name}".strip() or username}  # Teacher.__str__
        for teacher_id, first_name, last_name, username in Teacher.objects.filter(school=school).values_list(
            "id", "user__first_name", "user__last_name", "user__username"
        )
    ]
    teachers.sort(key=lambda teacher: (teacher["name"].casefold(), teacher["id"]))
    return teachers


def teacher_rows(
    *,
    school: School,
    teachers: list[dict],
    weeks: list[datetime.date],
    today: datetime.date,
    terms: list[AcademicTerm] | None = None,
) -> list[dict]:
    """The missing figures (see missing_data) of ``teachers`` (``school_teachers``' rows, or a page of them), in
    their order: each teacher's weeks, the weeks' totals, today's roll calls and the comments missing."""
    figures = missing_data(
        school=school, teacher_ids=[teacher["id"] for teacher in teachers], weeks=weeks, today=today, terms=terms
    )
    rows = []
    for teacher in teachers:
        own = figures[teacher["id"]]
        week_rows = [{"week_start": week, **own["weeks"][week]} for week in weeks]
        rows.append(
            {
                "teacher": teacher,
                "weeks": week_rows,
                "totals": {name: sum(week[name] for week in week_rows) for name in WEEK_FIGURES},
                "today": own["today"],
                "comments": own["comments"],
            }
        )
    return rows


def school_missing_data(
    *, school: School, weeks: list[datetime.date], today: datetime.date, terms: list[AcademicTerm] | None = None
) -> dict:
    """Every teacher of the school with their missing figures (see missing_data), by name. ``terms``: every term
    of the school, if the caller has read them already."""
    rows = teacher_rows(school=school, teachers=school_teachers(school=school), weeks=weeks, today=today, terms=terms)
    return {
        "school": {"id": school.pk, "name": school.name},
        "today": today,
        "weeks": weeks,
        "roll_calls_today": {
            "lessons": sum(row["today"]["lessons"] for row in rows),
            "not_taken": sum(row["today"]["roll_calls_not_taken"] for row in rows),
        },
        "teachers": rows,
    }


def teacher_missing_by_week(
    *, teacher: Teacher, weeks: list[datetime.date], today: datetime.date, terms: list[AcademicTerm] | None = None
) -> dict:
    """One teacher's missing figures (see missing_data; ``terms``: every term of the school, if read already)."""
    return missing_data(school=teacher.school, teacher_ids=[teacher.pk], weeks=weeks, today=today, terms=terms)[
        teacher.pk
    ]
