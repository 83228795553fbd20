"""Outbox consumers: an order cancelled after payment or returned is refunded.

Handlers are idempotent (refund source keys carry the cumulative amount due), because
the outbox delivers at least once.
"""

from __future__ import annotations

from typing import Any

from hub.kernel.outbox import register_outbox_handler
from oms.models import Order
from oms.states import OrderStatus

REFUNDING = frozenset({OrderStatus.CANCELLED, OrderStatus.RETURNED, OrderStatus.PARTIALLY_RETURNED})


def on_order_status_changed(payload: dict[str, Any]) -> None:
    from payments.services import order_refund, payments_close_for_order

    if payload.get("to") not in REFUNDING:
        return
    order = Order.objects.filter(number=payload["order"]).first()
    if order is None:
        return
    if order.status == OrderStatus.CANCELLED:
        payments_close_for_order(order=order)
    order_refund(order=order)


def register_outbox_handlers() -> None:
    register_outbox_handler("order.status_changed", on_order_status_changed)
