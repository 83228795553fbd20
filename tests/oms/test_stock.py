import pytest

from oms.errors import InvalidInput, OutOfStock
from oms.models import StockLevel, StockMovement
from oms.selectors import ledger_totals
from oms.services.stock import StockDelta, stock_adjust, stock_move, stock_receive


@pytest.mark.django_db
def test_receive_adds_on_hand_and_writes_ledger_and_audit(tee, warehouse) -> None:
    level = stock_receive(variant=tee, location=warehouse, quantity=5, reason="PO-1")
    stock_receive(variant=tee, location=warehouse, quantity=3)
    level.refresh_from_db()
    assert (level.on_hand, level.allocated, level.reserved) == (8, 0, 0)
    assert list(StockMovement.objects.values_list("kind", "on_hand_delta")) == [
        ("receive", 5),
        ("receive", 3),
    ]
    assert ledger_totals(variant_id=tee.pk, location_id=warehouse.pk) == {
        "on_hand": 8,
        "allocated": 0,
        "reserved": 0,
    }


@pytest.mark.django_db
def test_receive_refuses_non_positive_quantities(tee, warehouse) -> None:
    with pytest.raises(InvalidInput):
        stock_receive(variant=tee, location=warehouse, quantity=0)
    assert not StockLevel.objects.exists()


@pytest.mark.django_db
def test_a_move_that_would_oversell_writes_nothing(tee, warehouse, stock) -> None:
    stock(tee, warehouse, 2)
    assert stock_move(
        variant_id=tee.pk, location_id=warehouse.pk, delta=StockDelta(reserved=2), kind="reserve"
    )
    moved = stock_move(
        variant_id=tee.pk, location_id=warehouse.pk, delta=StockDelta(reserved=1), kind="reserve"
    )
    assert moved is False
    level = StockLevel.objects.get(variant=tee, location=warehouse)
    assert (level.on_hand, level.reserved) == (2, 2)
    assert StockMovement.objects.filter(kind="reserve").count() == 1


@pytest.mark.django_db
def test_safety_stock_stays_free(tee, warehouse, stock) -> None:
    stock(tee, warehouse, 5)
    assert not stock_move(
        variant_id=tee.pk,
        location_id=warehouse.pk,
        delta=StockDelta(reserved=4),
        kind="reserve",
        keep_free=2,
    )
    assert stock_move(
        variant_id=tee.pk,
        location_id=warehouse.pk,
        delta=StockDelta(reserved=3),
        kind="reserve",
        keep_free=2,
    )


@pytest.mark.django_db
def test_adjust_cannot_take_units_that_are_promised(tee, warehouse, stock) -> None:
    stock(tee, warehouse, 3)
    stock_move(
        variant_id=tee.pk, location_id=warehouse.pk, delta=StockDelta(allocated=2), kind="allocate"
    )
    with pytest.raises(OutOfStock):
        stock_adjust(variant=tee, location=warehouse, delta=-2, reason="count")
    level = stock_adjust(variant=tee, location=warehouse, delta=-1, reason="damaged")
    assert (level.on_hand, level.allocated) == (2, 2)


@pytest.mark.django_db
def test_adjust_needs_a_reason(tee, warehouse, stock) -> None:
    stock(tee, warehouse, 3)
    with pytest.raises(InvalidInput, match="reason"):
        stock_adjust(variant=tee, location=warehouse, delta=-1, reason=" ")
