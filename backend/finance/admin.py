from decimal import Decimal

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum, Value
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet

from core.admin import AUDIT_FIELDS, BoundedDateHierarchyMixin, InlinesOnceSavedMixin, related_search
from finance.models import FeeInvoice, Payment
from finance.services import invoices_void
from schools.admin import STUDENT_SEARCH


class PaymentFormSet(BaseInlineFormSet):
    """Each payment is checked against the others already saved; this checks the ones entered together."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        total = sum(
            form.cleaned_data["amount"] for form in self.forms if form.cleaned_data and form not in self.deleted_forms
        )
        if total > self.instance.amount:
            raise ValidationError(
                f"The payments add up to {total}, more than the invoice amount {self.instance.amount}."
            )


class PaymentInline(admin.TabularInline):
    model = Payment
    formset = PaymentFormSet
    fields = ("amount", "method", "paid_at", "reference")
    extra = 1

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and (obj is None or obj.status != FeeInvoice.Status.VOID)


@admin.register(FeeInvoice)
class FeeInvoiceAdmin(InlinesOnceSavedMixin, BoundedDateHierarchyMixin, admin.ModelAdmin):
    list_display = ("id", "student", "term", "description", "amount", "paid", "due_date", "status")
    # Explicit: with an aggregate annotation (GROUP BY) Meta.ordering is not applied.
    ordering = ("-due_date", "id")
    list_filter = ("status", "student__school", "due_date", "term")
    list_select_related = ("student", "term")
    search_fields = (*related_search("student", STUDENT_SEARCH), "description")
    date_hierarchy = "due_date"
    autocomplete_fields = ("student", "term")
    readonly_fields = ("status", *AUDIT_FIELDS)
    inlines = (PaymentInline,)
    actions = ("void",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(paid_total=Coalesce(Sum("payments__amount"), Value(Decimal("0"))))

    @admin.display(ordering="paid_total", description="Paid")
    def paid(self, obj: FeeInvoice) -> Decimal:
        return obj.paid_total

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The amount may have changed with no payment saved, and payments re-derive the status only when saved.
        form.instance.refresh_status()

    @admin.action(description="Void the selected invoices")
    def void(self, request, queryset):
        count = invoices_void(invoice_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} invoice(s) voided.")


@admin.register(Payment)
class PaymentAdmin(BoundedDateHierarchyMixin, admin.ModelAdmin):
    list_display = ("paid_at", "invoice", "student", "amount", "method", "reference")
    list_filter = ("method", "invoice__student__school", "paid_at")
    list_select_related = ("invoice__student",)
    search_fields = ("reference", "invoice__description", *related_search("invoice__student", STUDENT_SEARCH))
    date_hierarchy = "paid_at"
    autocomplete_fields = ("invoice",)
    readonly_fields = AUDIT_FIELDS

    @admin.display(ordering="invoice__student__last_name", description="Student")
    def student(self, obj: Payment):
        return obj.invoice.student

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "invoice" in form.changed_data:
            # Payment.save re-derives the status of the invoice the payment is on; the one it left needs it too.
            FeeInvoice.objects.get(pk=form.initial["invoice"]).refresh_status()

    def delete_queryset(self, request, queryset):
        # Payment.delete re-derives the invoice status; a queryset delete would skip it.
        with transaction.atomic():
            for payment in queryset.select_related("invoice"):
                payment.delete()
