"""Reads for payments: what a shopper, staff or the reconciliation job sees."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet, Sum
from django.utils import timezone

from payments.models import Payment, Refund
from payments.states import CAPTURED, PaymentStatus, RefundStatus

OPEN_REFUNDS = (RefundStatus.PENDING, RefundStatus.PROCESSING)


def payments_for_order(order_id: int) -> QuerySet[Payment]:
    return Payment.objects.filter(order_id=order_id).order_by("id")


def captured_payments(order_id: int) -> QuerySet[Payment]:
    return payments_for_order(order_id).filter(status__in=CAPTURED)


def refundable_amount(payment: Payment) -> int:
    """What can still be refunded: paid, minus refunded, minus refunds in flight."""
    in_flight = (
        Refund.objects.filter(payment=payment, status__in=OPEN_REFUNDS).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    return payment.amount - payment.refunded_amount - in_flight


def refund_committed(order_id: int) -> int:
    """Refunds recorded for an order (succeeded or on their way)."""
    return (
        Refund.objects.filter(payment__order_id=order_id)
        .exclude(status=RefundStatus.FAILED)
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )


def pending_payments_due(*, older_than: timedelta, limit: int) -> list[Payment]:
    cutoff = timezone.now() - older_than
    return list(
        Payment.objects.filter(status=PaymentStatus.PENDING, created_at__lte=cutoff).order_by("id")[
            :limit
        ]
    )


def open_refunds(*, limit: int) -> list[Refund]:
    return list(Refund.objects.filter(status__in=OPEN_REFUNDS).order_by("id")[:limit])
