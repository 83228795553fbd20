from datetime import timedelta

import pytest
from django.utils import timezone

from oms.errors import HoldNotActive, InvalidInput, OutOfStock
from oms.models import Hold, StockLevel
from oms.selectors import available_to_promise
from oms.services.holds import hold_create, hold_expire_due, hold_release


def _level(variant, location) -> tuple[int, int, int]:
    level = StockLevel.objects.get(variant=variant, location=location)
    return level.on_hand, level.allocated, level.reserved


@pytest.mark.django_db
def test_a_hold_reserves_units_and_lowers_availability(web, tee, warehouse, stock, shopper) -> None:
    stock(tee, warehouse, 5)
    hold = hold_create(sales_channel=web, quantities={tee: 2}, owner=shopper, ttl_seconds=60)
    assert hold.status == "active"
    assert _level(tee, warehouse) == (5, 0, 2)
    assert available_to_promise(sales_channel=web, variant_ids=[tee.pk]) == {tee.pk: 3}


@pytest.mark.django_db
def test_a_hold_beyond_availability_is_refused_and_writes_nothing(
    web, tee, warehouse, stock
) -> None:
    stock(tee, warehouse, 1)
    with pytest.raises(OutOfStock, match="only 1 of TEE-RED-M available, 2 requested"):
        hold_create(sales_channel=web, quantities={tee: 2}, ttl_seconds=60)
    assert _level(tee, warehouse) == (1, 0, 0)
    assert not Hold.objects.exists()


@pytest.mark.django_db
def test_release_gives_units_back_once(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 5)
    hold = hold_create(sales_channel=web, quantities={tee: 2}, ttl_seconds=60)
    hold_release(hold=hold)
    assert _level(tee, warehouse) == (5, 0, 0)
    with pytest.raises(HoldNotActive):
        hold_release(hold=hold)
    assert _level(tee, warehouse) == (5, 0, 0)


@pytest.mark.django_db
def test_expired_holds_do_not_count_and_are_swept(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 3)
    hold = hold_create(sales_channel=web, quantities={tee: 3}, ttl_seconds=60)
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert available_to_promise(sales_channel=web, variant_ids=[tee.pk]) == {tee.pk: 3}
    assert hold_expire_due() == 1
    assert hold_expire_due() == 0
    hold.refresh_from_db()
    assert hold.status == "expired"
    assert _level(tee, warehouse) == (3, 0, 0)


@pytest.mark.django_db
def test_a_new_hold_takes_units_pinned_by_an_expired_hold(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 1)
    stale = hold_create(sales_channel=web, quantities={tee: 1}, ttl_seconds=60)
    Hold.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    fresh = hold_create(sales_channel=web, quantities={tee: 1}, ttl_seconds=60)
    stale.refresh_from_db()
    assert (stale.status, fresh.status) == ("expired", "active")
    assert _level(tee, warehouse) == (1, 0, 1)


@pytest.mark.django_db
def test_safety_stock_of_the_sales_channel_is_kept_back(web, tee, warehouse, stock) -> None:
    web.safety_stock = 2
    web.save()
    stock(tee, warehouse, 5)
    assert available_to_promise(sales_channel=web, variant_ids=[tee.pk]) == {tee.pk: 3}
    with pytest.raises(OutOfStock):
        hold_create(sales_channel=web, quantities={tee: 4}, ttl_seconds=60)
    hold_create(sales_channel=web, quantities={tee: 3}, ttl_seconds=60)


@pytest.mark.django_db
def test_hold_input_is_validated(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 5)
    with pytest.raises(InvalidInput):
        hold_create(sales_channel=web, quantities={tee: -1}, ttl_seconds=60)
    with pytest.raises(InvalidInput):
        hold_create(sales_channel=web, quantities={}, ttl_seconds=60)
    with pytest.raises(InvalidInput):
        hold_create(sales_channel=web, quantities={tee: 1}, ttl_seconds=0)
    assert _level(tee, warehouse) == (5, 0, 0)
