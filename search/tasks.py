"""Celery entry points for search (thin: ids in, service call)."""

from __future__ import annotations

from celery import shared_task

from search import services


@shared_task(
    name="search.search_index_products",
    autoretry_for=(Exception,),
    max_retries=5,
    retry_backoff=True,
)
def search_index_products(product_ids: list[int]) -> int:
    return services.search_index_products(product_ids=product_ids)
