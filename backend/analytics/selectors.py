"""Reads that serve the analytics API: a few rows of the summary tables, returned as plain data.

No aggregation over raw marks happens here: attendance and homework figures are sums of a bounded
number of summary rows (a student's days, a school's days, a school's teachers for a few weeks).
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

from django.db import DEFAULT_DB_ALIAS
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, Round
from django.utils import timezone

from analytics import missing, progress
from analytics.definitions import mean_percentage, percentage, round_half_up, week_start
from analytics.engine.flags import REASONS, flag_text
from analytics.engine.teacher import COUNT_METRICS, RATE_METRIC, counts_median
from analytics.models import (
    SchoolDailySummary,
    SchoolTeacherWeek,
    StudentDailySummary,
    StudentFlag,
    StudentTermAttendance,
    StudentTermPerformance,
    StudentTermStanding,
    TeacherPerformanceMetric,
)
from core.compiled import CompiledRead
from homework.models import Grade
from schools.models import AcademicTerm, ClassGroup, School, Student, Subject, Teacher
from schools.selectors import class_groups_taught_by


def school_today(*, school: School) -> datetime.date:
    return timezone.now().astimezone(school.tzinfo).date()


def current_term(
    *, school: School, today: datetime.date | None = None, terms: list[AcademicTerm] | None = None
) -> AcademicTerm | None:
    """The term containing today in the school's time zone, else the latest that has started, else the first.

    ``terms``: the school's terms when the caller has them already (no query then).
    """
    today = today or school_today(school=school)
    if terms is None:
        terms = list(school.terms.order_by("start_date"))
    terms = sorted(terms, key=lambda term: term.start_date)
    started = [term for term in terms if term.start_date <= today]
    for term in started:
        if term.end_date >= today:
            return term
    if started:
        return started[-1]
    return terms[0] if terms else None


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def rank_display(rank: int | None, rank_of: int | None) -> str | None:
    return f"{ordinal(rank)} of {rank_of}" if rank and rank_of else None


def _newest(*timestamps: datetime.datetime | None) -> datetime.datetime | None:
    present = [moment for moment in timestamps if moment is not None]
    return max(present) if present else None


def _weeks(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    # Counted, not stepped past `last`: a step beyond the last week of the calendar would overflow.
    monday = week_start(first)
    return [monday + datetime.timedelta(weeks=n) for n in range((last - monday).days // 7 + 1)]


# The fields of a term the reads use, in the model's order (``student_with_terms``).
TERM_FIELDS = ("id", "school_id", "name", "start_date", "end_date")


def student_with_terms(*, students: QuerySet[Student], student_id: int) -> tuple[Student, list[AcademicTerm]] | None:
    """The student of that id among ``students`` (with school and class) and every term of the student's school,
    in one query: a row per term, joined to the student's row (one row without a term when the school has none);
    None when ``students`` has no such student. Only the fields of a term the reads use are loaded (another is read
    from the database if asked for)."""
    joined = {f"school_term_{name}": F(f"school__terms__{name}") for name in ("id", "name", "start_date", "end_date")}
    rows = list(
        students.filter(pk=student_id)
        .select_related("school", "class_group")
        .annotate(**joined)
        .order_by("school__terms__start_date")
    )
    if not rows:
        return None
    terms = [
        AcademicTerm.from_db(
            DEFAULT_DB_ALIAS,
            TERM_FIELDS,
            (term_id, row.school_id, row.school_term_name, row.school_term_start_date, row.school_term_end_date),
        )
        for row in rows
        if (term_id := row.school_term_id) is not None
    ]
    return rows[0], terms


# The daily figures the overview charts (attendance by week, homework totals).
DAY_COUNTS = (
    "lessons_marked",
    "lessons_attended",
    "lessons_counted",
    "homework_due",
    "homework_on_time",
    "homework_late",
)


# The overview's reads, each compiled to SQL once (core.compiled): every request asks the same queries with
# other ids and dates, and building them was a fifth of the request's Python.
def _performances_query(*, student_id: int, term_id: int, subject_id: int | None = None) -> QuerySet:
    rows = StudentTermPerformance.objects.filter(student_id=student_id, term_id=term_id)
    if subject_id is not None:
        rows = rows.filter(subject_id=subject_id)
    return rows.order_by("subject__name").values(
        "subject_id",
        "subject__name",
        "average_grade",
        "grades_count",
        "rank",
        "rank_of",
        "attendance_percentage",
        "lessons_attended",
        "lessons_counted",
        "teacher_comment",
        "updated_at",
    )


def _standings_query(*, student_id: int, term_id: int, previous_id: int | None = None) -> QuerySet:
    terms = Q(term_id=term_id) if previous_id is None else Q(term_id=term_id) | Q(term_id=previous_id)
    return StudentTermStanding.objects.filter(terms, student_id=student_id).values(
        "term_id", "overall_average", "rank", "rank_of", "updated_at"
    )


def _days_query(*, student_id: int, date_from: datetime.date, date_to: datetime.date) -> QuerySet:
    return (
        StudentDailySummary.objects.filter(student_id=student_id, date__range=(date_from, date_to))
        .order_by("date")
        .values("date", "updated_at", "behavior_score", *DAY_COUNTS)
    )


def _grades_query(
    *,
    student_id: int,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    subject_id: int | None = None,
) -> QuerySet:
    grades = Grade.objects.filter(submission__student_id=student_id)
    if date_from is not None and date_to is not None:
        grades = grades.filter(submission__homework__due_date__range=(date_from, date_to))
    if subject_id is not None:
        grades = grades.filter(submission__homework__subject_id=subject_id)
    return grades.order_by("submission__homework__due_date", "id").values(
        "score",
        "max_score",
        "graded_at",
        date=F("submission__homework__due_date"),
        subject_id=F("submission__homework__subject_id"),
        subject=F("submission__homework__subject__name"),
        homework=F("submission__homework__title"),
    )


def _flags_query(*, student_id: int) -> QuerySet:
    return (
        StudentFlag.objects.filter(student_id=student_id).order_by().values("student_id", "reason", "as_of", "figures")
    )


PERFORMANCES = CompiledRead(_performances_query, student_id=int, term_id=int, subject_id=int)
STANDINGS = CompiledRead(_standings_query, student_id=int, term_id=int, previous_id=int)
DAYS = CompiledRead(_days_query, student_id=int, date_from=datetime.date, date_to=datetime.date)
GRADES = CompiledRead(_grades_query, student_id=int, date_from=datetime.date, date_to=datetime.date, subject_id=int)
FLAGS = CompiledRead(_flags_query, student_id=int)


def student_overview(
    *,
    student: Student,
    term: AcademicTerm | None,
    subject_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    terms: list[AcademicTerm] | None = None,
) -> dict:
    """Everything a student's report page charts, for one term (and optionally one subject and a date range).
    ``terms``: every term of the student's school, if the caller has read them already (none read again)."""
    if term is not None:
        date_from = date_from or term.start_date
        date_to = date_to or term.end_date
    period = (date_from, date_to)
    complete = None not in period
    subject = {"subject_id": subject_id} if subject_id is not None else {}

    performances = PERFORMANCES(student_id=student.pk, term_id=term.pk, **subject) if term else []
    # This term's standing and the previous term's, in one read (the term over term compares them).
    previous = progress.previous_term(term=term, terms=terms) if term else None
    standings = {}
    if term:
        earlier = {"previous_id": previous.pk} if previous else {}
        standings = {row["term_id"]: row for row in STANDINGS(student_id=student.pk, term_id=term.pk, **earlier)}
    standing = standings.get(term.pk) if term else None

    days = DAYS(student_id=student.pk, date_from=date_from, date_to=date_to) if complete else []
    dates = {"date_from": date_from, "date_to": date_to} if complete else {}
    grades = GRADES(student_id=student.pk, **dates, **subject)

    return {
        "student": {
            "id": student.pk,
            "name": student.full_name,
            "student_number": student.student_number,
            "class_group": (
                {
                    "id": student.class_group.pk,
                    "name": student.class_group.name,
                    "grade_level": student.class_group.grade_level,
                }
                if student.class_group
                else None
            ),
            "school": {"id": student.school.pk, "name": student.school.name},
        },
        "term": (
            {"id": term.pk, "name": term.name, "start_date": term.start_date, "end_date": term.end_date}
            if term
            else None
        ),
        "period": {"from": date_from, "to": date_to},
        "as_of": _newest(
            *(row["updated_at"] for row in performances),
            *(day["updated_at"] for day in days),
            standing["updated_at"] if standing else None,
        ),
        "overall": {
            "average_grade": standing["overall_average"] if standing else None,
            "rank": standing["rank"] if standing else None,
            "rank_of": standing["rank_of"] if standing else None,
            "rank_display": rank_display(standing["rank"], standing["rank_of"]) if standing else None,
        },
        "subjects": [
            {
                "subject": {"id": row["subject_id"], "name": row["subject__name"]},
                "average_grade": row["average_grade"],
                "grades_count": row["grades_count"],
                "rank": row["rank"],
                "rank_of": row["rank_of"],
                "rank_display": rank_display(row["rank"], row["rank_of"]),
                "attendance_percentage": row["attendance_percentage"],
                "lessons_attended": row["lessons_attended"],
                "lessons_counted": row["lessons_counted"],
                "teacher_comment": row["teacher_comment"],
            }
            for row in performances
        ],
        "grades": [
            {
                "date": grade["date"],
                "subject_id": grade["subject_id"],
                "subject": grade["subject"],
                "homework": grade["homework"],
                "percentage": percentage(grade["score"], grade["max_score"]),
            }
            for grade in grades
        ],
        "grades_weekly": _grades_weekly(grades),
        "progress": progress.student_progress(student=student, term=term, subject_id=subject_id, period=period),
        # The previous term found above is the only earlier term it needs (not read again without ``terms``).
        "term_over_term": progress.term_over_term(
            student=student, term=term, terms=[previous] if previous else [], standings=standings
        ),
        "attendance_weekly": _attendance_weekly(days),
        "homework": _homework_totals(days),
        "behavior": [
            {"date": day["date"], "score": day["behavior_score"]} for day in days if day["behavior_score"] is not None
        ],
        "flags": _flags_of(FLAGS(student_id=student.pk)).get(student.pk, []),
    }


