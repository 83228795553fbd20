"""What the OMS announces after commit (outbox topics) and who hears it.

``stock.changed`` goes to the ``stock`` group of the channel layer so open dashboards and
live rooms refresh availability; sales-channel sync subscribes to the same topic.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from hub.kernel.outbox import register_outbox_handler

STOCK_GROUP = "oms.stock"
ORDERS_GROUP = "oms.orders"


def broadcast(group: str, event_type: str, payload: dict[str, Any]) -> None:
    """The one caller of the channel layer's group_send for OMS events."""
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(group, {"type": event_type, **payload})


def _stock_changed(payload: dict[str, Any]) -> None:
    broadcast(STOCK_GROUP, "stock.changed", payload)


def _order_status_changed(payload: dict[str, Any]) -> None:
    broadcast(ORDERS_GROUP, "order.status_changed", payload)


def register_outbox_handlers() -> None:
    register_outbox_handler("stock.changed", _stock_changed)
    register_outbox_handler("order.status_changed", _order_status_changed)
