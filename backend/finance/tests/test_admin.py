from decimal import Decimal

import pytest

from finance.models import FeeInvoice, Payment
from tests import factories
from tests.admin_forms import admin_url, post_changeform

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice():
    return factories.InvoiceFactory(amount=Decimal("300.00"))


def test_payments_entered_together_cannot_exceed_the_invoice(admin_client, invoice):
    assert admin_client.get(admin_url(FeeInvoice, "add")).context["inline_admin_formsets"] == []
    payment = {"amount": "200.00", "method": Payment.Method.CASH, "paid_at_0": "2026-09-10", "paid_at_1": "10:00"}
    two_payments = {f"payments-{i}-{name}": value for i in (0, 1) for name, value in payment.items()}
    response = post_changeform(
        admin_client, admin_url(FeeInvoice, "change", invoice.pk), {"payments-TOTAL_FORMS": "2", **two_payments}
    )
    assert response.status_code == 200
    assert "more than the invoice amount" in str(response.context["inline_admin_formsets"][0].formset.non_form_errors())
    assert not Payment.objects.exists()


def test_changing_the_amount_re_derives_the_status(admin_client, invoice):
    factories.PaymentFactory(invoice=invoice, amount=invoice.amount)
    response = post_changeform(admin_client, admin_url(FeeInvoice, "change", invoice.pk), {"amount": "400.00"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == FeeInvoice.Status.PARTIALLY_PAID


def test_moving_a_payment_re_derives_both_invoices(admin_client, invoice):
    payment = factories.PaymentFactory(invoice=invoice, amount=invoice.amount)
    other = factories.InvoiceFactory(student=invoice.student, amount=Decimal("500.00"))
    response = post_changeform(admin_client, admin_url(Payment, "change", payment.pk), {"invoice": other.pk})
    assert response.status_code == 302
    invoice.refresh_from_db()
    other.refresh_from_db()
    assert (invoice.status, other.status) == (FeeInvoice.Status.OPEN, FeeInvoice.Status.PARTIALLY_PAID)


def test_deleting_payments_from_the_list_re_derives_the_status(admin_client, invoice):
    payment = factories.PaymentFactory(invoice=invoice, amount=Decimal("50.00"))
    response = admin_client.post(
        admin_url(Payment, "changelist"), {"action": "delete_selected", "_selected_action": [payment.pk], "post": "yes"}
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.status, Payment.objects.count()) == (FeeInvoice.Status.OPEN, 0)


def test_invoices_are_voided_by_an_action(admin_client, invoice):
    admin_client.post(admin_url(FeeInvoice, "changelist"), {"action": "void", "_selected_action": [invoice.pk]})
    invoice.refresh_from_db()
    assert invoice.status == FeeInvoice.Status.VOID
    assert (
        not admin_client.get(admin_url(FeeInvoice, "change", invoice.pk))
        .context["inline_admin_formsets"][0]
        .has_add_permission
    )
