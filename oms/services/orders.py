"""Orders from every sales channel: create (idempotent import), pay, allocate, cancel."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from hub.kernel.audit import audit_record
from hub.kernel.errors import InvalidTransition
from hub.kernel.ids import human_code
from hub.kernel.outbox import outbox_publish
from hub.kernel.states import require_transition
from hub.observability import ORDERS_CREATED
from oms import locks
from oms.errors import HoldNotActive, InvalidInput, OutOfStock, UnknownSku
from oms.models import (
    Allocation,
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Hold,
    Location,
    Order,
    OrderLine,
    OrderStatusChange,
    ProductVariant,
    SalesChannel,
)
from oms.routing import ShipTo
from oms.selectors import variants_by_sku
from oms.services.holds import hold_convert, hold_create, hold_release, validate_quantities
from oms.services.stock import StockDelta, stock_move
from oms.states import (
    CANCELLABLE,
    FULFILMENT_GONE,
    ORDER_TRANSITIONS,
    FulfilmentStatus,
    HoldStatus,
    OrderStatus,
)

Method = Order.FulfilmentMethod


@dataclass(frozen=True)
class OrderLineInput:
    sku: str
    quantity: int


def _actor_id(actor: User | None) -> int | None:
    return actor.pk if actor is not None else None


# ---- state machine ----------------------------------------------------------------------


def transition_order(*, order: Order, target: str, actor: User | None, note: str = "") -> Order:
    """The one place an order's status changes; refuses moves not in ``ORDER_TRANSITIONS``."""
    current = order.status
    require_transition(ORDER_TRANSITIONS, aggregate="order", current=current, target=target)
    order.status = target
    order.save(update_fields=["status", "updated_at"])
    OrderStatusChange.objects.create(
        order=order, from_status=current, to_status=target, actor_id=_actor_id(actor), note=note
    )
    audit_record(
        kind="order.status_changed",
        aggregate_type="order",
        aggregate_id=order.number,
        actor_id=_actor_id(actor),
        payload={"from": current, "to": target, "note": note},
    )
    outbox_publish(
        topic="order.status_changed",
        payload={"order": order.number, "from": current, "to": target},
    )
    return order


def derived_status(order: Order) -> str | None:
    """The order status its live fulfilments imply, or None before any fulfilment."""
    statuses = [f.status for f in order.fulfilments.all() if f.status != FulfilmentStatus.CANCELLED]
    if not statuses:
        return None
    done = {FulfilmentStatus.DELIVERED, FulfilmentStatus.PICKED_UP}
    if all(s in done for s in statuses):
        return (
            OrderStatus.PICKED_UP
            if FulfilmentStatus.PICKED_UP in statuses
            else OrderStatus.DELIVERED
        )
    if all(s in FULFILMENT_GONE for s in statuses):
        return OrderStatus.SHIPPED
    if any(s in FULFILMENT_GONE for s in statuses):
        return OrderStatus.PARTIALLY_SHIPPED
    if all(s == FulfilmentStatus.READY_FOR_PICKUP for s in statuses):
        return OrderStatus.READY_FOR_PICKUP
    if all(s in {FulfilmentStatus.PACKED, FulfilmentStatus.READY_FOR_PICKUP} for s in statuses):
        return OrderStatus.PACKED
    if any(s in {FulfilmentStatus.PICKING, FulfilmentStatus.PACKED} for s in statuses):
        return OrderStatus.PICKING
    return OrderStatus.ALLOCATED


def order_sync_status(*, order: Order, actor: User | None) -> Order:
    """Move the order to the status its fulfilments imply (after a fulfilment step)."""
    target = derived_status(order)
    if target is None or target == order.status:
        return order
    if order.status in {
        OrderStatus.DELIVERED,
        OrderStatus.PICKED_UP,
        OrderStatus.PARTIALLY_RETURNED,
    }:
        return order
    return transition_order(order=order, target=target, actor=actor)


# ---- create -----------------------------------------------------------------------------


def _price(sales_channel: SalesChannel, variant: ProductVariant, prices: dict[int, int]) -> int:
    if variant.pk in prices:
        return prices[variant.pk]
    if variant.currency != sales_channel.currency:
        raise InvalidInput(
            f"{variant.sku} has no {sales_channel.currency} price on {sales_channel.code}",
            sku=variant.sku,
        )
    return variant.price_amount


def resolve_lines(lines: list[OrderLineInput]) -> dict[ProductVariant, int]:
    """SKUs to variants, merging repeated SKUs; unknown SKUs are named in the error."""
    if not lines:
        raise InvalidInput("an order needs at least one line")
    wanted: dict[str, int] = defaultdict(int)
    for line in lines:
        if not isinstance(line.quantity, int) or line.quantity <= 0:
            raise InvalidInput(f"quantity for {line.sku} must be a positive integer", sku=line.sku)
        wanted[line.sku] += line.quantity
    variants = variants_by_sku(wanted)
    unknown = sorted(set(wanted) - set(variants))
    if unknown:
        raise UnknownSku(f"unknown SKU: {', '.join(unknown)}", skus=unknown)
    quantities = {variants[sku]: qty for sku, qty in wanted.items()}
    validate_quantities(quantities)
    return quantities


