"""A from-scratch recomputation of every summary row, independent of ``analytics.services``.

Plain Python over the source tables read with the ORM: exact fractions, half-up rounding to two
places. Tests compare the summary tables with it; it never imports the engine, so a mistake in the
engine cannot hide in both. Teacher inputs (``behavior_score``, ``teacher_comment``) are read back
from the summary tables themselves, since nothing else holds them.
"""

import datetime
import statistics
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from analytics.models import (
    EarlyWarningSettings,
    SchoolTeacherWeek,
    StudentDailySummary,
    StudentFlag,
    StudentTermPerformance,
    TeacherGradingDay,
    TeacherPerformanceMetric,
)
from attendance.models import Attendance, Lesson
from communication.models import Communication
from homework.models import Grade, Homework, HomeworkSubmission
from schools.models import AcademicTerm, School, Student, Teacher

PRESENT, LATE, ABSENT, EXCUSED = "PRESENT", "LATE", "ABSENT", "EXCUSED"

DAILY_FIELDS = (
    "school_id",
    "attendance_status",
    "lessons_marked",
    "lessons_attended",
    "lessons_counted",
    "homework_due",
    "homework_on_time",
    "homework_late",
    "homework_completed",
    "behavior_score",
)
TERM_FIELDS = (
    "school_id",
    "average_grade",
    "grades_count",
    "attendance_percentage",
    "lessons_marked",
    "lessons_attended",
    "lessons_counted",
    "teacher_comment",
)
TEACHER_FIELDS = (
    "school_id",
    "classes_taught",
    "homeworks_assigned",
    "parent_communications",
    "average_student_attendance",
    "lessons_attended",
    "lessons_counted",
)
GRADING_FIELDS = ("school_id", "homework_ungraded", "submissions_ungraded")
SCHOOL_WEEK_FIELDS = ("classes_taught", "homeworks_assigned", "parent_communications", "average_student_attendance")


FLAG_FIELDS = ("school_id", "as_of", "figures")


def half_up(value: Fraction) -> Decimal:
    """Round a non-negative exact value half-up to 2 places."""
    assert value >= 0
    cents = (value * 200 + 1) // 2  # floor(value * 100 + 1/2)
    return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def percentage(part: int, whole: int) -> Decimal | None:
    return None if whole == 0 else half_up(Fraction(part * 100, whole))


