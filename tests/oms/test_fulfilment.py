import pytest

from hub.kernel.errors import InvalidTransition
from oms.errors import InvalidInput, WrongLocation, WrongPickupCode
from oms.models import StockLevel
from oms.selectors import pick_list
from oms.services.fulfilment import (
    fulfilment_handover,
    fulfilment_mark_delivered,
    fulfilment_pack,
    fulfilment_ready_for_pickup,
    fulfilment_ship,
    fulfilment_start_picking,
)
from oms.services.orders import OrderLineInput, order_create

ADDRESS = {"name": "Han Meimei", "city": "Shanghai"}


def _level(variant, location) -> tuple[int, int, int]:
    level = StockLevel.objects.get(variant=variant, location=location)
    return level.on_hand, level.allocated, level.reserved


def _paid(web, lines, **kwargs):
    kwargs.setdefault("fulfilment_method", "ship")
    if kwargs["fulfilment_method"] != "pickup":
        kwargs.setdefault("shipping_address", ADDRESS)
    return order_create(sales_channel=web, lines=lines, paid=True, **kwargs)


@pytest.mark.django_db
def test_pick_pack_ship_deliver(web, tee, store_jingan, stock, jingan_staff) -> None:
    stock(tee, store_jingan, 4)
    order = _paid(web, [OrderLineInput("TEE-RED-M", 2)])
    fulfilment = order.fulfilments.get()
    rows = pick_list(location=store_jingan)
    assert [(r.sku, r.quantity, r.orders) for r in rows] == [("TEE-RED-M", 2, [order.number])]
    fulfilment_start_picking(fulfilment=fulfilment, actor=jingan_staff)
    fulfilment_pack(fulfilment=fulfilment, actor=jingan_staff)
    order.refresh_from_db()
    assert order.status == "packed"
    fulfilment_ship(
        fulfilment=fulfilment, carrier="SF Express", tracking_number="SF123", actor=jingan_staff
    )
    order.refresh_from_db()
    assert order.status == "shipped"
    assert _level(tee, store_jingan) == (2, 0, 0)
    assert order.lines.get().quantity_fulfilled == 2
    fulfilment_mark_delivered(fulfilment=fulfilment, actor=jingan_staff)
    order.refresh_from_db()
    assert order.status == "delivered"
    assert pick_list(location=store_jingan) == []


@pytest.mark.django_db
def test_staff_cannot_work_another_store(web, tee, store_jingan, stock, pudong_staff) -> None:
    stock(tee, store_jingan, 1)
    order = _paid(web, [OrderLineInput("TEE-RED-M", 1)])
    with pytest.raises(WrongLocation, match="not staff at jingan"):
        fulfilment_start_picking(fulfilment=order.fulfilments.get(), actor=pudong_staff)
    assert order.fulfilments.get().status == "pending"


@pytest.mark.django_db
def test_shipping_before_packing_is_refused(web, tee, store_jingan, stock) -> None:
    stock(tee, store_jingan, 1)
    order = _paid(web, [OrderLineInput("TEE-RED-M", 1)])
    with pytest.raises(InvalidTransition, match="'pending' to 'shipped'"):
        fulfilment_ship(
            fulfilment=order.fulfilments.get(), carrier="SF", tracking_number="1", actor=None
        )
    assert _level(tee, store_jingan) == (1, 1, 0)


@pytest.mark.django_db
def test_partial_shipment_leaves_the_rest_allocated_in_a_new_fulfilment(
    web, tee, mug, store_jingan, stock
) -> None:
    stock(tee, store_jingan, 3)
    stock(mug, store_jingan, 3)
    order = _paid(web, [OrderLineInput("TEE-RED-M", 3), OrderLineInput("MUG-WHITE", 1)])
    fulfilment = order.fulfilments.get()
    fulfilment_start_picking(fulfilment=fulfilment, actor=None)
    fulfilment_pack(fulfilment=fulfilment, actor=None)
    tee_line = order.lines.get(sku="TEE-RED-M")
    fulfilment_ship(
        fulfilment=fulfilment,
        carrier="SF",
        tracking_number="SF1",
        actor=None,
        quantities={tee_line.pk: 2},
    )
    order.refresh_from_db()
    assert order.status == "partially_shipped"
    assert _level(tee, store_jingan) == (1, 1, 0)
    assert _level(mug, store_jingan) == (3, 1, 0)
    rest = order.fulfilments.exclude(pk=fulfilment.pk).get()
    assert sorted((line.order_line.sku, line.quantity) for line in rest.lines.all()) == [
        ("MUG-WHITE", 1),
        ("TEE-RED-M", 1),
    ]
    fulfilment_start_picking(fulfilment=rest, actor=None)
    fulfilment_pack(fulfilment=rest, actor=None)
    fulfilment_ship(fulfilment=rest, carrier="SF", tracking_number="SF2", actor=None)
    order.refresh_from_db()
    assert order.status == "shipped"
    assert _level(tee, store_jingan) == (0, 0, 0)


@pytest.mark.django_db
def test_pickup_in_store_with_code(web, tee, store_pudong, stock, pudong_staff) -> None:
    stock(tee, store_pudong, 2)
    order = _paid(
        web,
        [OrderLineInput("TEE-RED-M", 1)],
        fulfilment_method="pickup",
        pickup_location=store_pudong,
    )
    fulfilment = order.fulfilments.get()
    fulfilment_start_picking(fulfilment=fulfilment, actor=pudong_staff)
    fulfilment_pack(fulfilment=fulfilment, actor=pudong_staff)
    fulfilment = fulfilment_ready_for_pickup(fulfilment=fulfilment, actor=pudong_staff)
    order.refresh_from_db()
    assert order.status == "ready_for_pickup"
    assert len(fulfilment.pickup_code) == 8
    with pytest.raises(WrongPickupCode):
        fulfilment_handover(fulfilment=fulfilment, pickup_code="WRONG123", actor=pudong_staff)
    assert _level(tee, store_pudong) == (2, 1, 0)
    fulfilment_handover(
        fulfilment=fulfilment, pickup_code=fulfilment.pickup_code.lower(), actor=pudong_staff
    )
    order.refresh_from_db()
    assert order.status == "picked_up"
    assert _level(tee, store_pudong) == (1, 0, 0)


@pytest.mark.django_db
def test_a_pickup_order_cannot_be_shipped(web, tee, store_pudong, stock) -> None:
    stock(tee, store_pudong, 1)
    order = _paid(
        web,
        [OrderLineInput("TEE-RED-M", 1)],
        fulfilment_method="pickup",
        pickup_location=store_pudong,
    )
    with pytest.raises(InvalidInput):
        fulfilment_ship(
            fulfilment=order.fulfilments.get(), carrier="SF", tracking_number="1", actor=None
        )
