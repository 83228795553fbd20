"""Writes to the search index: (re)index products by id, full reindex."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from oms.models import Product
from search.backends import get_backend
from search.documents import all_product_id_batches, product_documents


def search_index_products(*, product_ids: Iterable[int]) -> int:
    """Bring the given products up to date in the index; returns documents written.

    Idempotent: it reads the current state, so running it twice (or late) is harmless.
    Inactive, deleted or variant-less products are removed from the index.
    """
    docs, gone = product_documents(product_ids)
    backend = get_backend()
    backend.upsert(docs)
    backend.delete(gone)
    backend.refresh()
    return len(docs)


def search_reindex(*, batch: int = 500, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from the catalogue; ``progress`` gets each batch's size."""
    backend = get_backend()
    backend.reset()
    written = 0
    for ids in all_product_id_batches(batch):
        docs, _gone = product_documents(ids)
        backend.upsert(docs)
        written += len(docs)
        if progress is not None:
            progress(len(ids))
    backend.refresh()
    return written


def search_catalogue_size() -> int:
    return Product.objects.count()
