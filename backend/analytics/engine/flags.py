"""StudentFlag: the early-warning rules (SPEC §9) that hold for a student as of the school's flag date.

A rolled-up table like the others: its rows are recomputed for the students a change names, in the
writer's transaction, after their daily and term rows (which it reads). The date the flags are as of is
the school's ``EarlyWarningSettings.flags_as_of`` (today in the school's time zone when the school has
none); the nightly job ``roll_early_warning_flags`` moves it to the new day and recomputes the school's
flags, so every flag of a school is as of one date. docs/metrics.md, "Early-warning flags", defines each rule.
"""

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import Decimal

from django.db.models import Case, DateField, DecimalField, F, IntegerField, Q, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from analytics.definitions import mean_percentage, percentage
from analytics.engine.machinery import STORED_COMPILED_MAX, STUDENT_LOCK, Computed, RefreshResult, Table, refresh
from analytics.keys import GRADES, MARKS
from analytics.models import StudentDailySummary, StudentFlag, StudentTermPerformance
from core.compiled import CompiledRead
from core.dates import days_later, local_date
from homework.models import Grade
from schools.models import Student

Reason = StudentFlag.Reason
REASONS = tuple(Reason.values)
FlagKey = tuple[int, str]  # (student_id, reason)


@dataclass(frozen=True)
class FlagRules:
    """A school's early-warning thresholds; the defaults are the spec's (EarlyWarningSettings has the same)."""

    attendance_below: Decimal = Decimal("90")
    attendance_dates: int = 20
    homework_missing: int = 3
    homework_days: int = 14
    grade_drop: Decimal = Decimal("10")
    grade_window_days: int = 28
    grade_window_grades: int = 2
    term_average_below: Decimal = Decimal("40")
    behaviour_score_at_most: int = 2
    behaviour_scores: int = 2
    behaviour_days: int = 14


RULE_FIELDS = tuple(f.name for f in fields(FlagRules))


FLAGS = Table(
    StudentFlag,
    ("student_id", "reason"),
    {"as_of": None, "figures": None},
    {},
    lock_class=STUDENT_LOCK,
    lock_width=1,
)


def flag_keys(student_ids: Iterable[int]) -> set[FlagKey]:
    """Every flag key of the students: one per rule."""
    return {(student_id, reason) for student_id in student_ids for reason in REASONS}


def flags_refresh(*, student_ids: Iterable[int], dry_run: bool = False) -> RefreshResult:
    """Recompute the StudentFlag rows of the students (every rule), as of their school's flag date."""
    return refresh(FLAGS, flag_keys(student_ids), flags_compute, dry_run=dry_run)


def _figure(value: Decimal | None) -> str | None:
    """A figure stored in the flag's JSON: a decimal as a string with 2 places."""
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


# The rules whose inputs a change of one kind of source data can touch (``Keys.changed``): marks feed the
# daily rows' attendance counts only; grades feed the grade windows and the term averages only. Homework
# handed in and behaviour scores are other kinds of change, which recompute every rule.
_RULES_FED_BY = {MARKS: frozenset({Reason.ATTENDANCE}), GRADES: frozenset({Reason.GRADES})}


def rules_to_compute(changed: frozenset) -> frozenset:
    """The rules whose inputs the change can touch: every rule unless only marks or only grades changed."""
    if not changed or not changed <= _RULES_FED_BY.keys():
        return frozenset(REASONS)
    return frozenset().union(*(_RULES_FED_BY[kind] for kind in changed))


def _flag_settings_query(*, student_ids: list[int]):
    columns = [f"school__early_warning__{name}" for name in (*RULE_FIELDS, "flags_as_of")]
    return Student.objects.filter(id__in=student_ids).order_by().values("id", "school_id", "school__timezone", *columns)


# Compiled once per number of students (a save's, a class's: up to STORED_COMPILED_MAX; more are built as usual).
_FLAG_SETTINGS = CompiledRead(_flag_settings_query, max_length=STORED_COMPILED_MAX, student_ids=list)


