"""Row locks taken in one fixed order: orders by id, then fulfilments, then holds.

Stock rows are never locked: they change only through conditional updates
(``oms.services.stock``). The audit chain head is locked last, by ``audit_record``.
"""

from __future__ import annotations

from oms.models import Fulfilment, Hold, Order, ReturnRequest


def lock_order(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def lock_fulfilment(fulfilment_id: int) -> Fulfilment:
    return Fulfilment.objects.select_for_update().get(pk=fulfilment_id)


def lock_hold(hold_id: int) -> Hold:
    return Hold.objects.select_for_update().get(pk=hold_id)


def lock_return(return_id: int) -> ReturnRequest:
    return ReturnRequest.objects.select_for_update().get(pk=return_id)
