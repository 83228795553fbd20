from django.contrib import admin

from payments.models import Payment, PaymentNotification, Refund


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["reference", "order", "provider", "method", "status", "amount", "created_at"]
    list_filter = ["provider", "status"]
    search_fields = ["reference", "order__number", "provider_transaction_id"]


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["reference", "payment", "amount", "status", "attempts", "created_at"]
    list_filter = ["status"]


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "provider", "payment_reference", "verified", "outcome", "error"]
    list_filter = ["provider", "verified"]
