from decimal import Decimal

import pytest

from finance.models import FeeInvoice, Payment
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(school):
    return factories.InvoiceFactory(student=factories.StudentFactory(school=school), amount=Decimal("500.00"))


def test_an_admin_lists_the_invoices_of_their_school_with_what_is_outstanding(api_client, school_admin, invoice):
    factories.PaymentFactory(invoice=invoice, amount=Decimal("120.50"))
    factories.PaymentFactory(invoice=invoice, amount=Decimal("79.50"))
    factories.InvoiceFactory()
    api_client.force_authenticate(school_admin.user)

    response = api_client.get("/api/invoices/")

    assert response.status_code == 200
    [listed] = response.data["results"]
    assert (listed["id"], listed["amount"], listed["amount_paid"], listed["outstanding"], listed["status"]) == (
        invoice.pk,
        "500.00",
        "200.00",
        "300.00",
        "PARTIAL",
    )


def test_invoices_are_filtered_by_student_status_and_term(api_client, school_admin, invoice, school):
    term = school.terms.get()
    paid = factories.InvoiceFactory(student=invoice.student, term=term, status=FeeInvoice.Status.PAID)
    other_student = factories.InvoiceFactory(student=factories.StudentFactory(school=school))
    api_client.force_authenticate(school_admin.user)

    def ids(query: str) -> set[int]:
        return {i["id"] for i in api_client.get(f"/api/invoices/?{query}").data["results"]}

    assert ids(f"student={invoice.student_id}") == {invoice.pk, paid.pk}
    assert ids("status=PAID") == {paid.pk}
    assert ids(f"term={term.pk}") == {paid.pk}
    assert ids("") == {invoice.pk, paid.pk, other_student.pk}
    assert api_client.get("/api/invoices/?status=LOST").status_code == 400


def test_an_invoice_of_another_school_is_not_found(api_client, school_admin, invoice):
    api_client.force_authenticate(school_admin.user)

    assert api_client.get(f"/api/invoices/{invoice.pk}/").status_code == 200
    assert api_client.get(f"/api/invoices/{factories.InvoiceFactory().pk}/").status_code == 404


def test_an_admin_records_a_payment(api_client, school_admin, invoice):
    api_client.force_authenticate(school_admin.user)
    body = {"invoice": invoice.pk, "amount": "500.00", "method": "MOBILE", "reference": "MX-1"}

    response = api_client.post("/api/payments/", body, format="json")

    assert response.status_code == 201, response.data
    payment = Payment.objects.get()
    assert (payment.invoice, payment.amount, payment.method, payment.reference) == (
        invoice,
        Decimal("500.00"),
        "MOBILE",
        "MX-1",
    )
    invoice.refresh_from_db()
    assert invoice.status == FeeInvoice.Status.PAID


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "400.01"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"method": "GOLD"}, "method"),
        ({"invoice": "of another school"}, "invoice"),
        ({"invoice": "void"}, "invoice"),
    ],
)
def test_bad_payments_are_refused_naming_the_field(api_client, school_admin, invoice, change, field):
    factories.PaymentFactory(invoice=invoice, amount=Decimal("100.00"))
    references = {
        "of another school": lambda: factories.InvoiceFactory().pk,
        "void": lambda: factories.InvoiceFactory(student=invoice.student, status=FeeInvoice.Status.VOID).pk,
    }
    body = {"invoice": invoice.pk, "amount": "50.00", "method": "CASH"}
    body.update({key: references[value]() if value in references else value for key, value in change.items()})
    api_client.force_authenticate(school_admin.user)

    response = api_client.post("/api/payments/", body, format="json")

    assert response.status_code == 400
    assert list(response.data) == [field]
    assert Payment.objects.count() == 1


def test_payments_are_listed_for_the_school(api_client, school_admin, invoice):
    ours = factories.PaymentFactory(invoice=invoice)
    factories.PaymentFactory()
    api_client.force_authenticate(school_admin.user)

    response = api_client.get(f"/api/payments/?invoice__student={invoice.student_id}")

    assert [p["id"] for p in response.data["results"]] == [ours.pk]


@pytest.mark.parametrize("path", ["/api/invoices/", "/api/payments/"])
def test_finance_is_for_admins_only(api_client, teacher, school, path):
    guardian = factories.GuardianFactory(school=school)

    assert api_client.get(path).status_code == 401
    for user in (teacher.user, guardian.user):
        api_client.force_authenticate(user)
        assert api_client.get(path).status_code == 403
    assert api_client.post("/api/payments/", {}, format="json").status_code == 403


@pytest.mark.django_db
def test_moving_a_payment_to_another_invoice_reopens_the_invoice_it_left():
    first = factories.InvoiceFactory(amount=Decimal("100.00"))
    second = factories.InvoiceFactory(student=first.student, amount=Decimal("100.00"))
    payment = factories.PaymentFactory(invoice=first, amount=Decimal("100.00"))
    first.refresh_from_db()
    assert first.status == FeeInvoice.Status.PAID

    payment.invoice = second
    payment.save()

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (FeeInvoice.Status.OPEN, FeeInvoice.Status.PAID)
