"""Error codes of checkout; every one maps to a 4xx with its message."""

from __future__ import annotations

from hub.kernel.errors import DomainError


class InvalidCheckout(DomainError):
    code = "invalid_checkout"


class EmptyCart(DomainError):
    code = "empty_cart"