def _grades_weekly(grades: list[dict]) -> list[dict]:
    by_week = defaultdict(list)
    for grade in grades:
        by_week[week_start(grade["date"]), grade["subject_id"], grade["subject"]].append(
            (grade["score"], grade["max_score"])
        )
    return [
        {"week_start": week, "subject_id": subject_id, "subject": subject, "average": mean_percentage(scores)}
        for (week, subject_id, subject), scores in sorted(by_week.items(), key=lambda item: (item[0][0], item[0][2]))
    ]


def _attendance_weekly(days: Iterable[dict]) -> list[dict]:
    totals = defaultdict(lambda: [0, 0])
    for day in days:
        if day["lessons_marked"]:
            week = totals[week_start(day["date"])]
            week[0] += day["lessons_attended"]
            week[1] += day["lessons_counted"]
    return [
        {"week_start": week, "attended": attended, "counted": counted, "rate": percentage(attended, counted)}
        for week, (attended, counted) in sorted(totals.items())
    ]


def _homework_totals(days: Iterable[dict]) -> dict:
    due = on_time = late = 0
    for day in days:
        due += day["homework_due"]
        on_time += day["homework_on_time"]
        late += day["homework_late"]
    return {
        "due": due,
        "on_time": on_time,
        "late": late,
        "missing": due - on_time - late,
        "completion_rate": percentage(on_time, due),
    }