def student_flag_settings(student_ids: Iterable[int]) -> dict[int, tuple[int, FlagRules, datetime.date, bool]]:
    """student id -> (school id, the school's thresholds, the date its flags are as of, whether that date is
    the school's stored flag date rather than today), in one query."""
    now = timezone.now()
    settings = {}
    for row in _FLAG_SETTINGS(student_ids=sorted(set(student_ids))):
        has_row = row["school__early_warning__attendance_below"] is not None
        rules = (
            FlagRules(**{name: row[f"school__early_warning__{name}"] for name in RULE_FIELDS})
            if has_row
            else FlagRules()
        )
        stored_date = row["school__early_warning__flags_as_of"]
        as_of = stored_date or local_date(now, zoneinfo.ZoneInfo(row["school__timezone"]))
        settings[row["id"]] = (row["school_id"], rules, as_of, stored_date is not None)
    return settings


def _kept_as_computed(stored_flags: list[dict], school_id: int, as_of: datetime.date, school_date: bool) -> bool:
    """Whether the student's stored flags (every rule's state: a row where it holds, none where it does not)
    are as of ``as_of``, so a rule whose inputs did not change keeps its state exactly.

    With a stored flag date, every flag of the school was computed as of it (the nightly job moves the date
    and recomputes the school's flags in one transaction; every write since recomputed the rules it fed).
    Without one the date is today: the student's state is known as of today only if some row says so (a
    row as of today was written by a computation today, whole or of rules whose others were kept as of today).
    """
    if any(row["as_of"] != as_of or row["school_id"] != school_id for row in stored_flags):
        return False
    return school_date or bool(stored_flags)


_DAILY_FIELDS = (
    "student_id",
    "date",
    "lessons_marked",
    "lessons_attended",
    "lessons_counted",
    "homework_due",
    "homework_on_time",
    "behavior_score",
    "latest",
)


def _daily_rows(days: QuerySet, wanted: Q) -> QuerySet:
    """Of the days, numbered from the latest by student and by marked or not (``latest``), the wanted ones."""
    is_marked = Case(When(lessons_marked__gt=0, then=Value(1)), default=Value(0))
    return (
        days.annotate(latest=Window(RowNumber(), partition_by=[F("student_id"), is_marked], order_by=F("date").desc()))
        .filter(wanted)
        .order_by()
        .values(*_DAILY_FIELDS)
    )


def _daily_rows_query(
    *,
    students: list[int],
    first: datetime.date,
    last: datetime.date,
    attendance: list[int] | None = None,
    most_dates: int | None = None,
    recent: list[int] | None = None,
    recent_first: datetime.date | None = None,
) -> QuerySet:
    """The daily rows the flags read when every student's flags are as of one date (one school): the latest
    ``most_dates`` marked days of the ``attendance`` students, every day from ``recent_first`` of the ``recent``."""
    wanted = Q(pk__in=[])
    if attendance is not None:
        wanted |= Q(student_id__in=attendance, date__range=(first, last), lessons_marked__gt=0, latest__lte=most_dates)
    if recent is not None:
        wanted |= Q(student_id__in=recent, date__range=(recent_first, last))
    return _daily_rows(StudentDailySummary.objects.filter(student_id__in=students, date__range=(first, last)), wanted)


# Compiled once per number of students of each rule (a save's, a class's: up to STORED_COMPILED_MAX).
_DAILY_ROWS = CompiledRead(
    _daily_rows_query,
    max_length=STORED_COMPILED_MAX,
    students=list,
    first=datetime.date,
    last=datetime.date,
    attendance=list,
    most_dates=int,
    recent=list,
    recent_first=datetime.date,
)


def _daily_rows_one_window(settings: dict, todo: dict, most_dates: int, recent_first) -> list[dict] | None:
    """The flags' daily rows through ``_DAILY_ROWS`` when the students' windows are one (their flags as of one
    date, one school's rules); None otherwise (several schools or flag dates: the queryset is built as usual)."""
    attendance = sorted(student for student, reasons in todo.items() if Reason.ATTENDANCE in reasons)
    recent = sorted(student for student, reasons in todo.items() if reasons & {Reason.HOMEWORK, Reason.BEHAVIOUR})
    students = sorted({*attendance, *recent})
    as_ofs = {settings[student][2] for student in students}
    recent_firsts = {recent_first(settings[student][1], settings[student][2]) for student in recent}
    if len(as_ofs) != 1 or len(recent_firsts) > 1:
        return None
    values = {"students": students, "first": datetime.date.min, "last": as_ofs.pop()}
    if attendance:
        values.update(attendance=attendance, most_dates=most_dates)
    if recent:
        values.update(recent=recent, recent_first=recent_firsts.pop())
    return _DAILY_ROWS(**values)


