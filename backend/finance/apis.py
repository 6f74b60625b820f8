from rest_framework import generics, serializers

from core.api import ScopedPrimaryKeyRelatedField
from finance.models import MONEY, FeeInvoice, Payment
from finance.selectors import invoices_of_users_school, payments_of_users_school
from finance.services import payment_create
from schools.permissions import IsSchoolAdmin


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


class InvoiceListApi(generics.ListAPIView):
    """Fee invoices of the school, with what is paid and outstanding (admins)."""

    permission_classes = [IsSchoolAdmin]
    serializer_class = InvoiceSerializer
    filterset_fields = ["student", "status", "term"]

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


class PaymentListApi(generics.ListCreateAPIView):
    """Payments received by the school; an admin records one (never more than the invoice's outstanding)."""

    permission_classes = [IsSchoolAdmin]
    serializer_class = PaymentSerializer
    filterset_fields = {"invoice": ["exact"], "invoice__student": ["exact"], "method": ["exact"]}

    def get_queryset(self):
        return payments_of_users_school(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = payment_create(**serializer.validated_data)
