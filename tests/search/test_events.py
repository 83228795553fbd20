"""Index updates flow through the outbox and a real Celery worker (no eager mode)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from hub.celery import app as celery_app
from hub.kernel import outbox
from oms.models import Location, Merchant, Product, ProductVariant
from oms.services.stock import stock_receive
from search.query import SearchQuery
from search.selectors import search_products
from search.services import search_reindex


@pytest.fixture
def empty_broker_queue() -> Iterator[None]:
    """The worker below must see only this test's tasks.

    Other tests ``.delay()`` tasks that no worker consumes; on the file-system broker they
    pile up in the data dir's queue (and the transport lists and sorts the whole folder on
    every poll), so a worker started here would first drain that backlog and this test
    would time out. Purging the queue before and after makes the wait depend only on the
    two tasks this test causes.
    """
    celery_app.control.purge()
    yield
    celery_app.control.purge()


@pytest.mark.django_db(transaction=True)
def test_stock_change_reaches_the_index_through_outbox_and_worker(
    merchant: Merchant,
    warehouse: Location,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    empty_broker_queue: None,
) -> None:
    from celery.contrib.testing.worker import start_worker

    monkeypatch.setattr(outbox, "_last_relay_scheduled", 0.0)
    monkeypatch.setattr(outbox, "_trailing_until", 0.0)
    product = Product.objects.create(
        merchant=merchant, slug="kettle", name_en="Steel Kettle", name_zh="不锈钢水壶"
    )
    variant = ProductVariant.objects.create(
        product=product, sku="KETTLE", price_amount=19900, currency="CNY"
    )
    with override_settings(ELASTICSEARCH_URL="", SEARCH_EMBEDDED_PATH=tmp_path / "s.db"):
        search_reindex()
        assert [h.in_stock for h in search_products(SearchQuery(text="kettle")).hits] == [False]
        celery_app.loader.import_module("celery.contrib.testing.tasks")
        with start_worker(celery_app, perform_ping_check=False, pool="threads", concurrency=1):
            stock_receive(variant=variant, location=warehouse, quantity=3, reason="test")
            # Two hops (outbox relay, then the index task), each picked up within the
            # broker's 1 s poll; the deadline only guards against a hung worker.
            deadline = time.monotonic() + 60
            in_stock = [False]
            while time.monotonic() < deadline and in_stock != [True]:
                time.sleep(0.1)
                in_stock = [h.in_stock for h in search_products(SearchQuery(text="kettle")).hits]
        assert in_stock == [True]
