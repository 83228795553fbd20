"""State machines of the OMS aggregates, declared as tables.

Each ``*_TRANSITIONS`` map lists the allowed next states; the ``transition_*`` services
refuse every other move with ``InvalidTransition`` naming both states.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PAID = "paid", _("Paid")
    ALLOCATED = "allocated", _("Allocated")
    PICKING = "picking", _("Picking")
    PACKED = "packed", _("Packed")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pickup")
    DELIVERED = "delivered", _("Delivered")
    PICKED_UP = "picked_up", _("Picked up")
    CANCELLED = "cancelled", _("Cancelled")
    PARTIALLY_RETURNED = "partially_returned", _("Partially returned")
    RETURNED = "returned", _("Returned")


S = OrderStatus
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.ALLOCATED, S.CANCELLED}),
    S.ALLOCATED: frozenset({S.PICKING, S.PACKED, S.PARTIALLY_SHIPPED, S.CANCELLED}),
    S.PICKING: frozenset({S.PACKED, S.PARTIALLY_SHIPPED, S.CANCELLED}),
    S.PACKED: frozenset(
        {S.PICKING, S.SHIPPED, S.PARTIALLY_SHIPPED, S.READY_FOR_PICKUP, S.CANCELLED}
    ),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED, S.PARTIALLY_RETURNED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.PARTIALLY_RETURNED, S.RETURNED}),
    S.READY_FOR_PICKUP: frozenset({S.PICKED_UP, S.CANCELLED}),
    S.DELIVERED: frozenset({S.PARTIALLY_RETURNED, S.RETURNED}),
    S.PICKED_UP: frozenset({S.PARTIALLY_RETURNED, S.RETURNED}),
    S.PARTIALLY_RETURNED: frozenset({S.RETURNED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
}

#: Orders whose stock is still in the building and may be cancelled.
CANCELLABLE = frozenset(
    {S.PENDING_PAYMENT, S.PAID, S.ALLOCATED, S.PICKING, S.PACKED, S.READY_FOR_PICKUP}
)
#: Orders whose goods reached the customer (or left the building) and may be returned.
RETURNABLE = frozenset(
    {S.SHIPPED, S.PARTIALLY_SHIPPED, S.DELIVERED, S.PICKED_UP, S.PARTIALLY_RETURNED}
)


class FulfilmentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PICKING = "picking", _("Picking")
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pickup")
    PICKED_UP = "picked_up", _("Picked up")
    CANCELLED = "cancelled", _("Cancelled")


F = FulfilmentStatus
FULFILMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    F.PENDING: frozenset({F.PICKING, F.CANCELLED}),
    F.PICKING: frozenset({F.PACKED, F.CANCELLED}),
    F.PACKED: frozenset({F.SHIPPED, F.READY_FOR_PICKUP, F.CANCELLED}),
    F.SHIPPED: frozenset({F.DELIVERED}),
    F.READY_FOR_PICKUP: frozenset({F.PICKED_UP, F.CANCELLED}),
    F.DELIVERED: frozenset(),
    F.PICKED_UP: frozenset(),
    F.CANCELLED: frozenset(),
}
#: Fulfilments whose goods have left the location.
FULFILMENT_GONE = frozenset({F.SHIPPED, F.DELIVERED, F.PICKED_UP})


class HoldStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CONVERTED = "converted", _("Converted to an order")
    RELEASED = "released", _("Released")
    EXPIRED = "expired", _("Expired")


HOLD_TRANSITIONS: dict[str, frozenset[str]] = {
    HoldStatus.ACTIVE: frozenset({HoldStatus.CONVERTED, HoldStatus.RELEASED, HoldStatus.EXPIRED}),
    HoldStatus.CONVERTED: frozenset(),
    HoldStatus.RELEASED: frozenset(),
    HoldStatus.EXPIRED: frozenset(),
}


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    RECEIVED = "received", _("Received at a store")
    COMPLETED = "completed", _("Inspected and closed")
    CANCELLED = "cancelled", _("Cancelled")


RETURN_TRANSITIONS: dict[str, frozenset[str]] = {
    ReturnStatus.REQUESTED: frozenset({ReturnStatus.RECEIVED, ReturnStatus.CANCELLED}),
    ReturnStatus.RECEIVED: frozenset({ReturnStatus.COMPLETED}),
    ReturnStatus.COMPLETED: frozenset(),
    ReturnStatus.CANCELLED: frozenset(),
}