TEACHER_METRICS = ("classes_taught", "homeworks_assigned", "parent_communications", "average_student_attendance")


def teacher_performance(
    *, teacher: Teacher, weeks: list[datetime.date], terms: list[AcademicTerm] | None = None
) -> dict:
    """The teacher's weekly metrics with the school's median of each beside it (no other teacher's figures).
    ``terms``: every term of the school when the caller has read them already (no query for them then)."""
    asked = set(weeks)
    rows = TEACHER_WEEKS(teacher_id=teacher.pk, first=min(weeks), last=max(weeks)) if weeks else []
    own = {row["week_start"]: row for row in rows if row["week_start"] in asked}
    medians = school_medians(school_id=teacher.school_id, weeks=weeks)
    today = school_today(school=teacher.school)
    gaps = missing.teacher_missing_by_week(teacher=teacher, weeks=weeks, today=today, terms=terms)
    result = []
    as_of = None
    for week in weeks:
        row = own.get(week)
        as_of = _newest(as_of, row["updated_at"] if row else None)
        result.append(
            {
                "week_start": week,
                **{name: row[name] if row else _empty_metric(name) for name in TEACHER_METRICS},
                "school_median": {name: medians[week, name] for name in TEACHER_METRICS},
                **gaps["weeks"][week],
            }
        )
    return {
        "teacher": {"id": teacher.pk, "name": str(teacher), "school": {"id": teacher.school_id}},
        "as_of": as_of,
        "weeks": result,
        "today": {"date": today, **gaps["today"]},
        "comments": gaps["comments"],
    }


