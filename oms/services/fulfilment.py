"""Fulfilment at a location: pick, pack, ship (whole or partial), pick-up handover."""

from __future__ import annotations

import hmac

from django.contrib.auth.models import User
from django.db import transaction

from hub.kernel.audit import audit_record
from hub.kernel.errors import InvalidTransition
from hub.kernel.ids import human_code
from hub.kernel.states import require_transition
from oms import locks
from oms.access import require_location_access
from oms.errors import InvalidInput, WrongPickupCode
from oms.models import Allocation, Fulfilment, FulfilmentLine, Order
from oms.services.orders import order_sync_status
from oms.services.stock import StockDelta, stock_move
from oms.states import FULFILMENT_TRANSITIONS, FulfilmentStatus

Status = FulfilmentStatus


def transition_fulfilment(
    *, fulfilment: Fulfilment, target: str, actor: User | None, note: str = ""
) -> Fulfilment:
    current = fulfilment.status
    require_transition(
        FULFILMENT_TRANSITIONS, aggregate="fulfilment", current=current, target=target
    )
    fulfilment.status = target
    fulfilment.save()
    audit_record(
        kind="fulfilment.status_changed",
        aggregate_type="order",
        aggregate_id=fulfilment.order.number,
        actor_id=actor.pk if actor else None,
        payload={"fulfilment": fulfilment.pk, "from": current, "to": target, "note": note},
    )
    return fulfilment


def _step(*, fulfilment: Fulfilment, target: str, actor: User | None, note: str = "") -> Fulfilment:
    """Lock order then fulfilment (fixed order), check staff scope, move, resync the order."""
    with transaction.atomic():
        order = locks.lock_order(fulfilment.order_id)
        fulfilment = locks.lock_fulfilment(fulfilment.pk)
        require_location_access(user=actor, location=fulfilment.location)
        transition_fulfilment(fulfilment=fulfilment, target=target, actor=actor, note=note)
        order_sync_status(order=order, actor=actor)
    return fulfilment


def fulfilment_start_picking(*, fulfilment: Fulfilment, actor: User | None) -> Fulfilment:
    return _step(fulfilment=fulfilment, target=Status.PICKING, actor=actor)


def fulfilment_pack(*, fulfilment: Fulfilment, actor: User | None) -> Fulfilment:
    return _step(fulfilment=fulfilment, target=Status.PACKED, actor=actor)


def fulfilment_mark_delivered(*, fulfilment: Fulfilment, actor: User | None) -> Fulfilment:
    return _step(fulfilment=fulfilment, target=Status.DELIVERED, actor=actor)


def fulfilment_ready_for_pickup(*, fulfilment: Fulfilment, actor: User | None) -> Fulfilment:
    """Parcel waits at the counter; the customer gets a pick-up code (and its QR)."""
    if fulfilment.order.fulfilment_method != Order.FulfilmentMethod.PICKUP:
        raise InvalidInput("only pick-up orders can be made ready for pickup")
    fulfilment.pickup_code = human_code(8)
    with transaction.atomic():
        Fulfilment.objects.filter(pk=fulfilment.pk).update(pickup_code=fulfilment.pickup_code)
        return _step(fulfilment=fulfilment, target=Status.READY_FOR_PICKUP, actor=actor)


def _goods_leave(*, fulfilment: Fulfilment, actor: User | None) -> None:
    """Units leave the building: on hand and allocated drop together, lines count them."""
    reference = f"order:{fulfilment.order.number}"
    for line in fulfilment.lines.select_related("order_line"):
        order_line = line.order_line
        moved = stock_move(
            variant_id=order_line.variant_id,
            location_id=fulfilment.location_id,
            delta=StockDelta(on_hand=-line.quantity, allocated=-line.quantity),
            kind="ship",
            reference=reference,
            actor=actor,
        )
        if not moved:
            raise InvalidInput(f"{order_line.sku} is not allocated at {fulfilment.location.code}")
        allocation = Allocation.objects.filter(
            order_line=order_line, location_id=fulfilment.location_id, quantity__gte=line.quantity
        ).first()
        if allocation is None:
            raise InvalidInput(f"{order_line.sku} has no allocation to ship from")
        allocation.quantity -= line.quantity
        allocation.save(update_fields=["quantity"])
        order_line.quantity_fulfilled += line.quantity
        order_line.save(update_fields=["quantity_fulfilled"])