def flags_compute(keys: set[FlagKey], *, stored: dict | None = None, changed=frozenset()) -> Computed:
    """The flags of the keys' students that hold as of their school's flag date, each with its figures.

    When only marks (only grades) changed, a student whose stored flags are as of the flag date keeps the
    state of the rules that do not read them (``stored``: the stored rows of the keys) and only the rules
    they feed are recomputed."""
    student_ids = {student_id for student_id, _ in keys}
    settings = student_flag_settings(student_ids)
    if not settings:
        return {}
    stored = stored or {}
    fed = rules_to_compute(changed)
    todo = {}  # student -> the rules to recompute
    computed = {}
    for student_id, (school_id, _, as_of, school_date) in settings.items():
        flags = {reason: stored[student_id, reason] for reason in REASONS if (student_id, reason) in stored}
        if fed != set(REASONS) and _kept_as_computed(list(flags.values()), school_id, as_of, school_date):
            todo[student_id] = fed
            for reason, row in flags.items():
                if reason not in fed:
                    computed[student_id, reason] = (school_id, {"as_of": row["as_of"], "figures": row["figures"]})
        else:
            todo[student_id] = frozenset(REASONS)

    def per_school(student_path: str, date_path: str, first_day, reasons) -> Q:
        """The rows of the students recomputing any of the reasons, dated first_day(rules, as_of)..as_of."""
        condition = Q(pk__in=[])
        by_window = defaultdict(set)
        for student_id, (_, rules, as_of, _) in settings.items():
            if todo[student_id] & reasons:
                by_window[first_day(rules, as_of), as_of].add(student_id)
        for dates, students in by_window.items():
            condition |= Q(**{f"{student_path}__in": students, f"{date_path}__range": dates})
        return condition

    def recent_first(rules: FlagRules, as_of: datetime.date) -> datetime.date:
        return days_later(as_of, -max(rules.homework_days, rules.behaviour_days))

    # The daily rows, in one read: each student's latest marked dates up to the flag date (the most any
    # school asks for) for attendance, and every row of the last days before it for homework and behaviour.
    daily_rules = {Reason.ATTENDANCE, Reason.HOMEWORK, Reason.BEHAVIOUR}
    marked, recent_days = defaultdict(list), defaultdict(list)
    if any(reasons & daily_rules for reasons in todo.values()):
        most_dates = max(rules.attendance_dates for _, rules, _, _ in settings.values())
        rows = _daily_rows_one_window(settings, todo, most_dates, recent_first)
        if rows is None:
            wanted = per_school("student_id", "date", lambda rules, as_of: datetime.date.min, {Reason.ATTENDANCE})
            wanted = Q(wanted, lessons_marked__gt=0, latest__lte=most_dates) | per_school(
                "student_id", "date", recent_first, {Reason.HOMEWORK, Reason.BEHAVIOUR}
            )
            rows = _daily_rows(
                StudentDailySummary.objects.filter(
                    per_school("student_id", "date", lambda rules, as_of: datetime.date.min, daily_rules)
                ),
                wanted,
            )
        for row in rows:
            student_id = row["student_id"]
            _, rules, as_of, _ = settings[student_id]
            reasons = todo[student_id]
            if Reason.ATTENDANCE in reasons and row["lessons_marked"] > 0 and row["latest"] <= most_dates:
                marked[student_id].append(row)
            if reasons & {Reason.HOMEWORK, Reason.BEHAVIOUR} and row["date"] >= recent_first(rules, as_of):
                recent_days[student_id].append(row)

    # Grades (the two windows, by the homework's due date) and the term averages below the threshold (the
    # subject rows of the term containing the flag date), in one read.
    grades, low_averages = defaultdict(list), defaultdict(list)
    if any(Reason.GRADES in reasons for reasons in todo.values()):
        current_term = Q(pk__in=[])
        for student_id, (school_id, _, as_of, _) in settings.items():
            if Reason.GRADES in todo[student_id]:
                current_term |= Q(
                    student_id=student_id,
                    term__school_id=school_id,
                    term__start_date__lte=as_of,
                    term__end_date__gte=as_of,
                    average_grade__isnull=False,
                )
        window_grades = (
            Grade.objects.filter(
                per_school(
                    "submission__student_id",
                    "submission__homework__due_date",
                    lambda rules, as_of: days_later(as_of, 1 - 2 * rules.grade_window_days),
                    {Reason.GRADES},
                )
            )
            .order_by()
            .annotate(subject=Value(None, output_field=IntegerField()))
            .values_list(
                "submission__student_id",
                "submission__homework__due_date",
                "score",
                "submission__homework__max_score",
                "subject",
            )
        )
        term_averages = (
            StudentTermPerformance.objects.filter(current_term)
            .order_by()
            .annotate(
                due=Value(None, output_field=DateField()),
                maximum=Value(None, output_field=DecimalField(max_digits=7, decimal_places=2)),
            )
            .values_list("student_id", "due", "average_grade", "maximum", "subject_id")
        )
        averages = []
        for student_id, due, score, maximum, subject_id in window_grades.union(term_averages, all=True):
            if subject_id is None:
                grades[student_id].append((due, score, maximum))
            else:
                averages.append((subject_id, student_id, score))
        for subject_id, student_id, average in sorted(averages, key=lambda row: row[:2]):
            # Compared here, in decimals: SQLite keeps the column as a float.
            if Decimal(average) < settings[student_id][1].term_average_below:
                low_averages[student_id].append({"subject_id": subject_id, "average": _figure(average)})

    for student_id, (school_id, rules, as_of, _) in settings.items():
        figures = {
            Reason.ATTENDANCE: _attendance(marked.get(student_id, []), rules, as_of),
            Reason.HOMEWORK: _homework(recent_days.get(student_id, []), rules, as_of),
            Reason.GRADES: _grades(grades.get(student_id, []), low_averages.get(student_id, []), rules, as_of),
            Reason.BEHAVIOUR: _behaviour(recent_days.get(student_id, []), rules, as_of),
        }
        for reason, holding in figures.items():
            key = (student_id, str(reason))
            if reason in todo[student_id] and holding is not None and key in keys:
                computed[key] = (school_id, {"as_of": as_of, "figures": holding})
    return {key: value for key, value in computed.items() if key in keys}


