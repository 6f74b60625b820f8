"""A write that loses a race (deadlock, serialization failure) is retried whole, then answered 503, never 500.

The conflicts are simulated: an OperationalError caused by a driver error carrying the SQLSTATE, as
PostgreSQL's driver raises it. (The real deadlocks are in analytics/tests/test_lock_order.py.)
"""

from decimal import Decimal
from unittest import mock

import pytest
from django.db import OperationalError, transaction

from core import conflicts
from homework.models import Grade
from tests import factories
from tests.admin_forms import admin_url, post_changeform
from tests.concurrency import Pause, Writer, run_against


class DriverError(Exception):
    def __init__(self, message: str, sqlstate: str):
        super().__init__(message)
        self.sqlstate = sqlstate


def conflict(sqlstate: str = "40P01", message: str = "deadlock detected") -> OperationalError:
    try:
        raise OperationalError(message) from DriverError(message, sqlstate)
    except OperationalError as error:
        return error


def failing(times: int, error_factory=conflict):
    """A side effect that raises the error the first ``times`` calls, then calls through."""
    calls = []

    def side_effect(original):
        def call(*args, **kwargs):
            calls.append(1)
            if len(calls) <= times:
                raise error_factory()
            return original(*args, **kwargs)

        return call

    return calls, side_effect


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(conflicts.time, "sleep", lambda seconds: None)


def test_write_conflict_names_the_retried_and_unavailable_states():
    assert conflicts.write_conflict(conflict("40P01")) == "deadlock"
    assert conflicts.write_conflict(conflict("40001", "could not serialize access")) == "serialization failure"
    assert conflicts.write_conflict(conflict("55P03", "canceling statement due to lock timeout")) == (
        "lock not available"
    )
    assert conflicts.write_conflict(conflict("08006", "connection failure")) is None
    assert conflicts.write_conflict(OperationalError("database is locked")) == "database busy"  # SQLite
    assert conflicts.write_conflict(OperationalError("no such table: x")) is None
    assert conflicts.write_conflict(ValueError("deadlock")) is None


@pytest.mark.django_db(transaction=True)
def test_a_deadlocked_write_is_run_again_and_its_second_attempt_counts():
    calls = []

    @conflicts.conflict_retried
    def write():
        calls.append(1)
        if len(calls) == 1:
            raise conflict()
        return "written"

    assert write() == "written"
    assert len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_the_retry_is_bounded_and_other_errors_are_not_retried():
    calls = []

    @conflicts.conflict_retried
    def always(error):
        calls.append(1)
        raise error

    with pytest.raises(OperationalError, match="deadlock"):
        always(conflict())
    assert len(calls) == conflicts.ATTEMPTS == 3
    calls.clear()
    with pytest.raises(OperationalError, match="lock timeout"):
        always(conflict("55P03", "canceling statement due to lock timeout"))
    assert len(calls) == 1
    calls.clear()
    with pytest.raises(OperationalError, match="connection failure"):
        always(conflict("08006", "connection failure"))
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_a_write_inside_the_callers_transaction_is_left_to_the_caller():
    calls = []

    @conflicts.conflict_retried
    def write():
        calls.append(1)
        raise conflict()

    with pytest.raises(OperationalError), transaction.atomic():
        write()
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_a_grade_that_deadlocks_once_is_saved_by_its_retry(api_client, teacher, class_group):
    submission = factories.SubmissionFactory(homework__class_group=class_group, homework__teacher=teacher)
    api_client.force_authenticate(teacher.user)
    calls, side_effect = failing(1)
    with mock.patch.object(Grade, "full_clean", side_effect(Grade.full_clean), autospec=False):
        response = api_client.post(f"/api/submissions/{submission.pk}/grade/", {"score": "17.5"}, format="json")
    assert response.status_code == 201, response.content
    assert len(calls) == 2
    assert Grade.objects.values_list("score", "max_score").get() == (Decimal("17.50"), Decimal("20.00"))


@pytest.mark.django_db(transaction=True)
def test_a_grade_that_keeps_deadlocking_is_answered_503_with_a_retry_hint(api_client, teacher, class_group):
    submission = factories.SubmissionFactory(homework__class_group=class_group, homework__teacher=teacher)
    api_client.force_authenticate(teacher.user)
    calls, side_effect = failing(99)
    with mock.patch.object(Grade, "full_clean", side_effect(Grade.full_clean)):
        response = api_client.post(f"/api/submissions/{submission.pk}/grade/", {"score": "17.5"}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "detail": "The change met a concurrent change (deadlock) and was not saved; please try again.",
        "code": "write_conflict",
    }
    assert len(calls) == 3
    assert not Grade.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_admin_save_that_deadlocks_is_answered_503_not_500(admin_client):
    submission = factories.SubmissionFactory(homework__max_score=Decimal("20"))
    calls, side_effect = failing(99)
    with mock.patch.object(Grade, "full_clean", side_effect(Grade.full_clean)):
        response = post_changeform(admin_client, admin_url(Grade, "add"), {"submission": submission.pk, "score": "12"})
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "write_conflict"
    assert len(calls) == 1  # the admin writes through its forms, not the services: the office sends it again
    assert not Grade.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_is_recognised_from_the_drivers_error():
    """Two transactions taking two rows in opposite orders: PostgreSQL's error is named a deadlock."""
    first_row, second_row = factories.SchoolFactory(), factories.SchoolFactory()
    pause = Pause("first")

    def lock(name: str, rows) -> None:
        with transaction.atomic():
            for index, row in enumerate(rows):
                list(type(row).objects.select_for_update().filter(pk=row.pk))
                if index == 0 and name == "first":
                    pause.stop()

    first = Writer("first", lambda: lock("first", [first_row, second_row]))
    second = Writer("second", lambda: lock("second", [second_row, first_row]))
    run_against(first, pause, second)

    [error] = [writer.error for writer in (first, second) if writer.error is not None]
    assert conflicts.write_conflict(error) == "deadlock"