def fulfilment_ship(
    *,
    fulfilment: Fulfilment,
    carrier: str,
    tracking_number: str,
    actor: User | None,
    quantities: dict[int, int] | None = None,
) -> Fulfilment:
    """Hand a packed parcel to the carrier.

    ``quantities`` (order line id -> units) ships part of it: the rest moves to a new
    pending fulfilment at the same location, still allocated there.
    """
    if fulfilment.order.fulfilment_method == Order.FulfilmentMethod.PICKUP:
        raise InvalidInput("pick-up orders are handed over, not shipped")
    if not carrier.strip() or not tracking_number.strip():
        raise InvalidInput("carrier and tracking_number are required to ship")
    with transaction.atomic():
        order = locks.lock_order(fulfilment.order_id)
        fulfilment = locks.lock_fulfilment(fulfilment.pk)
        require_location_access(user=actor, location=fulfilment.location)
        if fulfilment.status != Status.PACKED:
            raise InvalidTransition("fulfilment", fulfilment.status, Status.SHIPPED)
        if quantities:
            _split_off_remainder(fulfilment=fulfilment, quantities=quantities)
        fulfilment.carrier = carrier.strip()
        fulfilment.tracking_number = tracking_number.strip()
        _goods_leave(fulfilment=fulfilment, actor=actor)
        transition_fulfilment(
            fulfilment=fulfilment,
            target=Status.SHIPPED,
            actor=actor,
            note=f"{carrier} {tracking_number}",
        )
        order_sync_status(order=order, actor=actor)
    return fulfilment


def _split_off_remainder(*, fulfilment: Fulfilment, quantities: dict[int, int]) -> None:
    lines = {line.order_line_id: line for line in fulfilment.lines.all()}
    unknown = set(quantities) - set(lines)
    if unknown:
        raise InvalidInput(f"order lines {sorted(unknown)} are not in this fulfilment")
    remainder: list[tuple[int, int]] = []
    for order_line_id, line in lines.items():
        ship = quantities.get(order_line_id, 0)
        if not 0 <= ship <= line.quantity:
            raise InvalidInput(f"can ship 0-{line.quantity} of order line {order_line_id}")
        if ship < line.quantity:
            remainder.append((order_line_id, line.quantity - ship))
        if ship == 0:
            line.delete()
        elif ship < line.quantity:
            line.quantity = ship
            line.save(update_fields=["quantity"])
    if not fulfilment.lines.exists():
        raise InvalidInput("a shipment needs at least one unit")
    if remainder:
        rest = Fulfilment.objects.create(order=fulfilment.order, location=fulfilment.location)
        FulfilmentLine.objects.bulk_create(
            [FulfilmentLine(fulfilment=rest, order_line_id=i, quantity=q) for i, q in remainder]
        )


def fulfilment_handover(
    *, fulfilment: Fulfilment, pickup_code: str, actor: User | None
) -> Fulfilment:
    """The customer shows their code (or QR) at the counter and takes the goods."""
    with transaction.atomic():
        order = locks.lock_order(fulfilment.order_id)
        fulfilment = locks.lock_fulfilment(fulfilment.pk)
        require_location_access(user=actor, location=fulfilment.location)
        if fulfilment.status != Status.READY_FOR_PICKUP:
            raise InvalidTransition("fulfilment", fulfilment.status, Status.PICKED_UP)
        given = pickup_code.strip().upper()
        if not hmac.compare_digest(given.encode(), fulfilment.pickup_code.encode()):
            raise WrongPickupCode("the pick-up code does not match this order")
        _goods_leave(fulfilment=fulfilment, actor=actor)
        transition_fulfilment(fulfilment=fulfilment, target=Status.PICKED_UP, actor=actor)
        order_sync_status(order=order, actor=actor)
    return fulfilment
