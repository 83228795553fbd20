"""Outbox subscriptions: catalogue and stock changes re-index the products they touch.

``stock.changed`` (published by oms) carries a variant; ``product.changed`` carries a
product id (for when oms publishes product edits). Indexing runs in a Celery task after
the relay's transaction commits, so the relay never waits on the index.
"""

from __future__ import annotations

from typing import Any

from hub.kernel.effects import after_commit
from hub.kernel.outbox import register_outbox_handler
from oms.models import ProductVariant


def _schedule(product_ids: list[int]) -> None:
    from search.tasks import search_index_products

    after_commit(lambda: search_index_products.delay(product_ids))


def on_stock_changed(payload: dict[str, Any]) -> None:
    product_id = (
        ProductVariant.objects.filter(pk=payload["variant_id"])
        .values_list("product_id", flat=True)
        .first()
    )
    if product_id is not None:
        _schedule([product_id])


def on_product_changed(payload: dict[str, Any]) -> None:
    _schedule([int(payload["product"])])


def register() -> None:
    register_outbox_handler("stock.changed", on_stock_changed)
    register_outbox_handler("product.changed", on_product_changed)
