import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.conflicts import conflict_retried
from finance.models import FeeInvoice, Payment


@conflict_retried
def payment_create(
    *, invoice: FeeInvoice, amount: Decimal, method: str, reference: str = "", paid_at: datetime.datetime | None = None
) -> Payment:
    """Record a payment against an invoice (never more than is outstanding); the invoice's status follows."""
    with transaction.atomic():
        # Locking the invoice stops two payments at once from together exceeding what is outstanding.
        invoice = FeeInvoice.objects.select_for_update().get(pk=invoice.pk)
        payment = Payment(
            invoice=invoice, amount=amount, method=method, reference=reference, paid_at=paid_at or timezone.now()
        )
        payment.full_clean()
        payment.save()
    return payment


def invoices_void(*, invoice_ids: Iterable[int]) -> int:
    """Void the invoices not void already, each saved on its own; returns how many were voided.

    Saved row by row (not with one ``UPDATE``) so that whatever follows an invoice's save, such as the
    school's money figures, follows a void too; an office voids a handful at a time.
    """
    voided = 0
    with transaction.atomic():
        invoices = FeeInvoice.objects.filter(pk__in=list(invoice_ids)).exclude(status=FeeInvoice.Status.VOID)
        for invoice in invoices.order_by("pk").select_for_update():
            invoice.status = FeeInvoice.Status.VOID
            invoice.save(update_fields=["status", "updated_at"])
            voided += 1
    return voided
