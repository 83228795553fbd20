from datetime import timedelta

import pytest
from django.utils import timezone

from hub.kernel.audit import audit_verify_chain
from hub.kernel.errors import InvalidTransition
from hub.kernel.models import AuditEvent
from oms.errors import InvalidInput, OutOfStock, UnknownSku
from oms.models import ChannelPrice, Hold, Order, StockLevel
from oms.services.holds import hold_create
from oms.services.orders import (
    OrderLineInput,
    order_cancel,
    order_create,
    order_mark_paid,
    transition_order,
)

ADDRESS = {"name": "Li Lei", "line1": "1 Nanjing Rd", "city": "Shanghai"}


def _level(variant, location) -> tuple[int, int, int]:
    level = StockLevel.objects.get(variant=variant, location=location)
    return level.on_hand, level.allocated, level.reserved


def _order(web, *, lines, **kwargs) -> Order:
    kwargs.setdefault("fulfilment_method", "ship")
    kwargs.setdefault("shipping_address", ADDRESS)
    return order_create(sales_channel=web, lines=lines, **kwargs)


@pytest.mark.django_db
def test_an_order_reserves_its_stock_and_prices_its_lines(
    web, tee, mug, warehouse, stock, shopper
) -> None:
    stock(tee, warehouse, 5)
    stock(mug, warehouse, 5)
    order = _order(
        web,
        lines=[OrderLineInput("TEE-RED-M", 2), OrderLineInput("MUG-WHITE", 1)],
        customer=shopper,
    )
    assert order.status == "pending_payment"
    assert (order.subtotal_amount, order.total_amount, order.currency) == (
        2 * 12900 + 4500,
        30300,
        "CNY",
    )
    assert _level(tee, warehouse) == (5, 0, 2)
    assert order.hold is not None and order.hold.kind == "checkout"


@pytest.mark.django_db
def test_the_sales_channel_price_list_wins(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 5)
    ChannelPrice.objects.create(sales_channel=web, variant=tee, amount=9900)
    order = _order(web, lines=[OrderLineInput("TEE-RED-M", 1)])
    assert order.lines.get().unit_price_amount == 9900


@pytest.mark.django_db
def test_repeated_skus_are_merged(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 5)
    order = _order(web, lines=[OrderLineInput("TEE-RED-M", 1), OrderLineInput("TEE-RED-M", 2)])
    assert list(order.lines.values_list("sku", "quantity")) == [("TEE-RED-M", 3)]


@pytest.mark.django_db
def test_bad_orders_are_refused_and_nothing_is_written(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 1)
    audit_before = AuditEvent.objects.count()
    with pytest.raises(UnknownSku, match="NOPE"):
        _order(web, lines=[OrderLineInput("TEE-RED-M", 1), OrderLineInput("NOPE", 1)])
    with pytest.raises(InvalidInput):
        _order(web, lines=[OrderLineInput("TEE-RED-M", -1)])
    with pytest.raises(InvalidInput, match="shipping_address"):
        order_create(
            sales_channel=web, lines=[OrderLineInput("TEE-RED-M", 1)], fulfilment_method="ship"
        )
    with pytest.raises(OutOfStock):
        _order(web, lines=[OrderLineInput("TEE-RED-M", 2)])
    assert Order.objects.count() == 0
    assert not Hold.objects.exists()
    assert AuditEvent.objects.count() == audit_before
    assert _level(tee, warehouse) == (1, 0, 0)


@pytest.mark.django_db
def test_reimporting_an_external_order_is_a_no_op(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 5)
    first = _order(web, lines=[OrderLineInput("TEE-RED-M", 1)], external_ref="shop-1001", paid=True)
    again = _order(web, lines=[OrderLineInput("TEE-RED-M", 1)], external_ref="shop-1001", paid=True)
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert _level(tee, warehouse) == (5, 1, 0)


@pytest.mark.django_db
def test_payment_converts_the_hold_into_an_allocation_and_a_fulfilment(
    web, tee, warehouse, stock
) -> None:
    stock(tee, warehouse, 5)
    order = _order(web, lines=[OrderLineInput("TEE-RED-M", 2)])
    order = order_mark_paid(order=order, payment_reference="PAY-1")
    assert order.status == "allocated"
    assert _level(tee, warehouse) == (5, 2, 0)
    fulfilment = order.fulfilments.get()
    assert (fulfilment.location_id, fulfilment.status) == (warehouse.pk, "pending")
    assert list(order.status_changes.values_list("from_status", "to_status")) == [
        ("pending_payment", "paid"),
        ("paid", "allocated"),
    ]
    again = order_mark_paid(order=order, payment_reference="PAY-1")
    assert again.status == "allocated"
    assert _level(tee, warehouse) == (5, 2, 0)


