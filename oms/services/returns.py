"""Returns (RMA): requested online or at the counter, received at any store that takes
returns, inspected there, and restocked into that store's stock."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Sum

from hub.kernel.audit import audit_record
from hub.kernel.errors import InvalidTransition
from hub.kernel.ids import human_code
from hub.kernel.states import require_transition
from oms import locks
from oms.access import require_location_access
from oms.errors import InvalidInput
from oms.models import Location, Order, ReturnLine, ReturnRequest, StockLevel
from oms.services.orders import transition_order
from oms.services.stock import StockDelta, stock_move
from oms.states import RETURN_TRANSITIONS, RETURNABLE, OrderStatus, ReturnStatus


def transition_return(*, rma: ReturnRequest, target: str, actor: User | None) -> None:
    current = rma.status
    require_transition(RETURN_TRANSITIONS, aggregate="return", current=current, target=target)
    rma.status = target
    rma.save()
    audit_record(
        kind="return.status_changed",
        aggregate_type="order",
        aggregate_id=rma.order.number,
        actor_id=actor.pk if actor else None,
        payload={"rma": rma.rma, "from": current, "to": target},
    )


def return_request(
    *,
    order: Order,
    quantities: dict[int, int],
    reason: str = "",
    actor: User | None,
) -> ReturnRequest:
    """Open an RMA for delivered units (order line id -> units)."""
    if order.status not in RETURNABLE:
        raise InvalidInput(f"an order that is {order.status} cannot be returned")
    if not quantities:
        raise InvalidInput("a return needs at least one line")
    with transaction.atomic():
        order = locks.lock_order(order.pk)
        lines = {line.pk: line for line in order.lines.all()}
        open_units = dict(
            ReturnLine.objects.filter(
                return_request__order=order,
                return_request__status__in=[ReturnStatus.REQUESTED, ReturnStatus.RECEIVED],
            )
            .values("order_line_id")
            .annotate(units=Sum("quantity"))
            .values_list("order_line_id", "units")
        )
        for line_id, quantity in quantities.items():
            line = lines.get(line_id)
            if line is None:
                raise InvalidInput(f"order line {line_id} is not part of order {order.number}")
            returnable = (
                line.quantity_fulfilled - line.quantity_returned - open_units.get(line_id, 0)
            )
            if not isinstance(quantity, int) or not 0 < quantity <= returnable:
                raise InvalidInput(
                    f"can return 1-{returnable} of {line.sku}", sku=line.sku, returnable=returnable
                )
        rma = ReturnRequest.objects.create(rma=human_code(10), order=order, reason=reason)
        ReturnLine.objects.bulk_create(
            [
                ReturnLine(return_request=rma, order_line_id=i, quantity=q)
                for i, q in quantities.items()
            ]
        )
        audit_record(
            kind="return.requested",
            aggregate_type="order",
            aggregate_id=order.number,
            actor_id=actor.pk if actor else None,
            payload={"rma": rma.rma, "lines": sorted(quantities.items())},
        )
    return rma


def return_receive(*, rma: ReturnRequest, location: Location, actor: User | None) -> ReturnRequest:
    """The parcel arrived at a store (any store that accepts returns)."""
    # Checked before any lock: a refused receipt neither waits on nor blocks the order.
    require_location_access(user=actor, location=location)
    if not location.accepts_returns:
        raise InvalidInput(f"{location.code} does not accept returns")
    with transaction.atomic():
        locks.lock_order(rma.order_id)
        rma = locks.lock_return(rma.pk)
        rma.received_at_location = location
        transition_return(rma=rma, target=ReturnStatus.RECEIVED, actor=actor)
    return rma


def return_inspect(
    *, rma: ReturnRequest, restock: dict[int, bool], actor: User | None
) -> ReturnRequest:
    """Decide per return line: back to the receiving store's stock, or written off."""
    with transaction.atomic():
        order = locks.lock_order(rma.order_id)
        rma = locks.lock_return(rma.pk)
        if rma.status != ReturnStatus.RECEIVED or rma.received_at_location is None:
            raise InvalidTransition("return", rma.status, ReturnStatus.COMPLETED)
        location = rma.received_at_location
        require_location_access(user=actor, location=location)
        lines = list(rma.lines.select_related("order_line"))
        missing = {line.pk for line in lines} - set(restock)
        if missing:
            raise InvalidInput(
                f"say restock true/false for every return line; missing {sorted(missing)}"
            )
        for line in lines:
            line.restock = bool(restock[line.pk])
            line.save(update_fields=["restock"])
            order_line = line.order_line
            if line.restock:
                StockLevel.objects.get_or_create(
                    variant_id=order_line.variant_id, location=location
                )
                stock_move(
                    variant_id=order_line.variant_id,
                    location_id=location.pk,
                    delta=StockDelta(on_hand=line.quantity),
                    kind="restock",
                    reference=f"rma:{rma.rma}",
                    actor=actor,
                )
            order_line.quantity_returned += line.quantity
            order_line.save(update_fields=["quantity_returned"])
        transition_return(rma=rma, target=ReturnStatus.COMPLETED, actor=actor)
        all_back = all(line.quantity_returned == line.quantity for line in order.lines.all())
        target = OrderStatus.RETURNED if all_back else OrderStatus.PARTIALLY_RETURNED
        if order.status != target:
            transition_order(order=order, target=target, actor=actor, note=f"rma {rma.rma}")
    return rma
