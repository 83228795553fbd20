"""The payment and refund state machines, declared as tables.

Notifications arrive more than once and out of order; a move not in the table is a
no-op for notifications (the later, stronger state wins) and an error for staff calls.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


P = PaymentStatus
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    P.PENDING: frozenset({P.SUCCEEDED, P.FAILED, P.CANCELLED}),
    # A shopper may retry inside the same trade after a failure; money that arrives after
    # we closed a trade is still money: record it (the order side refunds if needed).
    P.FAILED: frozenset({P.SUCCEEDED, P.CANCELLED}),
    P.CANCELLED: frozenset({P.SUCCEEDED}),
    P.SUCCEEDED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.PARTIALLY_REFUNDED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.REFUNDED: frozenset(),
}
#: Payments whose money we hold (some of it may already be refunded).
CAPTURED = frozenset({P.SUCCEEDED, P.PARTIALLY_REFUNDED})


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  #: recorded, not yet accepted by the provider
    PROCESSING = "processing", _("Processing")  #: accepted, money on its way
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


R = RefundStatus
REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    R.PENDING: frozenset({R.PROCESSING, R.SUCCEEDED, R.FAILED}),
    R.PROCESSING: frozenset({R.SUCCEEDED, R.FAILED}),
    R.FAILED: frozenset({R.PROCESSING, R.SUCCEEDED}),  # staff may retry a failed refund
    R.SUCCEEDED: frozenset(),
}
