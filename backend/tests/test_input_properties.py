"""Property: whatever date or integer is sent, the answer is never a server error. A date is accepted exactly when
it lies within the school's window (and not after today where the record cannot be in the future), an integer
exactly when it lies within its range; otherwise the answer is 400 naming the field and nothing is written.

The school and the frozen time are those of tests/test_input_bounds.py: records may be dated 2025-01-05 to
2027-12-18; today is 2026-10-15 in Nairobi.
"""

import datetime
import zoneinfo

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attendance.models import Lesson
from core.bounds import ID_MAX
from finance.models import Payment
from homework.models import Homework
from tests.test_input_bounds import NOW, w  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

EARLIEST, LATEST, TODAY = datetime.date(2025, 1, 5), datetime.date(2027, 12, 18), datetime.date(2026, 10, 15)
NAIROBI = zoneinfo.ZoneInfo("Africa/Nairobi")
PROPERTY = settings(
    max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
# Mostly the calendar's whole range, with the window's edges and the integer ranges' edges made likely.
DATES = st.one_of(
    st.dates(),
    st.sampled_from([EARLIEST, LATEST, TODAY]).flatmap(
        lambda day: st.integers(-2, 2).map(lambda n: day + datetime.timedelta(days=n))
    ),
)
INTEGERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 20, 21, 32767, 32768, ID_MAX, ID_MAX + 1, -1]),
)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@given(assigned=DATES, due=DATES)
@PROPERTY
def test_homework_dates(api_client, w, assigned, due):  # noqa: F811
    api_client.force_authenticate(w["teacher"].user)
    before = Homework.objects.count()
    body = {
        "class_group": w["class_group"].pk,
        "subject": w["subject"].pk,
        "title": "Any",
        "assigned_date": assigned.isoformat(),
        "due_date": due.isoformat(),
        "max_score": "10",
    }

    response = api_client.post(reverse("homework-list"), body, format="json")

    outside = {name for name, day in (("assigned_date", assigned), ("due_date", due)) if not EARLIEST <= day <= LATEST}
    if not outside and due >= assigned:
        assert response.status_code == 201, response.data
    else:
        assert response.status_code == 400, response.data
        assert set(response.data) <= outside | {"due_date"}, response.data
        assert Homework.objects.count() == before


@given(
    paid_at=st.one_of(
        st.datetimes(timezones=st.just(datetime.UTC)),
        DATES.map(lambda day: datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)),
    )
)
@PROPERTY
def test_payment_times(api_client, w, paid_at):  # noqa: F811
    api_client.force_authenticate(w["admin"].user)
    before = Payment.objects.count()
    body = {"invoice": w["invoice"].pk, "amount": "0.01", "method": "CASH", "paid_at": paid_at.isoformat()}

    response = api_client.post(reverse("payment-list"), body, format="json")

    try:
        local_day = paid_at.astimezone(NAIROBI).date()
    except OverflowError:
        local_day = None  # beyond year 9999 in Nairobi
    if local_day is not None and EARLIEST <= local_day <= TODAY:
        assert response.status_code == 201, response.data
    else:
        assert response.status_code == 400, response.data
        assert list(response.data) == ["paid_at"], response.data
        assert Payment.objects.count() == before


@given(student_id=INTEGERS)
@PROPERTY
def test_roll_call_student_ids(api_client, w, student_id):  # noqa: F811
    api_client.force_authenticate(w["teacher"].user)
    url = reverse("roll-call", args=[w["lesson"].pk])

    response = api_client.post(url, {"marks": [{"student_id": student_id, "status": "LATE"}]}, format="json")

    if student_id == w["student"].pk:
        assert response.status_code == 200, response.data
    else:
        assert response.status_code == 400, response.data
        assert list(response.data) == ["marks"], response.data


@given(period=INTEGERS)
@PROPERTY
def test_lesson_periods(api_client, w, period):  # noqa: F811
    api_client.force_authenticate(w["teacher"].user)
    lessons = Lesson.objects.filter(class_group=w["class_group"], date=TODAY)
    taken = 1 <= period <= 20 and lessons.filter(period=period).exists()
    body = {"class_group": w["class_group"].pk, "subject": w["subject"].pk, "date": TODAY.isoformat(), "period": period}

    response = api_client.post(reverse("lesson-list"), body, format="json")

    if 1 <= period <= 20 and not taken:
        assert response.status_code == 201, response.data
    else:
        assert response.status_code == 400, response.data
        assert set(response.data) <= {"period", "non_field_errors"}, response.data