def order_create(
    *,
    sales_channel: SalesChannel,
    lines: list[OrderLineInput],
    fulfilment_method: str,
    customer: User | None = None,
    customer_email: str = "",
    pickup_location: Location | None = None,
    shipping_address: dict[str, Any] | None = None,
    ship_to: ShipTo | None = None,
    shipping_amount: int = 0,
    discount_amount: int = 0,
    unit_price_overrides: dict[str, int] | None = None,
    external_ref: str | None = None,
    hold: Hold | None = None,
    paid: bool = False,
    payment_reference: str = "",
    actor: User | None = None,
) -> Order:
    """Create an order and reserve its stock; re-importing an ``external_ref`` returns the
    first order unchanged.

    ``unit_price_overrides`` (SKU -> minor units) and ``discount_amount`` are for trusted
    callers that priced the order themselves (a live drop's price, the checkout pricing
    engine with coupons and points, a marketplace's own totals); the API never passes them.
    """
    if external_ref:
        existing = Order.objects.filter(
            sales_channel=sales_channel, external_ref=external_ref
        ).first()
        if existing is not None:
            return existing
    if fulfilment_method not in Method.values:
        raise InvalidInput(f"unknown fulfilment_method {fulfilment_method!r}")
    if fulfilment_method == Method.PICKUP and pickup_location is None:
        raise InvalidInput("a pick-up order needs a pickup_location")
    if fulfilment_method != Method.PICKUP and not shipping_address:
        raise InvalidInput("a shipped order needs a shipping_address")
    if shipping_amount < 0:
        raise InvalidInput("shipping_amount cannot be negative")
    quantities = resolve_lines(lines)
    prices = dict(
        ChannelPrice.objects.filter(
            sales_channel=sales_channel, variant__in=list(quantities)
        ).values_list("variant_id", "amount")
    )
    overrides = unit_price_overrides or {}
    if any(not isinstance(a, int) or a < 0 for a in overrides.values()):
        raise InvalidInput("price overrides must be non-negative integers of minor units")
    unit_prices = {
        v: overrides[v.sku] if v.sku in overrides else _price(sales_channel, v, prices)
        for v in quantities
    }
    subtotal = sum(unit_prices[v] * q for v, q in quantities.items())
    if not 0 <= discount_amount <= subtotal + shipping_amount:
        raise InvalidInput("discount_amount must be between 0 and the order total")

    try:
        with transaction.atomic():
            order = Order.objects.create(
                number=human_code(10),
                sales_channel=sales_channel,
                external_ref=external_ref or None,
                customer=customer,
                customer_email=customer_email,
                currency=sales_channel.currency,
                subtotal_amount=subtotal,
                shipping_amount=shipping_amount,
                discount_amount=discount_amount,
                total_amount=subtotal + shipping_amount - discount_amount,
                fulfilment_method=fulfilment_method,
                pickup_location=pickup_location,
                shipping_address=shipping_address or {},
                ship_to_latitude=ship_to.latitude if ship_to else None,
                ship_to_longitude=ship_to.longitude if ship_to else None,
            )
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        order=order,
                        variant=v,
                        sku=v.sku,
                        product_name=v.product.name_en,
                        quantity=q,
                        unit_price_amount=unit_prices[v],
                    )
                    for v, q in quantities.items()
                ]
            )
            order.hold = _hold_for(
                order=order,
                quantities=quantities,
                hold=hold,
                customer=customer,
                ship_to=ship_to,
                actor=actor,
            )
            order.save(update_fields=["hold"])
            audit_record(
                kind="order.created",
                aggregate_type="order",
                aggregate_id=order.number,
                actor_id=_actor_id(actor),
                payload={
                    "sales_channel": sales_channel.code,
                    "external_ref": external_ref,
                    "lines": [[v.sku, q, unit_prices[v]] for v, q in quantities.items()],
                    "total": order.total_amount,
                    "currency": order.currency,
                },
            )
            outbox_publish(topic="order.created", payload={"order": order.number})
            if paid:
                order_mark_paid(order=order, payment_reference=payment_reference, actor=actor)
    except IntegrityError:
        if not external_ref:
            raise
        # A concurrent import of the same external order committed first: return it.
        first = Order.objects.filter(sales_channel=sales_channel, external_ref=external_ref).first()
        if first is None:
            raise
        return first
    ORDERS_CREATED.labels(channel=sales_channel.code).inc()
    return order