def _empty_metric(name: str):
    return None if name == "average_student_attendance" else 0


# The teacher's weeks and the school's, read on every teacher-performance request and teacher page: compiled once
# (core.compiled), over the range of the weeks asked for (the rows of other weeks in it are left out here).
TEACHER_WEEKS = CompiledRead(
    lambda *, teacher_id, first, last: TeacherPerformanceMetric.objects.filter(
        teacher_id=teacher_id, week_start__range=(first, last)
    ).values("week_start", "updated_at", *TEACHER_METRICS),
    teacher_id=int,
    first=datetime.date,
    last=datetime.date,
)


def _school_weeks_query(*, school_id: int, first: datetime.date, last: datetime.date) -> QuerySet:
    return SchoolTeacherWeek.objects.filter(school_id=school_id, week_start__range=(first, last))


def _school_weeks_with_teachers(*, school_id: int, first: datetime.date, last: datetime.date) -> QuerySet:
    """The school's weeks with the number of its teachers counted now, in the same query."""
    count = Teacher.objects.filter(school_id=school_id).order_by().values("school_id").annotate(n=Count("id"))
    return (
        _school_weeks_query(school_id=school_id, first=first, last=last)
        .annotate(teachers=Subquery(count.values("n")))
        .values("week_start", *COUNT_METRICS, RATE_METRIC, "teachers")
    )


SCHOOL_WEEKS = CompiledRead(_school_weeks_with_teachers, school_id=int, first=datetime.date, last=datetime.date)


def school_medians(
    *, school_id: int, weeks: list[datetime.date], teachers: int | None = None
) -> dict[tuple, Decimal | None]:
    """(week, metric) -> the median over the school's ``teachers`` (by default its teachers counted now); a teacher
    without a row that week counts 0 (rates: only teachers with a rate count).

    Read from the school's weeks (SchoolTeacherWeek: the counts by value, the rates' median), one row per
    week, so the read does not grow with the number of teachers. The teachers are counted in the same query.
    """
    asked = set(weeks)
    if not weeks:
        rows = []
    elif teachers is None:
        rows = SCHOOL_WEEKS(school_id=school_id, first=min(weeks), last=max(weeks))
    else:
        rows = _school_weeks_query(school_id=school_id, first=min(weeks), last=max(weeks)).values(
            "week_start", *COUNT_METRICS, RATE_METRIC
        )
    stored = {row["week_start"]: row for row in rows if row["week_start"] in asked}
    if teachers is None:
        # Without a stored week, counted on their own.
        first = next(iter(stored.values()), None)
        teachers = (first["teachers"] or 0) if first else Teacher.objects.filter(school_id=school_id).count()
    medians = {}
    for week in weeks:
        row = stored.get(week)
        for name in COUNT_METRICS:
            medians[week, name] = counts_median(row[name] if row else {}, teachers)
        medians[week, RATE_METRIC] = row[RATE_METRIC] if row else None
    return medians


def teacher_weeks(*, teacher: Teacher, count: int = 8, date_from=None, date_to=None) -> list[datetime.date]:
    """Mondays of the weeks asked for: from..to, or the last `count` weeks up to this one (school time)."""
    if date_from is None and date_to is None:
        this_week = week_start(school_today(school=teacher.school))
        return [this_week - datetime.timedelta(weeks=back) for back in range(count - 1, -1, -1)]
    last = date_to or school_today(school=teacher.school)
    span = datetime.timedelta(weeks=count - 1)
    first = date_from or (last - span if last - datetime.date.min >= span else datetime.date.min)
    return _weeks(first, last)


LOW_ATTENDANCE = Decimal("90")
MONEY = {"amount_invoiced", "payments_received"}
SCHOOL_DAY_SUMS = (
    "students_marked",
    "students_present",
    "students_late",
    "students_absent",
    "students_excused",
    "lessons_attended",
    "lessons_counted",
    "homework_due",
    "homework_on_time",
    "homework_late",
    "amount_invoiced",
    "payments_received",
    "payments_count",
)


def _sums(rows: list[dict]) -> dict:
    # Summed in Python: exact decimals on every database.
    return {name: sum((row[name] for row in rows), Decimal(0) if name in MONEY else 0) for name in SCHOOL_DAY_SUMS}


