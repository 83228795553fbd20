"""Catalog edits: announce a product change so search and sales-channel listings follow."""

from __future__ import annotations

from django.db import transaction

from hub.kernel.outbox import outbox_publish
from oms.models import Product


def product_changed(*, product: Product) -> None:
    """Publish ``product.changed`` in the caller's transaction (after any product edit)."""
    with transaction.atomic():
        outbox_publish(topic="product.changed", payload={"product": product.pk})
