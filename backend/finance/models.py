from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from core.bounds import school_date_errors
from core.models import TrackedModel, rows_lockable
from schools.models import AcademicTerm, Student

MONEY = {"max_digits": 12, "decimal_places": 2}


class FeeInvoice(TrackedModel):
    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        PARTIALLY_PAID = "PARTIAL", "Partially paid"
        PAID = "PAID", "Paid"
        VOID = "VOID", "Void"

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="invoices")
    term = models.ForeignKey(AcademicTerm, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices")
    description = models.CharField(max_length=200, blank=True)
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    issued_on = models.DateField(blank=True, help_text="Leave empty for today's date at the student's school.")
    due_date = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)

    class Meta:
        ordering = ["-due_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["OPEN", "PARTIAL", "PAID", "VOID"]), name="invoice_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["student", "due_date"]), models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return f"Invoice {self.pk} {self.student} {self.amount}"

    def clean(self) -> None:
        errors = {}
        if self.student_id:
            errors |= school_date_errors(
                self.student.school, dates={"issued_on": self.issued_on, "due_date": self.due_date}
            )
        if self.term_id and self.student_id and self.term.school_id != self.student.school_id:
            errors["term"] = "The term belongs to another school."
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        if self.issued_on is None:
            # The school's calendar date, not the server's: in Nairobi an invoice entered at 01:30 is
            # issued that day, although it is still the day before in UTC.
            self.issued_on = self.student.school.local_date(timezone.now())
        super().save(*args, **kwargs)

    @property
    def amount_paid(self) -> Decimal:
        return self.payments.aggregate(total=Sum("amount"))["total"] or Decimal("0")

    def refresh_status(self) -> None:
        """Derive OPEN / PARTIAL / PAID from the payments received (a VOID invoice stays void)."""
        if self.status == self.Status.VOID:
            return
        paid = self.amount_paid
        if paid >= self.amount:
            status = self.Status.PAID
        elif paid > 0:
            status = self.Status.PARTIALLY_PAID
        else:
            status = self.Status.OPEN
        if status != self.status:
            self.status = status
            FeeInvoice.objects.filter(pk=self.pk).update(status=status, updated_at=timezone.now())


class Payment(TrackedModel):
    class Method(models.TextChoices):
        CASH = "CASH", "Cash"
        BANK_TRANSFER = "BANK", "Bank transfer"
        CARD = "CARD", "Card"
        MOBILE_MONEY = "MOBILE", "Mobile money"
        CHEQUE = "CHEQUE", "Cheque"

    invoice = models.ForeignKey(FeeInvoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    paid_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=8, choices=Method.choices)
    reference = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-paid_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(method__in=["CASH", "BANK", "CARD", "MOBILE", "CHEQUE"]), name="payment_method_valid"
            ),
        ]
        indexes = [models.Index(fields=["invoice", "paid_at"]), models.Index(fields=["paid_at"])]

    def __str__(self) -> str:
        return f"Payment {self.amount} on invoice {self.invoice_id}"

    def clean(self) -> None:
        if self.invoice_id:
            errors = school_date_errors(
                self.invoice.student.school, moments={"paid_at": self.paid_at}, past={"paid_at"}
            )
            if errors:
                raise ValidationError(errors)
        if not self.invoice_id or self.amount is None:
            return
        if rows_lockable():
            # Validated and saved in one transaction (the admin, payment_create): hold the invoice (the parent,
            # first in the lock order) and read it again, so a payment recorded now is counted or waits for us.
            self.invoice = FeeInvoice.objects.select_for_update(no_key=True).get(pk=self.invoice_id)
        if self.invoice.status == FeeInvoice.Status.VOID:
            raise ValidationError({"invoice": "The invoice is void."})
        others = self.invoice.payments.exclude(pk=self.pk).aggregate(total=Sum("amount"))["total"] or Decimal("0")
        if others + self.amount > self.invoice.amount:
            raise ValidationError(
                {"amount": f"The payment exceeds the outstanding {self.invoice.amount - others} on the invoice."}
            )

    def save(self, *args, **kwargs):
        with transaction.atomic(using=kwargs.get("using")):
            previous = Payment.objects.filter(pk=self.pk).values_list("invoice_id", flat=True).first()
            super().save(*args, **kwargs)
            self.invoice.refresh_status()
            if previous is not None and previous != self.invoice_id:
                # Moved to another invoice: the one it left is owed that much again.
                FeeInvoice.objects.get(pk=previous).refresh_status()

    def delete(self, *args, **kwargs):
        with transaction.atomic(using=kwargs.get("using")):
            result = super().delete(*args, **kwargs)
            self.invoice.refresh_status()
        return result
