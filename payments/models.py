"""Payments, refunds and the raw notifications gateways send us.

No card data is ever stored: providers collect it on their own pages (PCI DSS SAQ A).
"""

from __future__ import annotations

from django.db import models

from payments.states import PaymentStatus, RefundStatus


class Payment(models.Model):
    """One attempt to collect an order's total through one provider."""

    reference = models.CharField(max_length=32, unique=True)  #: our trade no, sent to gateway
    order = models.ForeignKey("oms.Order", on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=16)  #: ``sandbox``, ``wechatpay``, ``alipay``
    method = models.CharField(max_length=16)  #: ``native``, ``jsapi``, ``page``, ``wap`` ...
    status = models.CharField(
        max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    amount = models.PositiveBigIntegerField()  #: minor units
    currency = models.CharField(max_length=3)
    refunded_amount = models.PositiveBigIntegerField(default=0)  #: sum of succeeded refunds
    provider_transaction_id = models.CharField(max_length=64, blank=True)
    client_payload = models.JSONField(default=dict)  #: what the client needs to pay (QR, URL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.reference


class PaymentStatusChange(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=24)
    to_status = models.CharField(max_length=24)
    source = models.CharField(max_length=32)  #: ``notification``, ``query``, ``staff`` ...
    created_at = models.DateTimeField(auto_now_add=True)


class Refund(models.Model):
    """Money going back; ``source_key`` makes each cause refund at most once."""

    reference = models.CharField(max_length=32, unique=True)  #: our out_refund_no
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    source_key = models.CharField(max_length=100, unique=True)  #: e.g. ``cancel:<order>``
    amount = models.PositiveBigIntegerField()
    status = models.CharField(
        max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    reason = models.CharField(max_length=200, blank=True)
    provider_refund_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]


class PaymentNotification(models.Model):
    """A gateway callback stored raw before it is verified and applied."""

    provider = models.CharField(max_length=16)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    payment_reference = models.CharField(max_length=32, blank=True, db_index=True)
    verified = models.BooleanField(default=False)
    outcome = models.CharField(max_length=24, blank=True)
    error = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