def _school_days_query(*, schools: Q, date_to: datetime.date, todays) -> QuerySet:
    return SchoolDailySummary.objects.filter(Q(date__lte=date_to) | Q(date__in=todays), schools).values(
        "school_id", "date", "updated_at", *SCHOOL_DAY_SUMS
    )


# School health's reads of one school (its page, its endpoint, each school of the superuser's table): compiled once
# (core.compiled).
SCHOOL_DAYS = CompiledRead(
    lambda *, school_id, date_to, today: _school_days_query(
        schools=Q(school_id=school_id), date_to=date_to, todays=[today]
    ),
    school_id=int,
    date_to=datetime.date,
    today=datetime.date,
)
# The term's students with an attendance percentage, and those below the threshold: one row (none without any).
TERM_BELOW = CompiledRead(
    lambda *, term_id: (
        StudentTermAttendance.objects.filter(term_id=term_id, attendance_percentage__isnull=False)
        .order_by()
        .values("term_id")
        .annotate(students=Count("id"), below=Count("id", filter=Q(attendance_percentage__lt=LOW_ATTENDANCE)))
    ),
    term_id=int,
)


def school_health(*, schools: list[School], term: AcademicTerm | None, date_from, date_to) -> dict:
    """Money, attendance, homework and head counts of one school (or several) over a period, with a weekly trend.

    Read from the school daily rollup rows (one row per school and day) and the per-student term
    attendance rows, so the cost does not grow with the number of students.
    """
    school_ids = [school.pk for school in schools]
    todays = {school.pk: school_today(school=school) for school in schools}
    # Today's row is read even when the period ends earlier: today's figures do not depend on the period.
    if len(schools) == 1:
        rows = SCHOOL_DAYS(school_id=school_ids[0], date_to=date_to, today=todays[school_ids[0]])
    else:
        rows = list(
            _school_days_query(schools=Q(school_id__in=school_ids), date_to=date_to, todays=set(todays.values()))
        )
    days = [day for day in rows if day["date"] <= date_to]
    in_period = [day for day in days if day["date"] >= date_from]
    totals = _sums(in_period)
    to_date = _sums(days)
    outstanding = to_date["amount_invoiced"] - to_date["payments_received"]
    today = _sums([day for day in rows if day["date"] == todays[day["school_id"]]])

    below = None
    if term is not None:
        counted = next(iter(TERM_BELOW(term_id=term.pk)), {"students": 0, "below": 0})
        below = {
            "threshold": LOW_ATTENDANCE,
            "students": counted["below"],
            "of": counted["students"],
            "share": percentage(counted["below"], counted["students"]),
        }

    weekly = defaultdict(list)
    for day in in_period:
        weekly[week_start(day["date"])].append(day)
    return {
        "schools": [{"id": school.pk, "name": school.name} for school in schools],
        "term": {"id": term.pk, "name": term.name, "start_date": term.start_date, "end_date": term.end_date}
        if term
        else None,
        "period": {"from": date_from, "to": date_to},
        "as_of": _newest(*(day["updated_at"] for day in rows)),
        "revenue": totals["payments_received"],
        "payments_count": totals["payments_count"],
        "amount_billed": totals["amount_invoiced"],
        "outstanding": outstanding,
        "collection_rate": percentage(to_date["payments_received"], to_date["amount_invoiced"]),
        "attendance_rate": percentage(totals["lessons_attended"], totals["lessons_counted"]),
        "homework_completion_rate": percentage(totals["homework_on_time"], totals["homework_due"]),
        "today": {
            "students_marked": today["students_marked"],
            "students_present": today["students_present"],
            "students_late": today["students_late"],
            "students_absent": today["students_absent"],
            "students_excused": today["students_excused"],
            "attendance_rate": percentage(today["lessons_attended"], today["lessons_counted"]),
        },
        "roll_calls_today": missing.roll_calls_today(schools=schools, todays=todays),
        **_head_counts(schools),
        "low_attendance": below,
        "weekly": [
            {
                "week_start": week,
                "revenue": sums["payments_received"],
                "amount_billed": sums["amount_invoiced"],
                "attendance_rate": percentage(sums["lessons_attended"], sums["lessons_counted"]),
                "homework_completion_rate": percentage(sums["homework_on_time"], sums["homework_due"]),
            }
            for week, sums in ((week, _sums(rows)) for week, rows in sorted(weekly.items()))
        ],
    }


