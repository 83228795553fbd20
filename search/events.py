"""Outbox subscriptions: catalogue and stock changes re-index the products they touch.

``stock.changed`` (published by oms) carries a variant; ``product.changed`` carries a
product id (for when oms publishes product edits). Indexing runs in a Celery task after
the relay's transaction commits, so the relay never waits on the index.
"""

from __future__ import annotations

from typing import Any

from hub.kernel.effects import after_commit
from hub.kernel.outbox import register_outbox_batch_handler, register_outbox_handler
from oms.models import ProductVariant


def _schedule(product_ids: list[int]) -> None:
    from search.tasks import search_index_products

    after_commit(lambda: search_index_products.delay(product_ids))


def on_stock_changed(payloads: list[dict[str, Any]]) -> None:
    """A relay round's stock changes: one lookup, one indexing task for their products."""
    variant_ids = {int(payload["variant_id"]) for payload in payloads}
    product_ids = (
        ProductVariant.objects.filter(pk__in=variant_ids)
        .values_list("product_id", flat=True)
        .distinct()
    )
    found = sorted(product_ids)
    if found:
        _schedule(found)


def on_product_changed(payload: dict[str, Any]) -> None:
    _schedule([int(payload["product"])])


def register() -> None:
    register_outbox_batch_handler("stock.changed", on_stock_changed)
    register_outbox_handler("product.changed", on_product_changed)
