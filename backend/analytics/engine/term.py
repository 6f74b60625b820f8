"""StudentTermPerformance: a student's term in a subject (average grade, attendance); rank and comment kept."""

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q

from analytics.definitions import attendance_counts, mean_percentage
from analytics.engine.machinery import (
    KEPT_BY_INPUT,
    STORED_COMPILED_MAX,
    STUDENT_LOCK,
    Computed,
    RefreshResult,
    Table,
    refresh,
    rules,
)
from analytics.keys import GRADES, MARKS
from analytics.models import StudentTermPerformance
from attendance.models import Attendance, Lesson
from core.compiled import CompiledRead
from homework.models import Grade, HomeworkSubmission
from schools.models import AcademicTerm

TermKey = tuple[int, int, int]


TERM = Table(
    StudentTermPerformance,
    ("student_id", "term_id", "subject_id"),
    {
        "average_grade": None,
        "grades_count": 0,
        "attendance_percentage": None,
        "lessons_marked": 0,
        "lessons_attended": 0,
        "lessons_counted": 0,
    },
    {"teacher_comment": ""},
    lock_class=STUDENT_LOCK,
    lock_width=1,
)


def term_performances_refresh(*, keys: Iterable[TermKey], dry_run: bool = False) -> RefreshResult:
    """Recompute the derived fields of StudentTermPerformance rows of (student_id, term_id, subject_id) keys."""
    return refresh(TERM, keys, term_compute, dry_run=dry_run)


def _subject_lessons_in_term() -> Exists:
    return Exists(
        Lesson.objects.filter(
            class_group__school_id=OuterRef("school_id"),
            subject__isnull=False,
            date__gte=OuterRef("start_date"),
            date__lte=OuterRef("end_date"),
        )
    )


def _terms_query(*, term_ids: list[int]):
    return (
        AcademicTerm.objects.filter(id__in=term_ids)
        .order_by()
        .annotate(has_subject_lessons=_subject_lessons_in_term())
        .values(
            "id",
            "school_id",
            "start_date",
            "end_date",
            "has_subject_lessons",
            "school__late_counts_as_present",
            "school__excused_absences_excluded",
        )
    )


def _grades_query(*, student_ids: list[int], subject_ids: list[int], first: datetime.date, last: datetime.date):
    return (
        Grade.objects.filter(
            submission__student_id__in=student_ids,
            submission__homework__subject_id__in=subject_ids,
            submission__homework__due_date__range=(first, last),
        )
        .order_by()
        .values_list(
            "submission__student_id",
            "submission__homework__subject_id",
            "submission__homework__due_date",
            "score",
            "submission__homework__max_score",
        )
    )


def _marks_query(
    *, student_ids: list[int], first: datetime.date, last: datetime.date, subject_ids: list[int] | None = None
):
    """The students' marks in the period, of the subjects (every mark, for a daily register, without)."""
    lessons = Q() if subject_ids is None else Q(lesson__subject_id__in=subject_ids)
    return (
        Attendance.objects.filter(lessons, student_id__in=student_ids, lesson__date__range=(first, last))
        .order_by()
        .values_list("student_id", "lesson__subject_id", "lesson__date", "status")
    )


# Compiled once per number of the keys' students, subjects and terms (up to STORED_COMPILED_MAX; more: as usual).
_TERMS = CompiledRead(_terms_query, max_length=STORED_COMPILED_MAX, term_ids=list)
_STUDENTS_SUBJECTS_PERIOD = {"student_ids": list, "subject_ids": list, "first": datetime.date, "last": datetime.date}
_GRADES = CompiledRead(_grades_query, max_length=STORED_COMPILED_MAX, **_STUDENTS_SUBJECTS_PERIOD)
_MARKS = CompiledRead(_marks_query, max_length=STORED_COMPILED_MAX, **_STUDENTS_SUBJECTS_PERIOD)

_TERM_GRADES = ("average_grade", "grades_count")
_TERM_ATTENDANCE = ("attendance_percentage", "lessons_marked", "lessons_attended", "lessons_counted")


