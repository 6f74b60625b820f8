"""A roll call and an admin's mark of the same student at once on PostgreSQL: a form error, never a 500."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from attendance import services
from attendance.models import Attendance
from tests.concurrency import Pause, Writer, run_against
from tests.factories import LessonFactory, StudentFactory, TermFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_an_admin_mark_added_during_a_roll_call_of_the_lesson_is_refused_as_a_duplicate():
    # Before: the admin's form checked "no mark yet" before the roll call committed, then its insert
    # met the roll call's mark: an IntegrityError, a 500. Now its validation waits for the lesson first.
    lesson = LessonFactory()
    TermFactory(school=lesson.class_group.school)
    student = StudentFactory(school=lesson.class_group.school, class_group=lesson.class_group)
    pause = Pause("roll call")
    send = services.marks_bulk_changed.send

    def stopping_send(*args, **kwargs):
        pause.stop()  # the marks are written, not yet committed
        return send(*args, **kwargs)

    def office():  # what the admin's add form does: validate (unique check included) and save in one transaction
        with transaction.atomic():
            mark = Attendance(lesson=lesson, student=student, status="LATE")
            mark.full_clean()
            mark.save()

    roll_call = Writer(
        "roll call",
        lambda: services.roll_call_record(
            lesson=lesson, marks=[{"student_id": student.pk, "status": "PRESENT"}], recorded_by=None
        ),
    )
    admin = Writer("office", office)
    with mock.patch.object(services.marks_bulk_changed, "send", stopping_send):
        state = run_against(roll_call, pause, admin)

    assert roll_call.error is None, roll_call.error
    assert state == "blocked"
    assert isinstance(admin.error, ValidationError), admin.error
    assert list(admin.error.message_dict) == ["__all__"]
    assert "already exists" in admin.error.messages[0]
    assert list(Attendance.objects.values_list("student_id", "status")) == [(student.pk, "PRESENT")]
