"""The lock order on PostgreSQL: two writers of the same rows wait for one another, never deadlock or interleave.

Each test is made deterministic with two threads (each on its own connection): the first is stopped at
the point where, before the fix, it held a child row and was about to ask for its parent; the second then
runs until PostgreSQL reports it waiting for a lock (``pg_stat_activity``) or it is done; then the first
goes on. A short ``deadlock_timeout`` and ``lock_timeout`` make a regression fail in a second or two, not
hang. Documented order (docs/architecture.md): homework -> submission -> grade, then the advisory locks.
"""

from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from analytics import receivers
from analytics.models import StudentTermPerformance
from analytics.services import analytics_verify
from analytics.tests.helpers import small_class
from homework.models import Grade, Homework, HomeworkSubmission
from homework.services import grade_delete, grade_record
from tests.concurrency import Pause, Writer, run_against

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def graded(score: str = "10"):
    w = small_class(1)
    submission = HomeworkSubmission.objects.create(homework=w.homework, student=w.students[0])
    grade = Grade.objects.create(submission=submission, score=Decimal(score)) if score else None
    return w, submission, grade


def pause_on_full_clean(pause: Pause):
    """grade_record stops after taking its locks, just before it validates and saves the grade."""
    full_clean = Grade.full_clean

    def stopping(self, *args, **kwargs):
        pause.stop()
        return full_clean(self, *args, **kwargs)

    return mock.patch.object(Grade, "full_clean", stopping)


def test_deleting_a_grade_while_the_submission_is_regraded_waits_instead_of_deadlocking():
    # Before: grade_record held the submission and waited for the grade row (the receivers' old values),
    # while grade_delete held the grade row (grade_keys) and waited for the submission: a deadlock, a 500.
    _, submission, grade = graded("10")
    pause = Pause("grader")
    grader = Writer("grader", lambda: grade_record(submission=submission, score=Decimal("12"), graded_by=None))
    deleter = Writer("deleter", lambda: grade_delete(grade=grade))
    with pause_on_full_clean(pause):
        state = run_against(grader, pause, deleter)

    assert grader.error is None, grader.error
    assert deleter.error is None, deleter.error
    assert state == "blocked"  # the delete waited for the re-grade (for the homework row, taken first)
    assert not Grade.objects.exists()
    assert not StudentTermPerformance.objects.filter(grades_count__gt=0).exists()
    assert analytics_verify() == []


def test_an_admin_edit_of_max_score_while_a_grade_is_saved_waits_instead_of_deadlocking():
    # Before: the re-grade held the grade row and grade_keys waited for the homework row, while
    # Homework.save held the homework row and waited for the grade row to update its copied max_score.
    w, submission, _ = graded("10")
    pause = Pause("grader")
    old_values = receivers._old_values

    def stopping(*args, **kwargs):
        values = old_values(*args, **kwargs)
        pause.stop()  # the grade row is locked now
        return values

    def admin_edit():
        # What the admin's change form does: validate (clean) and save in one transaction.
        with transaction.atomic():
            homework = Homework.objects.get(pk=w.homework.pk)
            homework.max_score = Decimal("25")
            homework.full_clean()
            homework.save()

    grader = Writer("grader", lambda: grade_record(submission=submission, score=Decimal("12"), graded_by=None))
    editor = Writer("editor", admin_edit)
    with mock.patch.object(receivers, "_old_values", stopping):
        state = run_against(grader, pause, editor)

    assert grader.error is None, grader.error
    assert editor.error is None, editor.error
    assert state == "blocked"
    assert Grade.objects.values_list("score", "max_score").get() == (Decimal("12.00"), Decimal("25.00"))
    # 12 out of 25 = 48.00 %.
    assert StudentTermPerformance.objects.get(student=w.students[0]).average_grade == Decimal("48.00")
    assert analytics_verify() == []


def test_max_score_lowered_while_a_grade_above_it_is_recorded_is_refused_naming_the_field():
    # The race: max_score 20 -> 10 in the admin while a grade of 15 is recorded. Before, the grade
    # was stored as 15/20 under a homework out of 10 (the CHECK compared it with a stale copy).
    w, submission, _ = graded(score="")
    pause = Pause("grader")

    def admin_edit():
        with transaction.atomic():
            homework = Homework.objects.get(pk=w.homework.pk)
            homework.max_score = Decimal("10")
            homework.full_clean()
            homework.save()

    grader = Writer("grader", lambda: grade_record(submission=submission, score=Decimal("15"), graded_by=None))
    editor = Writer("editor", admin_edit)
    with pause_on_full_clean(pause):
        run_against(grader, pause, editor)

    assert grader.error is None, grader.error
    assert isinstance(editor.error, ValidationError), editor.error
    assert editor.error.message_dict == {
        "max_score": ["A grade of 15.00 has already been given; the maximum cannot be lower."]
    }
    assert Homework.objects.get().max_score == Decimal("20.00")
    assert Grade.objects.values_list("score", "max_score").get() == (Decimal("15.00"), Decimal("20.00"))
    assert analytics_verify() == []


def test_max_score_lowered_by_any_update_while_a_grade_is_recorded_is_refused_by_the_database():
    # No validation at all (a queryset update): the database itself refuses a maximum below a grade.
    w, submission, _ = graded(score="")
    pause = Pause("grader")
    grader = Writer("grader", lambda: grade_record(submission=submission, score=Decimal("15"), graded_by=None))
    updater = Writer("updater", lambda: Homework.objects.filter(pk=w.homework.pk).update(max_score=Decimal("10")))
    with pause_on_full_clean(pause):
        run_against(grader, pause, updater)

    assert grader.error is None, grader.error
    assert isinstance(updater.error, IntegrityError), updater.error
    assert "grade_score_within_max" in str(updater.error)
    assert Homework.objects.get().max_score == Decimal("20.00")
    assert Grade.objects.values_list("score", "max_score").get() == (Decimal("15.00"), Decimal("20.00"))


def test_a_grade_recorded_while_max_score_is_being_lowered_is_checked_against_the_new_maximum():
    # The other order: the edit holds the homework row when the grade comes. Before, the grade read the
    # committed maximum (20) without waiting and was stored as 15/20 after the maximum became 10.
    w, submission, _ = graded(score="")
    pause = Pause("editor")

    def admin_edit():
        with transaction.atomic():
            homework = Homework.objects.get(pk=w.homework.pk)
            homework.max_score = Decimal("10")
            homework.full_clean()
            homework.save()
            pause.stop()  # saved, not yet committed

    editor = Writer("editor", admin_edit)
    grader = Writer("grader", lambda: grade_record(submission=submission, score=Decimal("15"), graded_by=None))
    state = run_against(editor, pause, grader)

    assert editor.error is None, editor.error
    assert state == "blocked"
    assert isinstance(grader.error, ValidationError), grader.error
    assert grader.error.message_dict == {"score": ["The score must be between 0 and 10.00."]}
    assert Homework.objects.get().max_score == Decimal("10.00")
    assert not Grade.objects.exists()
    assert analytics_verify() == []
