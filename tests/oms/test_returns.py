import pytest

from oms.errors import InvalidInput, WrongLocation
from oms.models import StockLevel
from oms.services.orders import OrderLineInput, order_create
from oms.services.returns import return_inspect, return_receive, return_request
from tests.oms.orders import shipped_order


@pytest.mark.django_db
def test_return_at_any_store_restocks_that_store(
    web, tee, warehouse, store_pudong, stock, pudong_staff
) -> None:
    stock(tee, warehouse, 2)
    order = shipped_order(web, [OrderLineInput("TEE-RED-M", 2)])
    line = order.lines.get()
    rma = return_request(order=order, quantities={line.pk: 2}, reason="too small", actor=None)
    return_receive(rma=rma, location=store_pudong, actor=pudong_staff)
    return_lines = list(rma.lines.all())
    return_inspect(rma=rma, restock={return_lines[0].pk: True}, actor=pudong_staff)
    order.refresh_from_db()
    rma.refresh_from_db()
    assert (rma.status, order.status) == ("completed", "returned")
    assert StockLevel.objects.get(variant=tee, location=store_pudong).on_hand == 2
    assert StockLevel.objects.get(variant=tee, location=warehouse).on_hand == 0


@pytest.mark.django_db
def test_partial_return_and_write_off(web, tee, warehouse, store_jingan, stock) -> None:
    stock(tee, warehouse, 3)
    order = shipped_order(web, [OrderLineInput("TEE-RED-M", 3)])
    line = order.lines.get()
    rma = return_request(order=order, quantities={line.pk: 1}, actor=None)
    return_receive(rma=rma, location=store_jingan, actor=None)
    return_inspect(rma=rma, restock={rma.lines.get().pk: False}, actor=None)
    order.refresh_from_db()
    assert order.status == "partially_returned"
    assert not StockLevel.objects.filter(variant=tee, location=store_jingan, on_hand__gt=0).exists()


@pytest.mark.django_db
def test_cannot_return_more_than_was_delivered(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 2)
    order = shipped_order(web, [OrderLineInput("TEE-RED-M", 2)])
    line = order.lines.get()
    return_request(order=order, quantities={line.pk: 1}, actor=None)
    with pytest.raises(InvalidInput, match="can return 1-1 of TEE-RED-M"):
        return_request(order=order, quantities={line.pk: 2}, actor=None)


@pytest.mark.django_db
def test_returns_only_at_stores_that_take_them(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 1)
    order = shipped_order(web, [OrderLineInput("TEE-RED-M", 1)])
    rma = return_request(order=order, quantities={order.lines.get().pk: 1}, actor=None)
    with pytest.raises(InvalidInput, match="does not accept returns"):
        return_receive(rma=rma, location=warehouse, actor=None)


@pytest.mark.django_db
def test_staff_receive_returns_only_at_their_store(
    web, tee, warehouse, store_pudong, stock, jingan_staff
) -> None:
    stock(tee, warehouse, 1)
    order = shipped_order(web, [OrderLineInput("TEE-RED-M", 1)])
    rma = return_request(order=order, quantities={order.lines.get().pk: 1}, actor=None)
    with pytest.raises(WrongLocation):
        return_receive(rma=rma, location=store_pudong, actor=jingan_staff)
    rma.refresh_from_db()
    assert rma.status == "requested"


@pytest.mark.django_db
def test_an_unshipped_order_cannot_be_returned(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 1)
    order = order_create(
        sales_channel=web,
        lines=[OrderLineInput("TEE-RED-M", 1)],
        fulfilment_method="ship",
        shipping_address={"city": "SH"},
    )
    with pytest.raises(InvalidInput, match="pending_payment cannot be returned"):
        return_request(order=order, quantities={order.lines.get().pk: 1}, actor=None)
