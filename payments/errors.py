"""Error codes of payments; every one maps to a 4xx with its message."""

from __future__ import annotations

from hub.kernel.errors import Conflict, DomainError


class InvalidPaymentInput(DomainError):
    code = "invalid_payment_input"


class ProviderNotConfigured(DomainError):
    code = "payment_provider_not_configured"


class ProviderError(Conflict):
    """The gateway refused or failed a call; nothing was recorded as done."""

    code = "payment_provider_error"
    http_status = 502


class NotificationRejected(DomainError):
    """A notification failed verification (signature, decryption, amount); ignored."""

    code = "notification_rejected"


class RefundTooLarge(Conflict):
    code = "refund_too_large"
