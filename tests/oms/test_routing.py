import pytest

from oms.errors import InvalidInput, OutOfStock
from oms.routing import Placement, ShipTo, distance_km, route_order

JINGAN = ShipTo(31.2290, 121.4480)


def test_distance_between_shanghai_and_beijing_is_about_1070_km() -> None:
    assert 1060 < distance_km(31.2304, 121.4737, 39.9042, 116.4074) < 1080


@pytest.mark.django_db
def test_shipping_goes_to_the_nearest_location_that_fills_the_whole_order(
    web, tee, mug, warehouse, store_jingan, store_pudong, stock
) -> None:
    for location in (warehouse, store_jingan, store_pudong):
        stock(tee, location, 5)
        stock(mug, location, 5)
    plan = route_order(
        sales_channel=web, quantities={tee: 1, mug: 1}, method="ship", ship_to=JINGAN
    )
    assert {p.location_id for p in plan} == {store_jingan.pk}


@pytest.mark.django_db
def test_without_coordinates_priority_decides(web, tee, warehouse, store_jingan, stock) -> None:
    stock(tee, warehouse, 5)
    stock(tee, store_jingan, 5)
    plan = route_order(sales_channel=web, quantities={tee: 2}, method="ship")
    assert plan == [Placement(tee.pk, warehouse.pk, 2)]


@pytest.mark.django_db
def test_a_location_that_fills_everything_beats_a_nearer_partial_one(
    web, tee, mug, warehouse, store_jingan, stock
) -> None:
    stock(tee, store_jingan, 5)
    stock(tee, warehouse, 5)
    stock(mug, warehouse, 5)
    plan = route_order(
        sales_channel=web, quantities={tee: 1, mug: 1}, method="ship", ship_to=JINGAN
    )
    assert {p.location_id for p in plan} == {warehouse.pk}


@pytest.mark.django_db
def test_the_order_splits_only_when_no_single_location_can_fill_it(
    web, tee, mug, warehouse, store_jingan, stock
) -> None:
    stock(tee, store_jingan, 1)
    stock(mug, warehouse, 1)
    plan = route_order(
        sales_channel=web, quantities={tee: 1, mug: 1}, method="ship", ship_to=JINGAN
    )
    assert sorted(plan, key=lambda p: p.variant_id) == [
        Placement(tee.pk, store_jingan.pk, 1),
        Placement(mug.pk, warehouse.pk, 1),
    ]
    web.allow_split = False
    web.save()
    with pytest.raises(OutOfStock, match="splitting is not allowed"):
        route_order(sales_channel=web, quantities={tee: 1, mug: 1}, method="ship")


@pytest.mark.django_db
def test_pickup_takes_everything_from_the_chosen_store(
    web, tee, warehouse, store_pudong, stock
) -> None:
    stock(tee, warehouse, 10)
    stock(tee, store_pudong, 1)
    plan = route_order(
        sales_channel=web, quantities={tee: 1}, method="pickup", pickup_location=store_pudong
    )
    assert plan == [Placement(tee.pk, store_pudong.pk, 1)]
    with pytest.raises(OutOfStock):
        route_order(
            sales_channel=web, quantities={tee: 2}, method="pickup", pickup_location=store_pudong
        )


@pytest.mark.django_db
def test_pickup_at_a_warehouse_is_refused(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 1)
    with pytest.raises(InvalidInput, match="does not offer pick-up"):
        route_order(
            sales_channel=web, quantities={tee: 1}, method="pickup", pickup_location=warehouse
        )


@pytest.mark.django_db
def test_ship_from_store_never_uses_the_warehouse(web, tee, warehouse, store_pudong, stock) -> None:
    stock(tee, warehouse, 10)
    stock(tee, store_pudong, 1)
    plan = route_order(sales_channel=web, quantities={tee: 1}, method="ship_from_store")
    assert plan == [Placement(tee.pk, store_pudong.pk, 1)]
