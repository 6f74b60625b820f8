import datetime
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
