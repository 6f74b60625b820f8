from django.urls import path

from finance.apis import InvoiceDetailApi, InvoiceListApi, PaymentListApi

urlpatterns = [
    path("invoices/", InvoiceListApi.as_view(), name="invoice-list"),
    path("invoices/<int:pk>/", InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("payments/", PaymentListApi.as_view(), name="payment-list"),
]
