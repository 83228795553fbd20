"""Orders in a given state, for the tests of what comes after."""

from __future__ import annotations

from oms.models import Order, SalesChannel
from oms.services.fulfilment import fulfilment_pack, fulfilment_ship, fulfilment_start_picking
from oms.services.orders import OrderLineInput, order_create


def shipped_order(web: SalesChannel, lines: list[OrderLineInput]) -> Order:
    """A paid web order for ``lines``, picked, packed and shipped."""
    order = order_create(
        sales_channel=web,
        lines=lines,
        fulfilment_method="ship",
        shipping_address={"city": "SH"},
        paid=True,
    )
    for fulfilment in order.fulfilments.all():
        fulfilment_start_picking(fulfilment=fulfilment, actor=None)
        fulfilment_pack(fulfilment=fulfilment, actor=None)
        fulfilment_ship(fulfilment=fulfilment, carrier="SF", tracking_number="T", actor=None)
    order.refresh_from_db()
    return order