def _attendance(rows: list[dict], rules: FlagRules, as_of: datetime.date) -> dict | None:
    """Attended / counted over the marks of the latest ``attendance_dates`` marked dates, when below the threshold."""
    latest = sorted(rows, key=lambda row: row["date"], reverse=True)[: rules.attendance_dates]
    attended = sum(row["lessons_attended"] for row in latest)
    counted = sum(row["lessons_counted"] for row in latest)
    rate = percentage(attended, counted)
    if rate is None or rate >= rules.attendance_below:
        return None
    return {
        "rate": _figure(rate),
        "attended": attended,
        "counted": counted,
        "dates": len(latest),
        "window_dates": rules.attendance_dates,
        "threshold": _figure(rules.attendance_below),
    }


def _homework(rows: list[dict], rules: FlagRules, as_of: datetime.date) -> dict | None:
    """Homework not handed in by the end of its due date, due in the ``homework_days`` days before the as-of date."""
    first = days_later(as_of, -rules.homework_days)
    window = [row for row in rows if first <= row["date"] < as_of]
    due = sum(row["homework_due"] for row in window)
    missing = sum(row["homework_due"] - row["homework_on_time"] for row in window)
    if missing < rules.homework_missing:
        return None
    return {"missing": missing, "due": due, "days": rules.homework_days, "threshold": rules.homework_missing}


