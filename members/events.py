"""Outbox consumers: points earned on payment; points and coupons reversed on refunds."""

from __future__ import annotations

from typing import Any

from hub.kernel.outbox import register_outbox_handler
from oms.models import Order
from oms.states import OrderStatus


def on_order_status_changed(payload: dict[str, Any]) -> None:
    from members import services

    target = payload.get("to")
    if target not in {
        OrderStatus.PAID,
        OrderStatus.CANCELLED,
        OrderStatus.RETURNED,
        OrderStatus.PARTIALLY_RETURNED,
    }:
        return
    order = Order.objects.filter(number=payload["order"]).select_related("customer").first()
    if order is None or order.customer is None:
        return
    if target == OrderStatus.PAID:
        services.points_earn_for_order(order=order)
    elif order.status == OrderStatus.CANCELLED:
        # Earned points (if it was paid) go; redeemed points come back.
        services.points_reverse_for_order(order=order, share_num=1, share_den=1)
        services.coupon_release_for_order(order=order)
    else:
        lines = list(order.lines.all())
        returned = sum(line.unit_price_amount * line.quantity_returned for line in lines)
        if all(line.quantity_returned == line.quantity for line in lines):
            services.points_reverse_for_order(order=order, share_num=1, share_den=1)
            services.coupon_release_for_order(order=order)
        elif order.subtotal_amount:
            services.points_reverse_for_order(
                order=order, share_num=returned, share_den=order.subtotal_amount
            )
    services.member_recompute_tier(user=order.customer)


def register_outbox_handlers() -> None:
    register_outbox_handler("order.status_changed", on_order_status_changed)
