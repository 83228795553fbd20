"""Row locks in one fixed order: payment, then refund, then (inside OMS services) order."""

from __future__ import annotations

from payments.models import Payment, Refund


def lock_payment(payment_id: int) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


def lock_payment_by_reference(reference: str) -> Payment:
    return Payment.objects.select_for_update().get(reference=reference)


def lock_refund(refund_id: int) -> Refund:
    return Refund.objects.select_for_update().get(pk=refund_id)
