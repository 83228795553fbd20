"""Outbox consumers of the PWA: "your order is ready for pick-up" and "your show is live"
pushes."""

from __future__ import annotations

from typing import Any

from hub.kernel.outbox import register_outbox_handler
from live.states import ShowStatus
from oms.states import OrderStatus


def on_order_status_changed(payload: dict[str, Any]) -> None:
    if payload.get("to") != OrderStatus.READY_FOR_PICKUP:
        return
    from webapp.push.services import push_order_ready

    push_order_ready(order_number=str(payload["order"]))


def on_show_status_changed(payload: dict[str, Any]) -> None:
    if payload.get("to") != ShowStatus.LIVE:
        return
    from webapp.push.services import push_show_reminders_due

    push_show_reminders_due(show_code=str(payload["show"]))


def register_outbox_handlers() -> None:
    register_outbox_handler("order.status_changed", on_order_status_changed)
    register_outbox_handler("show.status_changed", on_show_status_changed)