def schools_with_head_counts(schools: QuerySet[School]) -> QuerySet[School]:
    """The schools, each read with its active students and its teachers counted (``school_health`` then counts
    nothing itself)."""

    def counted(model, **condition) -> Subquery:
        rows = model.objects.filter(school_id=OuterRef("pk"), **condition).order_by().values("school_id")
        return Subquery(rows.annotate(n=Count("id")).values("n"))

    return schools.annotate(head_count_students=counted(Student, active=True), head_count_teachers=counted(Teacher))


def _head_counts(schools: list[School]) -> dict[str, int]:
    if all(hasattr(school, "head_count_students") for school in schools):
        return {
            "students_count": sum(school.head_count_students or 0 for school in schools),
            "teachers_count": sum(school.head_count_teachers or 0 for school in schools),
        }
    school_ids = [school.pk for school in schools]
    return {
        "students_count": Student.objects.filter(school_id__in=school_ids, active=True).count(),
        "teachers_count": Teacher.objects.filter(school_id__in=school_ids).count(),
    }


def health_period(
    *, schools: list[School], term: AcademicTerm | None, date_from=None, date_to=None
) -> tuple[datetime.date, datetime.date]:
    """The period asked for, filled in from the term (or, across schools, their current terms; else 12 weeks)."""
    if term is not None:
        default = (term.start_date, term.end_date)
    else:
        # Every school's terms in one query: the cost of a rollup does not grow with the number of schools.
        terms_of = defaultdict(list)
        for school_term in AcademicTerm.objects.filter(school__in=schools):
            terms_of[school_term.school_id].append(school_term)
        terms = [current_term(school=school, terms=terms_of[school.pk]) for school in schools]
        terms = [term for term in terms if term is not None]
        if terms:
            default = (min(t.start_date for t in terms), max(t.end_date for t in terms))
        else:
            today = timezone.localdate()
            default = (today - datetime.timedelta(weeks=12), today)
    date_from = date_from or default[0]
    date_to = date_to or max(default[1], date_from)
    return date_from, date_to


# --- pages: lists the dashboards show beside the API's figures -------------------------------------


def students_below_attendance_rows(*, term: AcademicTerm, threshold: Decimal = LOW_ATTENDANCE):
    """The students that ``school_health``'s ``low_attendance`` counts, lowest attendance first, as a queryset
    of plain value tuples (a page of them is a slice of it; ``below_items`` makes them rows)."""
    return (
        StudentTermAttendance.objects.filter(term=term, attendance_percentage__lt=threshold)
        .order_by("attendance_percentage", "student__last_name", "student__first_name", "student_id")
        .values_list(
            "student_id",
            "student__first_name",
            "student__last_name",
            "student__class_group__name",
            "attendance_percentage",
            "lessons_attended",
            "lessons_counted",
            "days_absent",
        )
    )


def below_items(rows) -> list[dict]:
    """``students_below_attendance_rows`` (or a slice of them) as rows: plain dicts, not model instances, since
    the list grows with the school and is read on every school-health page."""
    return [
        {
            "id": student_id,
            "name": f"{first_name} {last_name}",  # Student.full_name
            "class_group": class_group,
            "attendance_percentage": percentage,
            "lessons_attended": attended,
            "lessons_counted": counted,
            "days_absent": absent,
        }
        for student_id, first_name, last_name, class_group, percentage, attended, counted, absent in rows
    ]


def students_below_attendance(*, term: AcademicTerm, threshold: Decimal = LOW_ATTENDANCE) -> list[dict]:
    """Every student that ``school_health``'s ``low_attendance`` counts, by name: term attendance below the
    threshold, lowest first."""
    return below_items(students_below_attendance_rows(term=term, threshold=threshold))


TERM_ATTENDANCE_FIGURES = (
    "attendance_percentage",
    "lessons_attended",
    "lessons_counted",
    "days_marked",
    "days_present",
    "days_late",
    "days_absent",
    "days_excused",
    "updated_at",
)
# A student has one row per term (term_attendance_unique); read on every report page, so compiled once.
TERM_ATTENDANCE = CompiledRead(
    lambda *, student_id, term_id: StudentTermAttendance.objects.filter(student_id=student_id, term_id=term_id).values(
        *TERM_ATTENDANCE_FIGURES
    ),
    student_id=int,
    term_id=int,
)


