"""Store sales for the sync tests: a stock movement, as a till would record it."""

from __future__ import annotations

from django.db import transaction

from oms.models import Location, ProductVariant
from oms.services.stock import StockDelta, stock_move


def pos_sale(variant: ProductVariant, location: Location, units: int = 1) -> None:
    """Sell ``units`` over the counter at ``location`` (one committed stock movement)."""
    with transaction.atomic():
        assert stock_move(
            variant_id=variant.pk,
            location_id=location.pk,
            delta=StockDelta(on_hand=-units),
            kind="ship",
            reference="pos:test",
            reason="POS sale",
        )
