"""Orders in: apply a marketplace order exactly once, newest version wins."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_sync.connectors.base import ExternalOrderData
from channels_sync.errors import MalformedPayload
from channels_sync.models import Connection, ExternalOrder
from channels_sync.selectors import SkuResolver
from hub.kernel.audit import audit_record
from oms.models import Order
from oms.routing import ShipTo
from oms.services.orders import OrderLineInput, order_cancel, order_create, order_mark_paid
from oms.states import CANCELLABLE, OrderStatus


class IngestResult:
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"
    UNMAPPED = "unmapped"
    SKIPPED = "skipped"  #: cancelled on the marketplace before we ever imported it


@dataclass(frozen=True)
class IngestOutcome:
    result: str
    order: Order | None


def _external_order_lock(
    *, connection: Connection, data: ExternalOrderData
) -> tuple[ExternalOrder, bool]:
    try:
        with transaction.atomic():
            ext = ExternalOrder.objects.create(
                connection=connection,
                external_id=data.external_id,
                platform_updated_at=data.updated_at,
                platform_status=data.status,
            )
            return ext, True
    except IntegrityError:
        pass  # a concurrent delivery created it: wait for its lock below
    return (
        ExternalOrder.objects.select_for_update().get(
            connection=connection, external_id=data.external_id
        ),
        False,
    )


def order_ingest(*, connection: Connection, data: ExternalOrderData) -> IngestOutcome:
    """Create or update our order from one version of a marketplace order.

    The ``ExternalOrder`` row is the per-order lock and remembers the newest platform
    ``updated_at`` applied: an older version arriving later changes nothing.
    """
    sales_channel = connection.sales_channel
    if data.currency and data.currency != sales_channel.currency:
        raise MalformedPayload(
            f"order {data.external_id} is in {data.currency}, "
            f"the sales channel sells in {sales_channel.currency}"
        )
    with transaction.atomic():
        ext, created = _external_order_lock(connection=connection, data=data)
        if not created:
            if data.updated_at < ext.platform_updated_at:
                return IngestOutcome(IngestResult.STALE, ext.order)
            if (
                data.updated_at == ext.platform_updated_at
                and ext.order_id is not None
                and ext.platform_status == data.status
            ):
                return IngestOutcome(IngestResult.UNCHANGED, ext.order)
        ext.platform_updated_at = data.updated_at
        ext.platform_status = data.status
        ext.platform_cancelled = data.cancelled
        if ext.order is None:
            result, order = _import(connection=connection, ext=ext, data=data)
        else:
            order = ext.order
            result = _update(order=order, data=data)
        ext.save()
    return IngestOutcome(result, order)


def _import(
    *, connection: Connection, ext: ExternalOrder, data: ExternalOrderData
) -> tuple[str, Order | None]:
    if data.cancelled:
        return IngestResult.SKIPPED, None
    resolver = SkuResolver(connection)
    quantities: dict[str, int] = {}
    prices: dict[str, int] = {}
    unmapped: list[dict[str, object]] = []
    for line in data.lines:
        variant = resolver.resolve(line.sku)
        if variant is None:
            unmapped.append({"sku": line.sku, "title": line.title, "quantity": line.quantity})
            continue
        quantities[variant.sku] = quantities.get(variant.sku, 0) + line.quantity
        prices[variant.sku] = line.unit_price
    if unmapped:
        if ext.unmapped != unmapped:
            ext.unmapped = unmapped
            audit_record(
                kind="sync.order_unmapped",
                aggregate_type="sales_channel",
                aggregate_id=connection.sales_channel.code,
                payload={"external_id": data.external_id, "unmapped": unmapped},
            )
        return IngestResult.UNMAPPED, None
    ext.unmapped = []
    ship_to = (
        ShipTo(data.latitude, data.longitude)
        if data.latitude is not None and data.longitude is not None
        else None
    )
    order = order_create(
        sales_channel=connection.sales_channel,
        lines=[OrderLineInput(sku, q) for sku, q in quantities.items()],
        fulfilment_method=Order.FulfilmentMethod.SHIP,
        shipping_address=data.shipping_address or {"name": "marketplace buyer"},
        ship_to=ship_to,
        external_ref=data.external_id,
        paid=data.paid,
        payment_reference=data.payment_reference,
        customer_email=data.customer_email,
        unit_price_overrides=prices,
        shipping_amount=data.shipping_amount,
        discount_amount=min(
            data.discount_amount,
            sum(prices[s] * q for s, q in quantities.items()) + data.shipping_amount,
        ),
    )
    ext.order = order
    return IngestResult.CREATED, order


def _update(*, order: Order, data: ExternalOrderData) -> str:
    if data.cancelled:
        if order.status in CANCELLABLE:
            order_cancel(order=order, actor=None, reason="cancelled on the marketplace")
            return IngestResult.UPDATED
        return IngestResult.UNCHANGED
    if data.paid and order.status == OrderStatus.PENDING_PAYMENT:
        order_mark_paid(order=order, payment_reference=data.payment_reference, actor=None)
        return IngestResult.UPDATED
    return IngestResult.UNCHANGED


def order_mark_reconciled(*, connection: Connection, cursor: str, report: dict[str, int]) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        order_cursor=cursor, last_reconcile_at=timezone.now(), last_reconcile_report=report
    )
