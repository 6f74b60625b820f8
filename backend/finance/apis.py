import django_filters
from rest_framework import generics, serializers

from core.api import ScopedModelChoiceFilter, ScopedPrimaryKeyRelatedField
from finance.models import MONEY, FeeInvoice, Payment
from finance.selectors import invoices_of_users_school, payments_of_users_school
from finance.services import payment_create
from schools.models import AcademicTerm, Student
from schools.permissions import IsSchoolAdmin
from schools.selectors import students_visible_to, terms_visible_to


class InvoiceSerializer(serializers.ModelSerializer):
    amount_paid = serializers.DecimalField(**MONEY, source="total_paid", read_only=True)
    outstanding = serializers.DecimalField(**MONEY, source="balance", read_only=True)

    class Meta:
        model = FeeInvoice
        fields = [
            "id",
            "student",
            "term",
            "description",
            "amount",
            "amount_paid",
            "outstanding",
            "issued_on",
            "due_date",
            "status",
        ]
        read_only_fields = fields  # invoices are issued in the admin; here they are only read


class InvoiceFilter(django_filters.FilterSet):
    student = ScopedModelChoiceFilter(model=Student, scope=students_visible_to)
    term = ScopedModelChoiceFilter(model=AcademicTerm, scope=terms_visible_to)
    status = django_filters.ChoiceFilter(choices=FeeInvoice.Status.choices)

    class Meta:
        model = FeeInvoice
        fields = ["student", "status", "term"]


class InvoiceListApi(generics.ListAPIView):
    """Fee invoices of the school, with what is paid and outstanding (admins)."""

    permission_classes = [IsSchoolAdmin]
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter

    def get_queryset(self):
        return invoices_of_users_school(user=self.request.user)


class InvoiceDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsSchoolAdmin]
    serializer_class = InvoiceSerializer

    def get_queryset(self):
        return invoices_of_users_school(user=self.request.user)


class PaymentSerializer(serializers.ModelSerializer):
    invoice = ScopedPrimaryKeyRelatedField(queryset=FeeInvoice.objects.all(), scope=invoices_of_users_school)

    class Meta:
        model = Payment
        fields = ["id", "invoice", "amount", "paid_at", "method", "reference"]
        extra_kwargs = {"paid_at": {"required": False, "help_text": "Defaults to now."}}


class PaymentFilter(django_filters.FilterSet):
    invoice = ScopedModelChoiceFilter(model=FeeInvoice, scope=invoices_of_users_school)
    invoice__student = ScopedModelChoiceFilter(model=Student, scope=students_visible_to)
    method = django_filters.ChoiceFilter(choices=Payment.Method.choices)

    class Meta:
        model = Payment
        fields = ["invoice", "invoice__student", "method"]


class PaymentListApi(generics.ListCreateAPIView):
    """Payments received by the school; an admin records one (never more than the invoice's outstanding)."""

    permission_classes = [IsSchoolAdmin]
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter

    def get_queryset(self):
        return payments_of_users_school(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = payment_create(**serializer.validated_data)
