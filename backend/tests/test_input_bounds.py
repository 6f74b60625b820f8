"""Input bounds (docs/security.md, "Input bounds"): implausible dates and out-of-range integers are 400 naming the
field and write nothing, through the API and the admin alike; plausible ones (last term's data entered late,
homework planned ahead) are accepted.

Time is frozen at 2026-10-15 10:00 UTC (13:00 in Nairobi). The school has last spring's term and this autumn's:
its records may be dated from 2025-01-05 (a year before its first term) to 2027-12-18 (a year after its last).
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from attendance.models import Attendance, Lesson
from communication.models import Communication
from finance.models import FeeInvoice, Payment
from homework.models import Homework, HomeworkSubmission
from schools.models import AcademicTerm, ClassGroup, Student
from tests import factories
from tests.admin_forms import admin_url, post_changeform

pytestmark = pytest.mark.django_db

NOW = "2026-10-15 10:00:00+00:00"
EARLIEST, LATEST = "2025-01-05", "2027-12-18"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def w():
    school = factories.SchoolFactory(timezone="Africa/Nairobi")
    factories.TermFactory(school=school, start_date=datetime.date(2026, 1, 5), end_date=datetime.date(2026, 4, 3))
    factories.TermFactory(school=school)  # 2026-09-07 to 2026-12-18
    assignment = factories.TeachingAssignmentFactory(teacher__school=school)
    student = factories.StudentFactory(school=school, class_group=assignment.class_group)
    lesson = factories.LessonFactory(
        class_group=assignment.class_group,
        subject=assignment.subject,
        teacher=assignment.teacher,
        date=datetime.date(2026, 10, 14),
    )
    homework = factories.HomeworkFactory(
        class_group=assignment.class_group,
        subject=assignment.subject,
        teacher=assignment.teacher,
        assigned_date=datetime.date(2026, 10, 12),
    )
    return {
        "school": school,
        "teacher": assignment.teacher,
        "class_group": assignment.class_group,
        "subject": assignment.subject,
        "student": student,
        "guardian": factories.GuardianFactory(school=school, students=[student]),
        "lesson": lesson,
        "homework": homework,
        "invoice": factories.InvoiceFactory(student=student, amount=Decimal("500.00")),
        "admin": factories.SchoolAdminFactory(school=school),
    }


def assert_refused(response, field: str) -> None:
    assert response.status_code == 400, (response.status_code, getattr(response, "data", None))
    assert list(response.data) == [field], response.data


# --- dates through the API -----------------------------------------------------------------------


def post_homework(api_client, w, **dates):
    api_client.force_authenticate(w["teacher"].user)
    body = {
        "class_group": w["class_group"].pk,
        "subject": w["subject"].pk,
        "title": "Fractions",
        "assigned_date": "2026-10-15",
        "due_date": "2026-10-19",
        "max_score": "20",
        **dates,
    }
    return api_client.post(reverse("homework-list"), body, format="json")


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        ({"due_date": "9999-12-31"}, "due_date"),
        ({"assigned_date": "0001-01-01"}, "assigned_date"),
        ({"due_date": "3000-01-01"}, "due_date"),
        ({"assigned_date": "1900-01-01"}, "assigned_date"),
        ({"assigned_date": "1970-01-01"}, "assigned_date"),
        ({"due_date": "2027-12-19"}, "due_date"),  # a day after the window
        ({"assigned_date": "2025-01-04", "due_date": "2025-01-10"}, "assigned_date"),  # a day before it
    ],
)
def test_implausible_homework_dates_are_refused(api_client, w, dates, field):
    before = Homework.objects.count()

    response = post_homework(api_client, w, **dates)

    assert_refused(response, field)
    assert Homework.objects.count() == before


@pytest.mark.parametrize(
    "dates",
    [
        {"assigned_date": "2026-10-15", "due_date": "2027-12-18"},  # planned ahead, to the window's last day
        {"assigned_date": "2025-01-05", "due_date": "2025-01-09"},  # entered late, from the window's first day
        {"assigned_date": "2026-03-02", "due_date": "2026-03-06"},  # last term's homework
    ],
)
def test_plausible_homework_dates_are_accepted(api_client, w, dates):
    response = post_homework(api_client, w, **dates)

    assert response.status_code == 201, response.data
    assert str(Homework.objects.get(pk=response.data["id"]).due_date) == dates["due_date"]


def post_submission(api_client, w, submitted_at: str):
    api_client.force_authenticate(w["teacher"].user)
    url = reverse("submission-list", args=[w["homework"].pk])
    return api_client.post(url, {"student": w["student"].pk, "submitted_at": submitted_at}, format="json")


@pytest.mark.parametrize(
    "submitted_at",
    [
        "9999-12-31T12:00:00Z",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "2026-10-16T08:00:00Z",  # tomorrow
        "2026-10-15T21:30:00Z",  # 00:30 tomorrow in Nairobi
    ],
)
def test_implausible_submission_times_are_refused(api_client, w, submitted_at):
    assert_refused(post_submission(api_client, w, submitted_at), "submitted_at")
    assert not HomeworkSubmission.objects.exists()


def test_a_submission_earlier_today_is_accepted(api_client, w):
    response = post_submission(api_client, w, "2026-10-15T20:30:00Z")  # 23:30 today in Nairobi

    assert response.status_code == 201, response.data


def post_message(api_client, w, sent_at: str):
    api_client.force_authenticate(w["teacher"].user)
    body = {
        "recipient": w["guardian"].pk,
        "student": w["student"].pk,
        "channel": "email",
        "subject": "Progress",
        "sent_at": sent_at,
    }
    return api_client.post(reverse("communication-list"), body, format="json")


@pytest.mark.parametrize(
    "sent_at",
    [
        "9999-12-31T23:00:00Z",
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "1900-06-01T12:00:00Z",
        "3000-01-01T00:00:00Z",
        "2026-10-16T08:00:00Z",
    ],
)
def test_implausible_message_times_are_refused(api_client, w, sent_at):
    assert_refused(post_message(api_client, w, sent_at), "sent_at")
    assert not Communication.objects.exists()


def test_a_message_of_last_term_logged_late_is_accepted(api_client, w):
    response = post_message(api_client, w, "2026-03-20T09:00:00Z")

    assert response.status_code == 201, response.data


def post_payment(api_client, w, paid_at: str):
    api_client.force_authenticate(w["admin"].user)
    body = {"invoice": w["invoice"].pk, "amount": "100.00", "method": "CASH", "paid_at": paid_at}
    return api_client.post(reverse("payment-list"), body, format="json")


@pytest.mark.parametrize(
    "paid_at",
    [
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "3000-01-01T00:00:00Z",
        "2025-01-04T12:00:00Z",  # the day before the window (15:00 in Nairobi)
        "2026-10-15T21:00:00Z",  # 00:00 tomorrow in Nairobi
    ],
)
def test_implausible_payment_times_are_refused(api_client, w, paid_at):
    assert_refused(post_payment(api_client, w, paid_at), "paid_at")
    assert not Payment.objects.exists()
    w["invoice"].refresh_from_db()
    assert w["invoice"].status == FeeInvoice.Status.OPEN


@pytest.mark.parametrize("paid_at", ["2025-01-04T21:00:00Z", "2026-10-15T20:59:59Z"])  # 2025-01-05 00:00, today 23:59
def test_payments_at_the_ends_of_the_window_are_accepted(api_client, w, paid_at):
    response = post_payment(api_client, w, paid_at)

    assert response.status_code == 201, response.data
    assert Payment.objects.get().amount == Decimal("100.00")


def put_behaviour(api_client, w, day: str):
    api_client.force_authenticate(w["teacher"].user)
    url = reverse("student-behavior", args=[w["student"].pk])
    return api_client.put(url, {"date": day, "score": 4}, format="json")


def test_a_behaviour_score_for_a_day_still_to_come_is_refused(api_client, w):
    response = put_behaviour(api_client, w, "2026-10-16")

    assert_refused(response, "date")
    assert "after today" in str(response.data["date"][0])


def test_a_behaviour_score_for_today_is_accepted(api_client, w):
    assert put_behaviour(api_client, w, "2026-10-15").status_code == 200


@pytest.mark.parametrize("parameter", ["from", "to"])
@pytest.mark.parametrize("day", ["0001-01-01", "1900-01-01", "1996-10-14", "2031-10-16", "3000-01-01", "9999-12-31"])
def test_query_dates_outside_thirty_years_back_and_five_ahead_are_refused(api_client, w, parameter, day):
    api_client.force_authenticate(w["admin"].user)

    response = api_client.get(reverse("school-health"), {parameter: day})

    assert_refused(response, parameter)


@pytest.mark.parametrize(("date_from", "date_to"), [("1996-10-15", "1996-12-31"), ("2031-01-01", "2031-10-15")])
def test_query_dates_at_the_ends_of_the_query_window_are_accepted(api_client, w, date_from, date_to):
    api_client.force_authenticate(w["admin"].user)

    response = api_client.get(reverse("school-health"), {"from": date_from, "to": date_to})

    assert response.status_code == 200, response.data
    assert response.data["revenue"] == "0.00"


# --- integers through the API --------------------------------------------------------------------


@pytest.mark.parametrize("student_id", [2**63, 2**64, 10**30, 0, -1, -(2**63) - 1])
def test_a_roll_call_student_id_outside_the_id_range_is_refused(api_client, w, student_id):
    api_client.force_authenticate(w["teacher"].user)
    url = reverse("roll-call", args=[w["lesson"].pk])

    response = api_client.post(url, {"marks": [{"student_id": student_id, "status": "PRESENT"}]}, format="json")

    assert response.status_code == 400, response.data
    assert set(response.data["marks"][0]) == {"student_id"}
    assert not Attendance.objects.exists()


def post_lesson(api_client, w, period):
    api_client.force_authenticate(w["teacher"].user)
    body = {"class_group": w["class_group"].pk, "subject": w["subject"].pk, "date": "2026-10-15", "period": period}
    return api_client.post(reverse("lesson-list"), body, format="json")


@pytest.mark.parametrize("period", [10**12, 2**63, 32768, 21, 0, -1])
def test_a_lesson_period_outside_1_to_20_is_refused(api_client, w, period):
    assert_refused(post_lesson(api_client, w, period), "period")
    assert Lesson.objects.count() == 1


@pytest.mark.parametrize("period", [1, 20])
def test_lesson_periods_1_and_20_are_accepted(api_client, w, period):
    assert post_lesson(api_client, w, period).status_code == 201


@pytest.mark.parametrize(
    ("name", "url", "query"),
    [
        ("term", "student-overview", {"term": 2**63}),
        ("subject", "student-overview", {"subject": 2**64}),
        ("school", "school-health", {"school": 10**30}),
        ("term", "school-health", {"term": 2**63}),
    ],
)
def test_query_ids_outside_the_id_range_are_refused(api_client, w, name, url, query):
    api_client.force_authenticate(w["admin"].user)
    args = [w["student"].pk] if url == "student-overview" else []

    assert_refused(api_client.get(reverse(url, args=args), query), name)


@pytest.mark.parametrize("value", [2**63, 2**64, 0, -1])
@pytest.mark.parametrize(
    ("url", "user", "field", "body"),
    [
        ("lesson-list", "teacher", "class_group", {"date": "2026-10-15", "period": 3}),
        ("payment-list", "admin", "invoice", {"amount": "1.00", "method": "CASH"}),
        ("communication-list", "teacher", "recipient", {"channel": "email", "subject": "Hello"}),
    ],
)
def test_related_ids_outside_the_id_range_do_not_exist(api_client, w, url, user, field, body, value):
    api_client.force_authenticate(w[user].user)

    response = api_client.post(reverse(url), {**body, field: value}, format="json")

    assert_refused(response, field)


def test_teacher_comment_ids_outside_the_id_range_are_refused(api_client, w):
    api_client.force_authenticate(w["teacher"].user)
    url = reverse("student-teacher-comment", args=[w["student"].pk])

    response = api_client.put(url, {"term": 2**63, "subject": 2**63, "comment": "Good"}, format="json")

    assert response.status_code == 400
    assert set(response.data) == {"term", "subject"}


# --- the admin -----------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def form_errors(response) -> dict:
    assert response.status_code == 200, response.status_code  # the form again, with its errors
    return response.context["adminform"].form.errors


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"start_date": "1900-09-01", "end_date": "1900-12-15"}, {"start_date", "end_date"}),
        ({"start_date": "3000-09-01", "end_date": "3000-12-15"}, {"start_date", "end_date"}),
        # Terms start and end from 2016-10-15 (ten years back) to 2028-10-15 (two years ahead).
        ({"start_date": "2016-10-14", "end_date": "2016-12-15"}, {"start_date"}),
        ({"start_date": "2028-09-04", "end_date": "2028-10-16"}, {"end_date"}),
        ({"start_date": "2027-01-04", "end_date": "2028-01-05"}, {"end_date"}),  # 367 days
    ],
)
def test_the_admin_refuses_implausible_terms(staff_client, w, values, fields):
    url = admin_url(AcademicTerm, "add")

    response = post_changeform(staff_client, url, {"school": w["school"].pk, "name": "Odd term", **values})

    assert set(form_errors(response)) == fields
    assert not AcademicTerm.objects.filter(name="Odd term").exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [("2027-01-04", "2028-01-04"), ("2016-10-15", "2016-12-15"), ("2028-09-04", "2028-10-15")],  # 366 days; the ends
)
def test_the_admin_accepts_plausible_terms(staff_client, w, start, end):
    url = admin_url(AcademicTerm, "add")
    values = {"school": w["school"].pk, "name": "Year", "start_date": start, "end_date": end}

    response = post_changeform(staff_client, url, values)

    assert response.status_code == 302
    assert AcademicTerm.objects.filter(name="Year").exists()


def test_the_admin_refuses_an_invoice_due_in_9999(staff_client, w):
    url = admin_url(FeeInvoice, "change", w["invoice"].pk)

    response = post_changeform(staff_client, url, {"due_date": "9999-12-31"})

    assert list(form_errors(response)) == ["due_date"]
    w["invoice"].refresh_from_db()
    assert w["invoice"].due_date == factories.TERM_START


def test_the_admin_refuses_a_payment_dated_1970(staff_client, w):
    paid_at = datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC)
    payment = factories.PaymentFactory(invoice=w["invoice"], paid_at=paid_at)
    url = admin_url(Payment, "change", payment.pk)

    response = post_changeform(staff_client, url, {"paid_at_0": "1970-01-01", "paid_at_1": "00:00:00"})

    assert list(form_errors(response)) == ["paid_at"]
    payment.refresh_from_db()
    assert payment.paid_at == paid_at


def test_the_admin_refuses_a_homework_due_in_the_year_3000(staff_client, w):
    url = admin_url(Homework, "change", w["homework"].pk)

    response = post_changeform(staff_client, url, {"due_date": "3000-01-01"})

    assert list(form_errors(response)) == ["due_date"]


@pytest.mark.parametrize(("model", "field", "value"), [(ClassGroup, "grade_level", 10**12), (Lesson, "period", 10**12)])
def test_the_admin_refuses_integers_outside_their_domain(staff_client, w, model, field, value):
    obj = w["class_group"] if model is ClassGroup else w["lesson"]

    response = post_changeform(staff_client, admin_url(model, "change", obj.pk), {field: value})

    assert list(form_errors(response)) == [field]
    obj.refresh_from_db()
    assert getattr(obj, field) < 100


def test_the_admin_refuses_a_date_of_birth_from_the_1800s(staff_client, w):
    url = admin_url(Student, "change", w["student"].pk)

    response = post_changeform(staff_client, url, {"date_of_birth": "1850-05-01"})

    assert list(form_errors(response)) == ["date_of_birth"]


CALENDAR_END = [{"year": 9999}, {"year": 9999, "month": 12}, {"year": 9999, "month": 12, "day": 31}]
DATE_HIERARCHIES = sorted(
    (model._meta.label, model, model_admin.date_hierarchy)
    for model, model_admin in admin.site._registry.items()
    if model_admin.date_hierarchy
)


@pytest.mark.parametrize(("label", "model", "field"), DATE_HIERARCHIES, ids=[row[0] for row in DATE_HIERARCHIES])
@pytest.mark.parametrize("period", CALENDAR_END)
def test_the_admin_date_hierarchy_at_the_calendar_end_is_bad_parameters(staff_client, label, model, field, period):
    """Django computes the end of the period asked for (year 10000): the list again with "?e=1", not a 500."""
    query = {f"{field}__{part}": value for part, value in period.items()}

    response = staff_client.get(admin_url(model, "changelist"), query)

    assert response.status_code == 302, label
    assert response.url.endswith("?e=1")
