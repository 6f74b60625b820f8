from decimal import Decimal

from django.db.models import Case, DecimalField, F, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest

from finance.models import MONEY, FeeInvoice, Payment
from schools.selectors import in_users_school


def invoices_of_users_school(*, user) -> QuerySet[FeeInvoice]:
    """Invoices of the user's school with ``total_paid`` and ``balance`` (outstanding; nothing when void)."""
    zero = Value(Decimal("0"), output_field=DecimalField(**MONEY))
    invoices = in_users_school(FeeInvoice.objects.all(), user=user, school_field="student__school")
    return invoices.annotate(
        total_paid=Coalesce(Sum("payments__amount"), zero),
        balance=Case(
            When(status=FeeInvoice.Status.VOID, then=zero),
            default=Greatest(F("amount") - F("total_paid"), zero),
            output_field=DecimalField(**MONEY),
        ),
    ).order_by(*FeeInvoice._meta.ordering)  # a grouped query leaves out the model's default ordering


def payments_of_users_school(*, user) -> QuerySet[Payment]:
    return in_users_school(Payment.objects.all(), user=user, school_field="invoice__student__school")