def student_term_attendance(*, student: Student, term: AcademicTerm | None) -> dict | None:
    """The student's attendance over the term, all lessons together, and their days by status."""
    rows = TERM_ATTENDANCE(student_id=student.pk, term_id=term.pk) if term else []
    return rows[0] if rows else None


def class_students(*, class_group_id: int, term: AcademicTerm | None) -> dict:
    """Every active student of a class with their term figures: overall average and position, attendance
    (all lessons of the term) and homework completion (the same day sums as ``student_overview``)."""
    students = list(
        Student.objects.filter(class_group_id=class_group_id, active=True).order_by("last_name", "first_name", "pk")
    )
    ids = [student.pk for student in students]
    standings = attendance = {}
    homework = {}
    as_of = None
    if term is not None and ids:
        standings = {row.student_id: row for row in StudentTermStanding.objects.filter(term=term, student_id__in=ids)}
        attendance = {
            row.student_id: row for row in StudentTermAttendance.objects.filter(term=term, student_id__in=ids)
        }
        # Summed per student in the database: a class's days in one term are a few thousand summary rows.
        homework = {
            row["student_id"]: row
            for row in StudentDailySummary.objects.filter(
                student_id__in=ids, date__range=(term.start_date, term.end_date)
            )
            .values("student_id")
            .annotate(
                due=Sum("homework_due"),
                on_time=Sum("homework_on_time"),
                late=Sum("homework_late"),
                updated=Max("updated_at"),
            )
        }
        as_of = _newest(
            *(row.updated_at for row in standings.values()),
            *(row.updated_at for row in attendance.values()),
            *(row["updated"] for row in homework.values()),
        )
    flags = student_flags(student_ids=ids) if ids else {}
    result = []
    for student in students:
        standing = standings.get(student.pk)
        present = attendance.get(student.pk)
        work = homework.get(student.pk, {})
        due, on_time, late = work.get("due") or 0, work.get("on_time") or 0, work.get("late") or 0
        result.append(
            {
                "id": student.pk,
                "name": student.full_name,
                "student_number": student.student_number,
                "average_grade": standing.overall_average if standing else None,
                "rank": standing.rank if standing else None,
                "rank_of": standing.rank_of if standing else None,
                "rank_display": rank_display(standing.rank, standing.rank_of) if standing else None,
                "attendance_percentage": present.attendance_percentage if present else None,
                "homework": {
                    "due": due,
                    "on_time": on_time,
                    "late": late,
                    "missing": due - on_time - late,
                    "completion_rate": percentage(on_time, due),
                },
                "flags": flags.get(student.pk, []),
                "flag_reasons": ", ".join(flag["reason"] for flag in flags.get(student.pk, [])),
            }
        )
    return {"as_of": as_of, "students": result}


def _classes_compared_query(*, term_id: int | None, class_group_ids) -> QuerySet:
    if isinstance(class_group_ids, QuerySet):
        # A queryset of ids is read as a subquery of this one (no round trip of its own).
        ids, students = class_group_ids, Q(students__active=True)
    else:
        # A list: its students found through their class's index as well (the database's plan then starts from
        # the classes' students instead of scanning every student and every term row of the school).
        ids = list(class_group_ids)
        students = Q(students__active=True, students__class_group_id__in=ids)
    rows = ClassGroup.objects.filter(pk__in=ids).annotate(active=FilteredRelation("students", condition=students))
    figures = {"students": Count("active__pk")}
    if term_id is not None:
        rows = rows.annotate(
            attendance=FilteredRelation(
                "active__term_attendance", condition=Q(active__term_attendance__term_id=term_id)
            ),
            standing=FilteredRelation("active__term_standings", condition=Q(active__term_standings__term_id=term_id)),
        )
        figures |= {
            "attended": Sum("attendance__lessons_attended"),
            "counted": Sum("attendance__lessons_counted"),
            "cents": Sum(Cast(Round(F("standing__overall_average") * 100), IntegerField())),
            "averages": Count("standing__overall_average"),
        }
    return rows.values("pk", "name", "grade_level").annotate(**figures).order_by("grade_level", "name", "pk")