def week_start(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


@dataclass(frozen=True)
class Rules:
    late_counts_as_present: bool
    excused_absences_excluded: bool
    tz: zoneinfo.ZoneInfo


@dataclass
class Tally:
    """Marks of one key, counted under a school's rules."""

    statuses: list[str] = field(default_factory=list)

    def add(self, status: str) -> None:
        self.statuses.append(status)

    def marked(self) -> int:
        return len(self.statuses)

    def attended(self, rules: Rules) -> int:
        return sum(1 for s in self.statuses if s == PRESENT or (s == LATE and rules.late_counts_as_present))

    def counted(self, rules: Rules) -> int:
        return sum(1 for s in self.statuses if not (s == EXCUSED and rules.excused_absences_excluded))

    def day_status(self) -> str | None:
        if not self.statuses:
            return None
        if any(s in (PRESENT, LATE) for s in self.statuses):
            return LATE if LATE in self.statuses else PRESENT
        return EXCUSED if all(s == EXCUSED for s in self.statuses) else ABSENT


def _school_rules() -> dict[int, Rules]:
    return {
        s["id"]: Rules(s["late_counts_as_present"], s["excused_absences_excluded"], zoneinfo.ZoneInfo(s["timezone"]))
        for s in School.objects.order_by().values(
            "id", "late_counts_as_present", "excused_absences_excluded", "timezone"
        )
    }


def expected_daily() -> dict[tuple, dict]:
    rules = _school_rules()
    students = {s["id"]: s for s in Student.objects.order_by().values("id", "school_id", "class_group_id")}
    marks: dict[tuple, Tally] = defaultdict(Tally)
    for m in Attendance.objects.order_by().values("student_id", "status", "lesson__date"):
        marks[(m["student_id"], m["lesson__date"])].add(m["status"])

    homework_by_class: dict[int, list[dict]] = defaultdict(list)
    for h in Homework.objects.order_by().values("id", "class_group_id", "due_date"):
        homework_by_class[h["class_group_id"]].append(h)
    submitted = {
        (s["homework_id"], s["student_id"]): s["submitted_at"]
        for s in HomeworkSubmission.objects.order_by().values("homework_id", "student_id", "submitted_at")
    }
    # (student, date) -> [due, on time, late]
    homework: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for student_id, student in students.items():
        tz = rules[student["school_id"]].tz
        for h in homework_by_class.get(student["class_group_id"], []):
            counts = homework[(student_id, h["due_date"])]
            counts[0] += 1
            moment = submitted.get((h["id"], student_id))
            if moment is None:
                continue
            if moment.astimezone(tz).date() <= h["due_date"]:
                counts[1] += 1
            else:
                counts[2] += 1

    behavior = {
        (r["student_id"], r["date"]): r["behavior_score"]
        for r in StudentDailySummary.objects.filter(behavior_score__isnull=False)
        .order_by()
        .values("student_id", "date", "behavior_score")
    }

    rows = {}
    for key in set(marks) | set(homework) | set(behavior):
        student_id, _day = key
        school_id = students[student_id]["school_id"]
        school_rules = rules[school_id]
        tally = marks.get(key, Tally())
        due, on_time, late = homework.get(key, [0, 0, 0])
        rows[key] = {
            "school_id": school_id,
            "attendance_status": tally.day_status(),
            "lessons_marked": tally.marked(),
            "lessons_attended": tally.attended(school_rules),
            "lessons_counted": tally.counted(school_rules),
            "homework_due": due,
            "homework_on_time": on_time,
            "homework_late": late,
            "homework_completed": None if due == 0 else on_time == due,
            "behavior_score": behavior.get(key),
        }
    return rows


def expected_term() -> dict[tuple, dict]:
    rules = _school_rules()
    students = {s["id"]: s["school_id"] for s in Student.objects.order_by().values("id", "school_id")}
    terms_by_school: dict[int, list[dict]] = defaultdict(list)
    for t in AcademicTerm.objects.order_by().values("id", "school_id", "start_date", "end_date"):
        terms_by_school[t["school_id"]].append(t)

    def terms_of(student_id: int, day: datetime.date) -> list[int]:
        return [t["id"] for t in terms_by_school[students[student_id]] if t["start_date"] <= day <= t["end_date"]]

    # A term with no subject lesson anywhere in its school is a daily-register term.
    subject_lesson_dates: dict[int, list[datetime.date]] = defaultdict(list)
    for lesson in Lesson.objects.filter(subject__isnull=False).order_by().values("class_group__school_id", "date"):
        subject_lesson_dates[lesson["class_group__school_id"]].append(lesson["date"])
    register_terms = {
        t["id"]
        for school_id, terms in terms_by_school.items()
        for t in terms
        if not any(t["start_date"] <= d <= t["end_date"] for d in subject_lesson_dates[school_id])
    }

    grades: dict[tuple, list[Fraction]] = defaultdict(list)
    for g in (
        HomeworkSubmission.objects.filter(grade__isnull=False)
        .order_by()
        .values("student_id", "homework__subject_id", "homework__due_date", "homework__max_score", "grade__score")
    ):
        percent = Fraction(g["grade__score"]) / Fraction(g["homework__max_score"]) * 100
        for term_id in terms_of(g["student_id"], g["homework__due_date"]):
            grades[(g["student_id"], term_id, g["homework__subject_id"])].append(percent)

    subject_marks: dict[tuple, Tally] = defaultdict(Tally)
    all_marks: dict[tuple, Tally] = defaultdict(Tally)  # (student, term) for daily-register terms
    for m in Attendance.objects.order_by().values("student_id", "status", "lesson__date", "lesson__subject_id"):
        for term_id in terms_of(m["student_id"], m["lesson__date"]):
            all_marks[(m["student_id"], term_id)].add(m["status"])
            if m["lesson__subject_id"] is not None:
                subject_marks[(m["student_id"], term_id, m["lesson__subject_id"])].add(m["status"])

    comments = {
        (r["student_id"], r["term_id"], r["subject_id"]): r["teacher_comment"]
        for r in StudentTermPerformance.objects.exclude(teacher_comment="")
        .order_by()
        .values("student_id", "term_id", "subject_id", "teacher_comment")
    }

    rows = {}
    for key in set(grades) | set(subject_marks) | set(comments):
        student_id, term_id, _subject_id = key
        school_id = students[student_id]
        school_rules = rules[school_id]
        percents = grades.get(key, [])
        if term_id in register_terms:
            tally = all_marks.get((student_id, term_id), Tally())
        else:
            tally = subject_marks.get(key, Tally())
        attended, counted = tally.attended(school_rules), tally.counted(school_rules)
        rows[key] = {
            "school_id": school_id,
            "average_grade": half_up(sum(percents, Fraction(0)) / len(percents)) if percents else None,
            "grades_count": len(percents),
            "attendance_percentage": percentage(attended, counted),
            "lessons_marked": tally.marked(),
            "lessons_attended": attended,
            "lessons_counted": counted,
            "teacher_comment": comments.get(key, ""),
        }
    return rows


def expected_teacher() -> dict[tuple, dict]:
    rules = _school_rules()
    teachers = {t["id"]: t for t in Teacher.objects.order_by().values("id", "school_id", "user_id")}
    teacher_of_user = {t["user_id"]: t["id"] for t in teachers.values()}
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])  # classes, homework, communications
    for lesson in Lesson.objects.order_by().values("teacher_id", "date"):
        counts[(lesson["teacher_id"], week_start(lesson["date"]))][0] += 1
    for h in Homework.objects.order_by().values("teacher_id", "assigned_date"):
        counts[(h["teacher_id"], week_start(h["assigned_date"]))][1] += 1
    for c in Communication.objects.filter(sender_id__in=teacher_of_user).order_by().values("sender_id", "sent_at"):
        teacher_id = teacher_of_user[c["sender_id"]]
        local_day = c["sent_at"].astimezone(rules[teachers[teacher_id]["school_id"]].tz).date()
        counts[(teacher_id, week_start(local_day))][2] += 1

    marks: dict[tuple, Tally] = defaultdict(Tally)
    for m in Attendance.objects.order_by().values("status", "lesson__teacher_id", "lesson__date"):
        marks[(m["lesson__teacher_id"], week_start(m["lesson__date"]))].add(m["status"])

    rows = {}
    for key, (classes, homework, communications) in counts.items():
        if not (classes or homework or communications):
            continue
        school_id = teachers[key[0]]["school_id"]
        tally = marks.get(key, Tally())
        attended, counted = tally.attended(rules[school_id]), tally.counted(rules[school_id])
        rows[key] = {
            "school_id": school_id,
            "classes_taught": classes,
            "homeworks_assigned": homework,
            "parent_communications": communications,
            "average_student_attendance": percentage(attended, counted),
            "lessons_attended": attended,
            "lessons_counted": counted,
        }
    return rows