def term_compute(keys: set[TermKey], *, stored: dict | None = None, changed=frozenset()) -> Computed:
    """Term rows of the keys. When only marks (only grades) changed, a stored row keeps its grade
    (attendance) figures."""
    student_ids = {key[0] for key in keys}
    subject_ids = {key[2] for key in keys}
    terms = {row["id"]: row for row in _TERMS(term_ids=sorted({key[1] for key in keys}))}
    if not terms:
        return {}
    period = (min(t["start_date"] for t in terms.values()), max(t["end_date"] for t in terms.values()))
    stored = stored or {}
    kept_grades = {key: row for key, row in stored.items() if changed == {MARKS}}
    kept_attendance = {key: row for key, row in stored.items() if changed == {GRADES}}

    grades = defaultdict(list)  # (student_id, subject_id) -> [(due_date, score, max_score)]
    if any(key not in kept_grades for key in keys):
        for student_id, subject_id, due, score, maximum in _GRADES(
            student_ids=sorted(student_ids), subject_ids=sorted(subject_ids), first=period[0], last=period[1]
        ):
            grades[student_id, subject_id].append((due, score, maximum))

    # Marks by (student, subject); the student's every mark under (student, None) for terms whose
    # school takes a daily register only.
    daily_register = any(not t["has_subject_lessons"] for t in terms.values())
    marks = defaultdict(list)
    if any(key not in kept_attendance for key in keys):
        subjects = {} if daily_register else {"subject_ids": sorted(subject_ids)}
        for student_id, subject_id, day, status in _MARKS(
            student_ids=sorted(student_ids), first=period[0], last=period[1], **subjects
        ):
            if subject_id is not None and subject_id in subject_ids:
                marks[student_id, subject_id].append((day, status))
            if daily_register:
                marks[student_id, None].append((day, status))

    computed = {}
    for key in keys:
        student_id, term_id, subject_id = key
        term = terms.get(term_id)
        if term is None:
            continue
        start, end = term["start_date"], term["end_date"]
        if key in kept_grades:
            grade_figures = {name: kept_grades[key][name] for name in _TERM_GRADES}
        else:
            scores = [
                (score, maximum)
                for due, score, maximum in grades.get((student_id, subject_id), [])
                if start <= due <= end
            ]
            grade_figures = {"average_grade": mean_percentage(scores), "grades_count": len(scores)}
        if key in kept_attendance:
            attendance_figures = {name: kept_attendance[key][name] for name in _TERM_ATTENDANCE}
        else:
            # A daily-register school: the row exists for its grades (or a comment); attendance is the day's.
            by = subject_id if term["has_subject_lessons"] else None
            statuses = [status for day, status in marks.get((student_id, by), []) if start <= day <= end]
            counts = attendance_counts(statuses, rules(term))
            attendance_figures = {
                "attendance_percentage": counts.rate,
                "lessons_marked": counts.marked,
                "lessons_attended": counts.attended,
                "lessons_counted": counts.counted,
            }
        graded = grade_figures["grades_count"] > 0
        if not graded and not attendance_figures["lessons_marked"]:
            continue
        computed[key] = (
            term["school_id"] if graded or term["has_subject_lessons"] else KEPT_BY_INPUT,
            {**grade_figures, **attendance_figures},
        )
    return computed


def subject_rows(pairs: set[tuple[int, int]]) -> set[TermKey]:
    """The term rows stored for (student, term) pairs."""
    return {
        key
        for key in StudentTermPerformance.objects.filter(
            student_id__in={student for student, _ in pairs}, term_id__in={term for _, term in pairs}
        ).values_list("student_id", "term_id", "subject_id")
        if key[:2] in pairs
    }


def term_keys_discover(*, term_ids: Iterable[int], student_ids: Iterable[int] | None = None) -> set:
    term_ids = set(term_ids)
    student_filter = {"student_id__in": set(student_ids)} if student_ids is not None else {}
    keys = set()
    for term in AcademicTerm.objects.filter(id__in=term_ids):
        period = (term.start_date, term.end_date)
        keys.update(
            (student_id, term.pk, subject_id)
            for student_id, subject_id in Attendance.objects.filter(
                lesson__class_group__school_id=term.school_id,
                lesson__date__range=period,
                lesson__subject__isnull=False,
                **student_filter,
            )
            .values_list("student_id", "lesson__subject_id")
            .distinct()
        )
        keys.update(
            (student_id, term.pk, subject_id)
            for student_id, subject_id in HomeworkSubmission.objects.filter(
                homework__class_group__school_id=term.school_id,
                homework__due_date__range=period,
                grade__isnull=False,
                **student_filter,
            )
            .values_list("student_id", "homework__subject_id")
            .distinct()
        )
    keys.update(
        StudentTermPerformance.objects.filter(term_id__in=term_ids, **student_filter).values_list(
            "student_id", "term_id", "subject_id"
        )
    )
    return keys
