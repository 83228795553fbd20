"""Holds: units set aside with an expiry (checkout, live drop, sales-channel listing)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from hub.kernel.audit import audit_record
from hub.kernel.errors import InvalidTransition
from hub.kernel.ids import opaque_token
from hub.kernel.states import require_transition
from hub.observability import HOLDS_CREATED, STOCK_REJECTIONS
from oms.errors import HoldNotActive, InvalidInput, OutOfStock
from oms.models import Hold, HoldLine, Location, Order, ProductVariant, SalesChannel
from oms.routing import Placement, ShipTo, route_order
from oms.services.stock import StockDelta, stock_move
from oms.states import HOLD_TRANSITIONS, HoldStatus

MAX_HOLD_SECONDS = 24 * 3600
MAX_LINE_QUANTITY = 10_000
#: re-plans after a concurrent buyer took the planned units at one location
ROUTING_ATTEMPTS = 3


class _PlacementTaken(Exception):
    """A planned placement was taken concurrently; the savepoint rolls back and we re-plan."""


def validate_quantities(quantities: dict[ProductVariant, int]) -> None:
    if not quantities:
        raise InvalidInput("at least one line is required")
    for variant, quantity in quantities.items():
        if not isinstance(quantity, int) or quantity <= 0:
            raise InvalidInput(f"quantity for {variant.sku} must be a positive integer")
        if quantity > MAX_LINE_QUANTITY:
            raise InvalidInput(f"quantity for {variant.sku} exceeds {MAX_LINE_QUANTITY}")


def transition_hold(*, hold: Hold, target: str) -> None:
    """Move a hold with a compare-and-set on its status, so two movers cannot both win."""
    require_transition(HOLD_TRANSITIONS, aggregate="hold", current=hold.status, target=target)
    moved = Hold.objects.filter(pk=hold.pk, status=hold.status).update(status=target)
    if not moved:
        current = Hold.objects.values_list("status", flat=True).get(pk=hold.pk)
        raise InvalidTransition("hold", current, target)
    hold.status = target


def hold_create(
    *,
    sales_channel: SalesChannel,
    quantities: dict[ProductVariant, int],
    kind: str = Hold.Kind.CHECKOUT,
    owner: User | None = None,
    ttl_seconds: int,
    method: str = Order.FulfilmentMethod.SHIP,
    pickup_location: Location | None = None,
    ship_to: ShipTo | None = None,
    reference: str = "",
    actor: User | None = None,
) -> Hold:
    """Reserve the units where routing places them, or raise ``OutOfStock``; all or nothing."""
    validate_quantities(quantities)
    if not 1 <= ttl_seconds <= MAX_HOLD_SECONDS:
        raise InvalidInput(f"ttl_seconds must be between 1 and {MAX_HOLD_SECONDS}")
    for _attempt in range(ROUTING_ATTEMPTS):
        try:
            placements = route_order(
                sales_channel=sales_channel,
                quantities=quantities,
                method=method,
                pickup_location=pickup_location,
                ship_to=ship_to,
            )
        except OutOfStock:
            STOCK_REJECTIONS.inc()
            raise
        try:
            with transaction.atomic():
                hold = _reserve(
                    sales_channel=sales_channel,
                    placements=placements,
                    kind=kind,
                    owner=owner,
                    ttl_seconds=ttl_seconds,
                    reference=reference,
                    actor=actor,
                )
        except _PlacementTaken:
            # Units may be pinned by holds that expired but were not swept yet.
            hold_expire_due(variant_ids=[v.pk for v in quantities])
            continue
        HOLDS_CREATED.labels(kind=kind).inc()
        return hold
    STOCK_REJECTIONS.inc()
    raise OutOfStock("the requested units were taken by other buyers", requested=len(quantities))


def _reserve(
    *,
    sales_channel: SalesChannel,
    placements: list[Placement],
    kind: str,
    owner: User | None,
    ttl_seconds: int,
    reference: str,
    actor: User | None,
) -> Hold:
    hold = Hold.objects.create(
        token=opaque_token(12),
        sales_channel=sales_channel,
        kind=kind,
        owner=owner,
        reference=reference,
        expires_at=timezone.now() + timedelta(seconds=ttl_seconds),
    )
    for placement in placements:
        reserved = stock_move(
            variant_id=placement.variant_id,
            location_id=placement.location_id,
            delta=StockDelta(reserved=placement.quantity),
            kind="reserve",
            reference=f"hold:{hold.token}",
            keep_free=sales_channel.safety_stock,
            actor=actor,
        )
        if not reserved:
            raise _PlacementTaken
    HoldLine.objects.bulk_create(
        [
            HoldLine(
                hold=hold,
                variant_id=p.variant_id,
                location_id=p.location_id,
                quantity=p.quantity,
            )
            for p in placements
        ]
    )
    audit_record(
        kind="hold.created",
        aggregate_type="hold",
        aggregate_id=hold.token,
        actor_id=actor.pk if actor else None,
        payload={
            "sales_channel": sales_channel.code,
            "kind": kind,
            "expires_at": hold.expires_at.isoformat(),
            "lines": [[p.variant_id, p.location_id, p.quantity] for p in placements],
        },
    )
    return hold


def _give_back(*, hold: Hold, target: str, actor: User | None) -> None:
    transition_hold(hold=hold, target=target)
    for line in hold.lines.all():
        stock_move(
            variant_id=line.variant_id,
            location_id=line.location_id,
            delta=StockDelta(reserved=-line.quantity),
            kind="release",
            reference=f"hold:{hold.token}",
            reason=target,
            actor=actor,
        )
    audit_record(
        kind=f"hold.{target}",
        aggregate_type="hold",
        aggregate_id=hold.token,
        actor_id=actor.pk if actor else None,
        payload={},
    )


def hold_release(*, hold: Hold, actor: User | None = None) -> Hold:
    """Give a hold's units back now (checkout abandoned, buyer changed their mind)."""
    with transaction.atomic():
        if hold.status != HoldStatus.ACTIVE:
            raise HoldNotActive(f"hold is {hold.status}, not active", status=hold.status)
        _give_back(hold=hold, target=HoldStatus.RELEASED, actor=actor)
    return hold


