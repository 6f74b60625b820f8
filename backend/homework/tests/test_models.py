"""The database keeps each grade's copy of its homework's maximum (both databases)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from homework.models import Grade, Homework
from tests.factories import GradeFactory, HomeworkFactory, SubmissionFactory

pytestmark = pytest.mark.django_db


def grade_row():
    return Grade.objects.values_list("score", "max_score").get()


def test_raising_max_score_by_an_update_reaches_the_grades():
    grade = GradeFactory(score=Decimal("15"))
    Homework.objects.filter(pk=grade.submission.homework_id).update(max_score=Decimal("25"))
    assert grade_row() == (Decimal("15"), Decimal("25"))


def test_lowering_max_score_below_a_grade_is_refused_by_the_database():
    grade = GradeFactory(score=Decimal("15"))
    with pytest.raises(IntegrityError, match="grade_score_within_max"), transaction.atomic():
        Homework.objects.filter(pk=grade.submission.homework_id).update(max_score=Decimal("10"))
    assert Homework.objects.get().max_score == Decimal("20")
    assert grade_row() == (Decimal("15"), Decimal("20"))


def test_lowering_max_score_below_a_grade_by_save_is_a_validation_error_of_the_field():
    grade = GradeFactory(score=Decimal("15"))
    homework = Homework.objects.get(pk=grade.submission.homework_id)
    homework.max_score = Decimal("10")
    with pytest.raises(ValidationError) as refused:
        homework.save()  # without full_clean: the database refuses, said as the field's error
    assert refused.value.message_dict == {
        "max_score": ["A grade of 15.00 has already been given; the maximum cannot be lower."]
    }
    assert Homework.objects.get().max_score == Decimal("20")


def test_a_grade_cannot_carry_another_maximum_than_its_homework():
    grade = GradeFactory(score=Decimal("15"))
    Grade.objects.filter(pk=grade.pk).update(max_score=Decimal("99"))
    assert grade_row() == (Decimal("15"), Decimal("20"))
    with pytest.raises(IntegrityError, match="grade_score_within_max"), transaction.atomic():
        Grade.objects.filter(pk=grade.pk).update(score=Decimal("30"), max_score=Decimal("99"))
    assert grade_row() == (Decimal("15"), Decimal("20"))


def test_a_submission_moved_to_another_homework_takes_its_maximum():
    grade = GradeFactory(score=Decimal("8"))
    other = HomeworkFactory(class_group=grade.submission.homework.class_group, max_score=Decimal("10"))
    with connection.cursor() as cursor:  # no model path moves a submission; the database still follows
        cursor.execute(
            "UPDATE homework_homeworksubmission SET homework_id = %s WHERE id = %s", [other.pk, grade.submission_id]
        )
    assert grade_row() == (Decimal("8"), Decimal("10"))
    assert SubmissionFactory._meta.model.objects.get().homework_id == other.pk


@pytest.mark.django_db(transaction=True)
def test_the_migration_brings_the_copies_in_line_and_keeps_a_grade_above_its_maximum():
    right, stale, above = (GradeFactory(score=Decimal(score)) for score in ("8", "9", "15"))
    executor = MigrationExecutor(connection)
    executor.migrate([("homework", "0001_initial")])
    try:
        with connection.cursor() as cursor:  # what the old code could leave behind
            cursor.execute("UPDATE homework_grade SET max_score = 30 WHERE id = %s", [stale.pk])
            cursor.execute("UPDATE homework_homework SET max_score = 10 WHERE id = %s", [above.submission.homework_id])
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([("homework", "0002_grade_max_score_triggers")])

    rows = dict(Grade.objects.values_list("pk", "max_score"))
    assert rows == {right.pk: Decimal("20"), stale.pk: Decimal("20"), above.pk: Decimal("20")}
    assert Homework.objects.get(pk=above.submission.homework_id).max_score == Decimal("10")