# Classes compared on the pages (a teacher's classes, a page of the school's) are asked for on every visit: compiled
# once (core.compiled) per number of classes; a teacher's classes are those of their scope
# (schools.selectors.class_groups_taught_by), read first as ids.
CLASSES = CompiledRead(
    lambda *, term_id, class_ids: _classes_compared_query(term_id=term_id, class_group_ids=class_ids),
    term_id=int,
    class_ids=list,
)
TEACHER_CLASS_IDS = CompiledRead(
    lambda *, teacher_id: class_groups_taught_by(teacher=Teacher(pk=teacher_id)).order_by("pk").values_list("pk"),
    teacher_id=int,
)


def classes_compared(
    *, term: AcademicTerm | None, class_group_ids: Iterable[int] = (), teacher: Teacher | None = None
) -> list[dict]:
    """Per class, over its active students' term rows: attendance (attended / counted lessons, all summed)
    and the class average (the mean of its students' overall averages, half-up to 2 places). The classes:
    ``class_group_ids`` (a list, or a queryset read as a subquery), or with ``teacher`` the classes the teacher
    teaches (their scope).

    One query, a row per class (with ``teacher``, one more for their classes' ids): the database sums each class's
    active students' term attendance and their overall averages in whole hundredths (each average has two places,
    so the hundredths are whole numbers and the sums exact on either database: no floating-point sum of decimals
    on SQLite), and counts them; the mean is divided and rounded here. A student has one attendance row and one
    standing per term, so no row repeats.
    """
    term_id = term.pk if term is not None else None
    if teacher is not None:
        class_group_ids = [pk for (pk,) in TEACHER_CLASS_IDS(teacher_id=teacher.pk)]
    if isinstance(class_group_ids, QuerySet):
        rows = _classes_compared_query(term_id=term_id, class_group_ids=class_group_ids)
    else:
        rows = CLASSES(term_id=term_id, class_ids=list(class_group_ids))
    result = []
    for row in rows:
        averages = row.get("averages") or 0
        result.append(
            {
                "id": row["pk"],
                "name": row["name"],
                "grade_level": row["grade_level"],
                "students": row["students"],
                "attendance_rate": percentage(row.get("attended") or 0, row.get("counted") or 0),
                "average_grade": round_half_up(Fraction(row["cents"], 100 * averages)) if averages else None,
            }
        )
    return result


# --- early warning ----------------------------------------------------------------------------------


def student_flags(*, student_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Each student's early-warning flags (docs/metrics.md), in the rules' order, with the reason in words."""
    return _flags_of(
        StudentFlag.objects.filter(student_id__in=set(student_ids))
        .order_by()
        .values("student_id", "reason", "as_of", "figures")
    )


def _flags_of(rows: Iterable[dict]) -> dict[int, list[dict]]:
    """The flags of ``student_flags`` from their rows (student_id, reason, as_of, figures)."""
    rows = list(rows)
    subject_ids = {
        low["subject_id"]
        for row in rows
        if row["reason"] == StudentFlag.Reason.GRADES
        for low in row["figures"]["low_subjects"]
    }
    names = dict(Subject.objects.filter(id__in=subject_ids).values_list("id", "name")) if subject_ids else {}
    flags = defaultdict(list)
    for row in sorted(rows, key=lambda row: (row["student_id"], REASONS.index(row["reason"]))):
        flags[row["student_id"]].append(
            {
                "reason": row["reason"],
                "as_of": row["as_of"],
                "text": flag_text(row["reason"], row["figures"], names),
                "figures": row["figures"],
            }
        )
    return dict(flags)


def students_at_risk(*, students: QuerySet[Student], reason: str | None = None) -> QuerySet[Student]:
    """The students among ``students`` with a flag (of the reason, if given), by class, then name."""
    flagged = StudentFlag.objects.filter(student_id=OuterRef("pk"))
    if reason:
        flagged = flagged.filter(reason=reason)
    return (
        students.filter(Exists(flagged))
        .select_related("class_group")
        .order_by("class_group__name", "last_name", "first_name", "pk")
    )


def at_risk_items(*, students: Iterable[Student]) -> list[dict]:
    """The list items of the at-risk students: who they are, and their flags."""
    students = list(students)
    flags = student_flags(student_ids=[student.pk for student in students])
    return [
        {
            "student": {
                "id": student.pk,
                "name": student.full_name,
                "student_number": student.student_number,
                "class_group": (
                    {"id": student.class_group.pk, "name": student.class_group.name} if student.class_group else None
                ),
            },
            "flags": flags.get(student.pk, []),
        }
        for student in students
    ]