def _hold_for(
    *,
    order: Order,
    quantities: dict[ProductVariant, int],
    hold: Hold | None,
    customer: User | None,
    ship_to: ShipTo | None,
    actor: User | None,
) -> Hold:
    """Use the buyer's existing hold (a live drop), or reserve a fresh checkout hold."""
    if hold is None:
        return hold_create(
            sales_channel=order.sales_channel,
            quantities=quantities,
            kind=Hold.Kind.CHECKOUT,
            owner=customer,
            ttl_seconds=settings.LIVEHUB_CHECKOUT_HOLD_SECONDS,
            method=order.fulfilment_method,
            pickup_location=order.pickup_location,
            ship_to=ship_to,
            reference=f"order:{order.number}",
            actor=actor,
        )
    if hold.status != HoldStatus.ACTIVE:
        raise HoldNotActive(f"hold is {hold.status}, not active", status=hold.status)
    if hold.sales_channel_id != order.sales_channel_id:
        raise InvalidInput("the hold belongs to another sales channel")
    if customer is not None and hold.owner_id not in (None, customer.pk):
        raise InvalidInput("the hold belongs to another buyer")
    held: dict[int, int] = defaultdict(int)
    for line in hold.lines.all():
        held[line.variant_id] += line.quantity
    if held != {v.pk: q for v, q in quantities.items()}:
        raise InvalidInput("order lines must match the hold's lines")
    return hold


# ---- pay and allocate -------------------------------------------------------------------


def order_mark_paid(
    *, order: Order, payment_reference: str = "", actor: User | None = None
) -> Order:
    """Record payment and allocate stock; a paid order whose hold lapsed is re-routed."""
    with transaction.atomic():
        order = locks.lock_order(order.pk)
        if (
            order.status != OrderStatus.PENDING_PAYMENT
            and order.payment_reference
            and (order.payment_reference == payment_reference)
        ):
            return order  # payment notifications arrive more than once
        transition_order(order=order, target=OrderStatus.PAID, actor=actor, note=payment_reference)
        order.payment_reference = payment_reference
        order.save(update_fields=["payment_reference", "updated_at"])
        try:
            _allocate(order=order, actor=actor)
        except OutOfStock as shortage:
            # The money is in but the units are gone: keep the order paid and visible
            # in the inbox for staff to resolve (refund or back-order).
            audit_record(
                kind="order.allocation_failed",
                aggregate_type="order",
                aggregate_id=order.number,
                actor_id=_actor_id(actor),
                payload={"reason": shortage.message},
            )
            return order
        transition_order(order=order, target=OrderStatus.ALLOCATED, actor=actor)
    return order


def _allocate(*, order: Order, actor: User | None) -> None:
    hold = order.hold
    reference = f"order:{order.number}"
    try:
        if hold is None:
            raise HoldNotActive("order has no hold")
        hold_lines = hold_convert(hold=hold, reference=reference, actor=actor)
    except HoldNotActive:
        if hold is not None and hold.status == HoldStatus.ACTIVE:
            hold_release(hold=hold, actor=actor)  # past its time: give it back first
        quantities = {line.variant: line.quantity for line in order.lines.select_related("variant")}
        ship_to = (
            ShipTo(order.ship_to_latitude, order.ship_to_longitude)
            if order.ship_to_latitude is not None and order.ship_to_longitude is not None
            else None
        )
        fresh = hold_create(
            sales_channel=order.sales_channel,
            quantities=quantities,
            owner=order.customer,
            ttl_seconds=60,
            method=order.fulfilment_method,
            pickup_location=order.pickup_location,
            ship_to=ship_to,
            reference=reference,
            actor=actor,
        )
        order.hold = fresh
        order.save(update_fields=["hold", "updated_at"])
        hold_lines = hold_convert(hold=fresh, reference=reference, actor=actor)

    order_lines = {line.variant_id: line for line in order.lines.all()}
    by_location: dict[int, list[tuple[OrderLine, int]]] = defaultdict(list)
    for hl in hold_lines:
        line = order_lines[hl.variant_id]
        Allocation.objects.create(order_line=line, location_id=hl.location_id, quantity=hl.quantity)
        by_location[hl.location_id].append((line, hl.quantity))
    for location_id, entries in sorted(by_location.items()):
        fulfilment = Fulfilment.objects.create(order=order, location_id=location_id)
        FulfilmentLine.objects.bulk_create(
            [
                FulfilmentLine(fulfilment=fulfilment, order_line=line, quantity=q)
                for line, q in entries
            ]
        )


# ---- cancel -----------------------------------------------------------------------------


def order_cancel(*, order: Order, actor: User | None, reason: str = "") -> Order:
    """Cancel an order whose goods have not left; its held or allocated units go back."""
    with transaction.atomic():
        order = locks.lock_order(order.pk)
        if order.status not in CANCELLABLE:
            raise InvalidTransition("order", order.status, OrderStatus.CANCELLED)
        hold = order.hold
        if hold is not None and hold.status == HoldStatus.ACTIVE:
            hold_release(hold=hold, actor=actor)
        for allocation in Allocation.objects.filter(order_line__order=order, quantity__gt=0):
            stock_move(
                variant_id=allocation.order_line.variant_id,
                location_id=allocation.location_id,
                delta=StockDelta(allocated=-allocation.quantity),
                kind="deallocate",
                reference=f"order:{order.number}",
                reason=reason or "order cancelled",
                actor=actor,
            )
            allocation.quantity = 0
            allocation.save(update_fields=["quantity"])
        order.fulfilments.exclude(status__in=FULFILMENT_GONE).update(
            status=FulfilmentStatus.CANCELLED
        )
        transition_order(order=order, target=OrderStatus.CANCELLED, actor=actor, note=reason)
    return order
