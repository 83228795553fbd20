"""Error codes of the OMS; every one maps to a 4xx with its message."""

from __future__ import annotations

from hub.kernel.errors import Conflict, DomainError, NotFound, PermissionDenied


class InvalidInput(DomainError):
    code = "invalid_input"


class UnknownSku(NotFound):
    code = "unknown_sku"


class OutOfStock(Conflict):
    code = "out_of_stock"


class HoldNotActive(Conflict):
    code = "hold_not_active"


class WrongLocation(PermissionDenied):
    code = "wrong_location"


class WrongPickupCode(DomainError):
    code = "wrong_pickup_code"