@pytest.mark.django_db
def test_a_paid_order_whose_hold_lapsed_is_rerouted(
    web, tee, warehouse, store_jingan, stock
) -> None:
    stock(tee, warehouse, 1)
    order = _order(web, lines=[OrderLineInput("TEE-RED-M", 1)])
    Hold.objects.filter(pk=order.hold_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    order = order_mark_paid(order=order, payment_reference="PAY-2")
    assert order.status == "allocated"
    assert _level(tee, warehouse) == (1, 1, 0)


@pytest.mark.django_db
def test_a_paid_order_without_stock_stays_paid_for_staff(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 1)
    order = _order(web, lines=[OrderLineInput("TEE-RED-M", 1)])
    Hold.objects.filter(pk=order.hold_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    hold_create(sales_channel=web, quantities={tee: 1}, ttl_seconds=60)  # someone else took it
    order = order_mark_paid(order=order, payment_reference="PAY-3")
    assert order.status == "paid"
    assert (
        AuditEvent.objects.filter(kind="order.allocation_failed", aggregate_id=order.number).count()
        == 1
    )


@pytest.mark.django_db
def test_an_order_can_use_a_live_drop_hold(web, tee, warehouse, stock, shopper) -> None:
    stock(tee, warehouse, 3)
    hold = hold_create(
        sales_channel=web, quantities={tee: 1}, kind="live_drop", owner=shopper, ttl_seconds=120
    )
    order = _order(web, lines=[OrderLineInput("TEE-RED-M", 1)], hold=hold, customer=shopper)
    assert order.hold_id == hold.pk
    assert _level(tee, warehouse) == (3, 0, 1)
    with pytest.raises(InvalidInput, match="match the hold"):
        other = hold_create(sales_channel=web, quantities={tee: 1}, owner=shopper, ttl_seconds=60)
        _order(web, lines=[OrderLineInput("TEE-RED-M", 2)], hold=other, customer=shopper)


@pytest.mark.django_db
def test_cancel_releases_held_and_allocated_units(web, tee, mug, warehouse, stock) -> None:
    stock(tee, warehouse, 5)
    stock(mug, warehouse, 5)
    pending = _order(web, lines=[OrderLineInput("TEE-RED-M", 2)])
    paid = _order(web, lines=[OrderLineInput("MUG-WHITE", 1)], paid=True)
    order_cancel(order=pending, actor=None, reason="changed mind")
    order_cancel(order=paid, actor=None, reason="fraud check")
    assert _level(tee, warehouse) == (5, 0, 0)
    assert _level(mug, warehouse) == (5, 0, 0)
    assert paid.fulfilments.get().status == "cancelled"
    with pytest.raises(InvalidTransition, match="cannot move from 'cancelled' to 'cancelled'"):
        order_cancel(order=paid, actor=None)


@pytest.mark.django_db
def test_illegal_transitions_name_both_states(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 1)
    order = _order(web, lines=[OrderLineInput("TEE-RED-M", 1)])
    with pytest.raises(
        InvalidTransition, match="order cannot move from 'pending_payment' to 'shipped'"
    ):
        transition_order(order=order, target="shipped", actor=None)
    order.refresh_from_db()
    assert order.status == "pending_payment"


@pytest.mark.django_db
def test_every_change_lands_in_an_intact_audit_chain(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 5)
    order = _order(web, lines=[OrderLineInput("TEE-RED-M", 1)], paid=True)
    order_cancel(order=order, actor=None)
    kinds = list(AuditEvent.objects.values_list("kind", flat=True))
    for expected in (
        "stock.receive",
        "hold.created",
        "order.created",
        "stock.allocate",
        "stock.deallocate",
    ):
        assert expected in kinds
    assert audit_verify_chain().intact


@pytest.mark.django_db
def test_trusted_callers_can_price_the_order_themselves(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 2)
    order = _order(
        web,
        lines=[OrderLineInput("TEE-RED-M", 2)],
        unit_price_overrides={"TEE-RED-M": 9900},
        shipping_amount=1000,
        discount_amount=500,
    )
    assert (order.subtotal_amount, order.shipping_amount, order.discount_amount) == (
        19800,
        1000,
        500,
    )
    assert order.total_amount == 20300
    with pytest.raises(InvalidInput, match="discount_amount"):
        _order(web, lines=[OrderLineInput("TEE-RED-M", 1)], discount_amount=10**9)