def _grades(grades: list[tuple], low: list[dict], rules: FlagRules, as_of: datetime.date) -> dict | None:
    """A slide between the two grade windows, or a subject's term average below the threshold."""
    recent_from = days_later(as_of, 1 - rules.grade_window_days)
    recent = [(score, maximum) for due, score, maximum in grades if recent_from <= due <= as_of]
    earlier = [(score, maximum) for due, score, maximum in grades if due < recent_from]
    recent_mean, earlier_mean = mean_percentage(recent), mean_percentage(earlier)
    enough = len(recent) >= rules.grade_window_grades and len(earlier) >= rules.grade_window_grades
    drop = earlier_mean - recent_mean if enough else None
    sliding = drop is not None and drop >= rules.grade_drop
    if not sliding and not low:
        return None
    return {
        "sliding": sliding,
        "recent_mean": _figure(recent_mean),
        "recent_grades": len(recent),
        "earlier_mean": _figure(earlier_mean),
        "earlier_grades": len(earlier),
        "drop": _figure(drop),
        "window_days": rules.grade_window_days,
        "window_grades": rules.grade_window_grades,
        "drop_threshold": _figure(rules.grade_drop),
        "low_subjects": low,
        "average_threshold": _figure(rules.term_average_below),
    }


def _behaviour(rows: list[dict], rules: FlagRules, as_of: datetime.date) -> dict | None:
    """Behaviour scores at or below ``behaviour_score_at_most`` in the ``behaviour_days`` days up to the as-of date."""
    first = days_later(as_of, 1 - rules.behaviour_days)
    low = [
        row
        for row in rows
        if first <= row["date"] <= as_of
        and row["behavior_score"] is not None
        and row["behavior_score"] <= rules.behaviour_score_at_most
    ]
    if len(low) < rules.behaviour_scores:
        return None
    return {
        "low_scores": len(low),
        "at_most": rules.behaviour_score_at_most,
        "days": rules.behaviour_days,
        "threshold": rules.behaviour_scores,
    }


def flag_keys_discover(*, school_id: int) -> set[FlagKey]:
    """Every flag key of the school's students and of the students with a flag stored at the school."""
    students = set(Student.objects.filter(school_id=school_id).values_list("id", flat=True))
    students |= set(StudentFlag.objects.filter(school_id=school_id).values_list("student_id", flat=True))
    return flag_keys(students)


# --- the reasons in words -------------------------------------------------------------------------


def _plain(value: str) -> str:
    """A threshold without trailing zeros: "90.00" -> "90", "7.50" -> "7.5"."""
    return format(Decimal(value).normalize(), "f")


def _count(number: int, noun: str) -> str:
    return f"1 {noun}" if number == 1 else f"{number} {noun}s"


def flag_text(reason: str, figures: dict, subject_names: dict[int, str] | None = None) -> str:
    """The flag's reason in words, with its figures and threshold."""
    if reason == Reason.ATTENDANCE:
        return (
            f"attendance {figures['rate']}% over the last {_count(figures['dates'], 'school day')} with marks "
            f"({figures['attended']} of {figures['counted']} lessons); threshold {_plain(figures['threshold'])}%"
        )
    if reason == Reason.HOMEWORK:
        return (
            f"{figures['missing']} of {figures['due']} homework due in the last {figures['days']} days "
            f"not handed in by the due date; threshold {figures['threshold']}"
        )
    if reason == Reason.BEHAVIOUR:
        return (
            f"{figures['low_scores']} behaviour scores at or below {figures['at_most']} in the last "
            f"{figures['days']} days; threshold {figures['threshold']}"
        )
    parts = []
    if figures["sliding"]:
        days = figures["window_days"]
        parts.append(
            f"grades {figures['recent_mean']}% over the last {days} days ({figures['recent_grades']} grades), "
            f"{figures['drop']} points below the {days} days before ({figures['earlier_mean']}%, "
            f"{figures['earlier_grades']} grades); threshold {_plain(figures['drop_threshold'])} points"
        )
    if figures["low_subjects"]:
        names = subject_names or {}
        subjects = ", ".join(
            f"{names.get(low['subject_id'], 'subject ' + str(low['subject_id']))} {low['average']}%"
            for low in figures["low_subjects"]
        )
        parts.append(f"term average below {_plain(figures['average_threshold'])}%: {subjects}")
    return "; ".join(parts)
