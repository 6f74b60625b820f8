"""Payments into the same invoice at once on PostgreSQL: together never more than the invoice (lock order)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from finance.models import FeeInvoice, Payment
from finance.services import payment_create
from tests.concurrency import Pause, Writer, run_against
from tests.factories import InvoiceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_an_admin_payment_and_an_api_payment_at_once_never_exceed_the_invoice():
    # Before: the admin's form checked what was outstanding without the invoice's lock, so a payment
    # recorded by the API between its check and its save was not counted: 60 + 60 paid on 100.
    invoice = InvoiceFactory(amount=Decimal("100.00"))
    pause = Pause("office")

    def office():  # what the admin's add form does: validate and save in one transaction
        with transaction.atomic():
            payment = Payment(invoice=FeeInvoice.objects.get(pk=invoice.pk), amount=Decimal("60"), method="CASH")
            payment.full_clean()
            pause.stop()
            payment.save()

    counter = Writer("counter", lambda: payment_create(invoice=invoice, amount=Decimal("60"), method="CARD"))
    state = run_against(Writer("office", office), pause, counter)

    assert state == "blocked"
    assert isinstance(counter.error, ValidationError), counter.error
    assert counter.error.message_dict == {"amount": ["The payment exceeds the outstanding 40.00 on the invoice."]}
    assert list(Payment.objects.values_list("amount", "method")) == [(Decimal("60.00"), "CASH")]
    invoice.refresh_from_db()
    assert invoice.status == FeeInvoice.Status.PARTIALLY_PAID