def expected_school_weeks(teacher_rows: dict[tuple, dict]) -> dict[tuple, dict]:
    """Per school and week, from the teacher weeks: how many teachers have each count, and the median rate."""
    weeks = defaultdict(list)
    for (_, week), row in teacher_rows.items():
        weeks[(row["school_id"], week)].append(row)
    rows = {}
    for key, teachers in weeks.items():
        rates = [row["average_student_attendance"] for row in teachers if row["average_student_attendance"] is not None]
        rows[key] = {
            **{
                name: {str(value): count for value, count in Counter(row[name] for row in teachers).items()}
                for name in SCHOOL_WEEK_FIELDS[:3]
            },
            "average_student_attendance": (
                Decimal(statistics.median(rates)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if rates else None
            ),
        }
    return rows


# SPEC §9's defaults, restated here (not read from the engine).
FLAG_DEFAULTS = {
    "attendance_below": Decimal("90"),
    "attendance_dates": 20,
    "homework_missing": 3,
    "homework_days": 14,
    "grade_drop": Decimal("10"),
    "grade_window_days": 28,
    "grade_window_grades": 2,
    "term_average_below": Decimal("40"),
    "behaviour_score_at_most": 2,
    "behaviour_scores": 2,
    "behaviour_days": 14,
}


def _cents(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def _mean(percents: list[Fraction]) -> Decimal | None:
    return half_up(sum(percents, Fraction(0)) / len(percents)) if percents else None


def expected_flags() -> dict[tuple, dict]:
    """(student, reason) -> {school_id, as_of, figures} of every early-warning rule that holds (docs/metrics.md)."""
    rules = _school_rules()
    settings = {row.school_id: row for row in EarlyWarningSettings.objects.all()}
    school_settings, as_of = {}, {}
    for school_id, school_rules in rules.items():
        row = settings.get(school_id)
        school_settings[school_id] = {name: getattr(row, name) for name in FLAG_DEFAULTS} if row else FLAG_DEFAULTS
        today = datetime.datetime.now(datetime.UTC).astimezone(school_rules.tz).date()
        as_of[school_id] = (row.flags_as_of if row else None) or today
    students = {s["id"]: s for s in Student.objects.order_by().values("id", "school_id", "class_group_id")}

    day_marks: dict[int, dict[datetime.date, Tally]] = defaultdict(lambda: defaultdict(Tally))
    for m in Attendance.objects.order_by().values("student_id", "status", "lesson__date"):
        day_marks[m["student_id"]][m["lesson__date"]].add(m["status"])
    submitted = {
        (s["homework_id"], s["student_id"]): s["submitted_at"]
        for s in HomeworkSubmission.objects.order_by().values("homework_id", "student_id", "submitted_at")
    }
    homework_by_class: dict[int, list[dict]] = defaultdict(list)
    for h in Homework.objects.order_by().values("id", "class_group_id", "due_date"):
        homework_by_class[h["class_group_id"]].append(h)
    grades: dict[int, list[tuple]] = defaultdict(list)
    for g in (
        HomeworkSubmission.objects.filter(grade__isnull=False)
        .order_by()
        .values("student_id", "homework__due_date", "homework__max_score", "grade__score")
    ):
        percent = Fraction(g["grade__score"]) / Fraction(g["homework__max_score"]) * 100
        grades[g["student_id"]].append((g["homework__due_date"], percent))
    behaviour: dict[int, list[tuple]] = defaultdict(list)
    for r in StudentDailySummary.objects.filter(behavior_score__isnull=False).values(
        "student_id", "date", "behavior_score"
    ):
        behaviour[r["student_id"]].append((r["date"], r["behavior_score"]))
    terms = {t["id"]: t for t in AcademicTerm.objects.order_by().values("id", "school_id", "start_date", "end_date")}
    averages: dict[int, list[tuple]] = defaultdict(list)
    for (student_id, term_id, subject_id), row in expected_term().items():
        if row["average_grade"] is not None:
            averages[student_id].append((terms[term_id], subject_id, row["average_grade"]))

    rows = {}
    for student_id, student in students.items():
        school_id = student["school_id"]
        limits, day, school_rules = school_settings[school_id], as_of[school_id], rules[school_id]
        found = {}

        dates = sorted((d for d in day_marks[student_id] if d <= day), reverse=True)[: limits["attendance_dates"]]
        attended = sum(day_marks[student_id][d].attended(school_rules) for d in dates)
        counted = sum(day_marks[student_id][d].counted(school_rules) for d in dates)
        rate = percentage(attended, counted)
        if rate is not None and rate < limits["attendance_below"]:
            found["attendance"] = {
                "rate": _cents(rate),
                "attended": attended,
                "counted": counted,
                "dates": len(dates),
                "window_dates": limits["attendance_dates"],
                "threshold": _cents(limits["attendance_below"]),
            }

        due = missing = 0
        for h in homework_by_class.get(student["class_group_id"], []):
            if not day - datetime.timedelta(days=limits["homework_days"]) <= h["due_date"] < day:
                continue
            due += 1
            moment = submitted.get((h["id"], student_id))
            if moment is None or moment.astimezone(school_rules.tz).date() > h["due_date"]:
                missing += 1
        if missing >= limits["homework_missing"]:
            found["homework"] = {
                "missing": missing,
                "due": due,
                "days": limits["homework_days"],
                "threshold": limits["homework_missing"],
            }

        window = limits["grade_window_days"]
        recent_from = day - datetime.timedelta(days=window - 1)
        earlier_from = recent_from - datetime.timedelta(days=window)
        recent = [p for d, p in grades[student_id] if recent_from <= d <= day]
        earlier = [p for d, p in grades[student_id] if earlier_from <= d < recent_from]
        enough = min(len(recent), len(earlier)) >= limits["grade_window_grades"]
        drop = _mean(earlier) - _mean(recent) if enough else None
        sliding = drop is not None and drop >= limits["grade_drop"]
        low = sorted(
            (subject_id, average)
            for term, subject_id, average in averages[student_id]
            if term["school_id"] == school_id
            and term["start_date"] <= day <= term["end_date"]
            and average < limits["term_average_below"]
        )
        if sliding or low:
            found["grades"] = {
                "sliding": sliding,
                "recent_mean": _cents(_mean(recent)),
                "recent_grades": len(recent),
                "earlier_mean": _cents(_mean(earlier)),
                "earlier_grades": len(earlier),
                "drop": _cents(drop),
                "window_days": window,
                "window_grades": limits["grade_window_grades"],
                "drop_threshold": _cents(limits["grade_drop"]),
                "low_subjects": [{"subject_id": s, "average": _cents(a)} for s, a in low],
                "average_threshold": _cents(limits["term_average_below"]),
            }

        first = day - datetime.timedelta(days=limits["behaviour_days"] - 1)
        low_scores = sum(
            1 for d, score in behaviour[student_id] if first <= d <= day and score <= limits["behaviour_score_at_most"]
        )
        if low_scores >= limits["behaviour_scores"]:
            found["behaviour"] = {
                "low_scores": low_scores,
                "at_most": limits["behaviour_score_at_most"],
                "days": limits["behaviour_days"],
                "threshold": limits["behaviour_scores"],
            }

        for reason, figures in found.items():
            rows[(student_id, reason)] = {"school_id": school_id, "as_of": day, "figures": figures}
    return rows


def expected_grading() -> dict[tuple, dict]:
    """Per teacher and due date: the teacher's homework due that day with a submission not graded, and those
    submissions (no row where every submission is graded)."""
    graded = set(Grade.objects.values_list("submission_id", flat=True))
    homework = {h["id"]: h for h in Homework.objects.order_by().values("id", "teacher_id", "due_date")}
    school_of = dict(Teacher.objects.values_list("id", "school_id"))
    ungraded: dict[tuple, list[int]] = defaultdict(list)  # key -> the homework id of each ungraded submission
    for submission_id, homework_id in HomeworkSubmission.objects.values_list("id", "homework_id"):
        if submission_id not in graded:
            h = homework[homework_id]
            ungraded[(h["teacher_id"], h["due_date"])].append(homework_id)
    return {
        key: {
            "school_id": school_of[key[0]],
            "homework_ungraded": len(set(homework_ids)),
            "submissions_ungraded": len(homework_ids),
        }
        for key, homework_ids in ungraded.items()
    }


def expected_all() -> dict[str, dict]:
    teacher = expected_teacher()
    return {
        "daily": expected_daily(),
        "term": expected_term(),
        "teacher": teacher,
        "school_week": expected_school_weeks(teacher),
        "grading": expected_grading(),
        "flags": expected_flags(),
    }


def actual_all() -> dict[str, dict]:
    """The summary tables as they are, in the oracle's shape (ids, rank and timestamps left out)."""
    return {
        "daily": {
            (r["student_id"], r["date"]): {f: r[f] for f in DAILY_FIELDS}
            for r in StudentDailySummary.objects.order_by().values("student_id", "date", *DAILY_FIELDS)
        },
        "term": {
            (r["student_id"], r["term_id"], r["subject_id"]): {f: r[f] for f in TERM_FIELDS}
            for r in StudentTermPerformance.objects.order_by().values(
                "student_id", "term_id", "subject_id", *TERM_FIELDS
            )
        },
        "teacher": {
            (r["teacher_id"], r["week_start"]): {f: r[f] for f in TEACHER_FIELDS}
            for r in TeacherPerformanceMetric.objects.order_by().values("teacher_id", "week_start", *TEACHER_FIELDS)
        },
        "school_week": {
            (r["school_id"], r["week_start"]): {f: r[f] for f in SCHOOL_WEEK_FIELDS}
            for r in SchoolTeacherWeek.objects.order_by().values("school_id", "week_start", *SCHOOL_WEEK_FIELDS)
        },
        "grading": {
            (r["teacher_id"], r["due_date"]): {f: r[f] for f in GRADING_FIELDS}
            for r in TeacherGradingDay.objects.order_by().values("teacher_id", "due_date", *GRADING_FIELDS)
        },
        "flags": {
            (r["student_id"], r["reason"]): {f: r[f] for f in FLAG_FIELDS}
            for r in StudentFlag.objects.order_by().values("student_id", "reason", *FLAG_FIELDS)
        },
    }


def differences(expected: dict[str, dict], actual: dict[str, dict]) -> list[str]:
    """Human-readable differences between two sets of summary rows (empty when equal), over the tables both name
    (a hand-worked set may leave the flags out)."""
    out = []
    for table in [
        name
        for name in ("daily", "term", "teacher", "school_week", "grading", "flags")
        if name in expected and name in actual
    ]:
        want, got = expected[table], actual[table]
        for key in sorted(set(want) | set(got), key=repr):
            if key not in got:
                out.append(f"{table} {key}: missing, expected {want[key]}")
            elif key not in want:
                out.append(f"{table} {key}: unexpected row {got[key]}")
            else:
                diff = {f: (want[key][f], got[key][f]) for f in want[key] if want[key][f] != got[key][f]}
                if diff:
                    out.append(f"{table} {key}: (expected, got) {diff}")
    return out


def assert_summaries_exact() -> None:
    """Every summary table equals the oracle's recomputation, row for row."""
    diff = differences(expected_all(), actual_all())
    assert not diff, "summary tables differ from the oracle:\n" + "\n".join(diff)
