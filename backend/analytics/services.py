"""Services that write the summary tables, and the teacher inputs kept on their rows.

The engine lives in ``analytics.engine``: one module per summary table (``daily``, ``term``, ``teacher``,
``term_attendance``, ``school_day``: its definition, its compute function and the discovery of its keys),
the machinery they share (``machinery``: locks, the upsert of differences) and ``refresh``, which brings
every table up to date for the keys a change names (``keys_refresh``) or for whole schools
(``analytics_rebuild``, ``analytics_verify``). Every path that changes source data ends there:

- ``daily_summaries_refresh(keys={(student_id, date)})``
- ``term_performances_refresh(keys={(student_id, term_id, subject_id)})``
- ``teacher_metrics_refresh(keys={(teacher_id, week_start)})``
- ``term_attendance_refresh(keys={(student_id, term_id)})`` and ``school_days_refresh(keys={(school_id, date)})``,
  the rollups of the daily rows (and of fees) behind the dashboards

This module names the engine's public functions for the other apps, and holds the teacher inputs
(behaviour scores, comments), which write a summary row's input field under the engine's lock, and the
save of a school's early-warning thresholds, which recomputes its flags.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from analytics.engine.daily import DAILY, daily_summaries_refresh
from analytics.engine.flags import flags_refresh
from analytics.engine.machinery import Difference, RefreshResult, lock
from analytics.engine.refresh import MAX_BATCH_SIZE, analytics_rebuild, analytics_verify, keys_refresh, rollup_keys
from analytics.engine.school_day import school_days_refresh
from analytics.engine.teacher import teacher_metrics_refresh
from analytics.engine.term import TERM, term_performances_refresh
from analytics.engine.term_attendance import term_attendance_refresh
from analytics.models import EarlyWarningSettings, StudentDailySummary, StudentTermPerformance
from core.bounds import school_date_errors
from core.conflicts import conflict_retried
from schools.models import AcademicTerm, School, Student

__all__ = [
    "MAX_BATCH_SIZE",
    "Difference",
    "RefreshResult",
    "analytics_rebuild",
    "analytics_verify",
    "behavior_score_problem",
    "behavior_score_set",
    "daily_summaries_refresh",
    "early_warning_settings_delete",
    "early_warning_settings_save",
    "flags_refresh",
    "keys_refresh",
    "rollup_keys",
    "school_days_refresh",
    "teacher_comment_set",
    "teacher_metrics_refresh",
    "term_attendance_refresh",
    "term_performances_refresh",
]


def behavior_score_problem(*, school: School, score: int | None) -> str | None:
    """Why a behaviour score is not acceptable at the school (outside its range), or None."""
    low, high = school.behavior_score_min, school.behavior_score_max
    if score is not None and not low <= score <= high:
        return f"The school's behaviour scores run from {low} to {high}."
    return None


@conflict_retried
def behavior_score_set(*, student: Student, day: datetime.date, score: int | None) -> StudentDailySummary | None:
    """Set (or clear, with None) a student's behaviour score for a day; the row's other fields stay the engine's."""
    school = student.school
    problem = behavior_score_problem(school=school, score=score)
    if problem:
        raise ValidationError({"score": problem})
    # A score is for a school day that has been: within a term, not after today.
    if not school.terms.filter(start_date__lte=day, end_date__gte=day).exists():
        raise ValidationError({"date": f"{day} is not within any term of the school."})
    errors = school_date_errors(school, dates={"date": day}, past={"date"})
    if errors:
        raise ValidationError(errors)
    key = (student.pk, day)
    with transaction.atomic():
        # The engine's lock of the key: a recomputation running now cannot delete the row under us.
        lock(DAILY.locks({key}))
        StudentDailySummary.objects.update_or_create(
            student=student,
            date=day,
            defaults={"behavior_score": score},
            create_defaults={"school": school, "behavior_score": score},
        )
        daily_summaries_refresh(keys={key})  # fills a new row, or drops one that nothing keeps any more
        flags_refresh(student_ids={student.pk})  # the behaviour flag counts the scores
    return StudentDailySummary.objects.filter(student=student, date=day).first()


@conflict_retried
def teacher_comment_set(
    *, student: Student, term: AcademicTerm, subject, comment: str
) -> StudentTermPerformance | None:
    """Set (or clear, with "") the teacher's comment on a student's term in a subject."""
    errors = {}
    if term.school_id != student.school_id:
        errors["term"] = "The term belongs to another school."
    if subject.school_id != student.school_id:
        errors["subject"] = "The subject belongs to another school."
    if errors:
        raise ValidationError(errors)
    key = (student.pk, term.pk, subject.pk)
    with transaction.atomic():
        lock(TERM.locks({key}))
        StudentTermPerformance.objects.update_or_create(
            student=student,
            term=term,
            subject=subject,
            defaults={"teacher_comment": comment},
            create_defaults={"school_id": student.school_id, "teacher_comment": comment},
        )
        term_performances_refresh(keys={key})
    return StudentTermPerformance.objects.filter(student=student, term=term, subject=subject).first()


def early_warning_settings_save(*, settings: EarlyWarningSettings) -> None:
    """Save a school's early-warning thresholds (validated) and recompute its students' flags with them."""
    settings.full_clean()
    with transaction.atomic():
        settings.save()
        flags_refresh(student_ids=Student.objects.filter(school_id=settings.school_id).values_list("id", flat=True))


def early_warning_settings_delete(*, settings: EarlyWarningSettings) -> None:
    """Delete a school's early-warning thresholds (back to the defaults) and recompute its students' flags."""
    with transaction.atomic():
        settings.delete()
        flags_refresh(student_ids=Student.objects.filter(school_id=settings.school_id).values_list("id", flat=True))
