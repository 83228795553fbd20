"""Outbox subscriptions: orders are attributed when created, rewards reversed on refunds,
cancellations and returns."""

from __future__ import annotations

from typing import Any

from hub.kernel.outbox import register_outbox_handler
from oms.models import Order
from social.services.attribution import (
    REVERSING_STATUSES,
    attribution_for_order,
    attribution_reverse,
)


def on_order_created(payload: dict[str, Any]) -> None:
    attribution_for_order(order_number=str(payload["order"]))


def on_order_status_changed(payload: dict[str, Any]) -> None:
    if payload.get("to") in REVERSING_STATUSES:
        attribution_reverse(order_number=str(payload["order"]))


def on_payment_refunded(payload: dict[str, Any]) -> None:
    """A refund (goodwill, partial) may come without an order status change."""
    number = Order.objects.filter(pk=payload["order"]).values_list("number", flat=True).first()
    if number is not None:
        attribution_reverse(order_number=number)


def register() -> None:
    register_outbox_handler("order.created", on_order_created)
    register_outbox_handler("order.status_changed", on_order_status_changed)
    register_outbox_handler("payment.refunded", on_payment_refunded)