def hold_expire_due(*, variant_ids: Iterable[int] | None = None, limit: int = 500) -> int:
    """Expire active holds past their time and return their units; returns how many."""
    due = Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=timezone.now())
    if variant_ids is not None:
        due = due.filter(lines__variant_id__in=list(variant_ids)).distinct()
    expired = 0
    for hold in due.order_by("expires_at")[:limit]:
        try:
            with transaction.atomic():
                _give_back(hold=hold, target=HoldStatus.EXPIRED, actor=None)
        except InvalidTransition:
            continue  # converted or released meanwhile: nothing to give back
        expired += 1
    return expired


def hold_convert(*, hold: Hold, reference: str, actor: User | None) -> list[HoldLine]:
    """Turn a hold's reservations into allocations (the order was paid)."""
    if hold.status != HoldStatus.ACTIVE:
        raise HoldNotActive(f"hold is {hold.status}, not active", status=hold.status)
    if hold.expires_at <= timezone.now():
        raise HoldNotActive("hold has expired", status=HoldStatus.EXPIRED)
    transition_hold(hold=hold, target=HoldStatus.CONVERTED)
    lines = list(hold.lines.all())
    for line in lines:
        stock_move(
            variant_id=line.variant_id,
            location_id=line.location_id,
            delta=StockDelta(reserved=-line.quantity, allocated=line.quantity),
            kind="allocate",
            reference=reference,
            actor=actor,
        )
    audit_record(
        kind="hold.converted",
        aggregate_type="hold",
        aggregate_id=hold.token,
        actor_id=actor.pk if actor else None,
        payload={"reference": reference},
    )
    return lines
