"""Duplicate and concurrent deliveries against the real database, from many threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from channels_sync.models import PendingStockPush, WebhookDelivery
from channels_sync.services.stock_push import stock_push_due
from channels_sync.services.webhooks import webhook_process, webhook_receive
from hub.kernel.outbox import outbox_relay
from oms.models import Location, Order, ProductVariant
from tests.channels_sync.conftest import Marketplaces

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

Stock = Callable[[ProductVariant, Location, int], None]
THREADS = 6


def _run(work: Callable[[int], object]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def target(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_deliveries_of_one_order_create_one_order(
    marketplaces: Marketplaces, tee: ProductVariant, warehouse: Location, stock: Stock
) -> None:
    stock(tee, warehouse, 20)
    sim = marketplaces.shopify_sim
    remote = sim.place_order(lines=[("TEE-RED-M", 2, "129.00")])
    # Shopify retries one delivery (same id) and also sends orders/create + orders/paid.
    same = sim.webhook(remote, "orders/create", delivery_id="dup-1")
    bodies = [same, same, same] + [sim.webhook(remote, "orders/paid") for _ in range(3)]

    def deliver(i: int) -> None:
        headers, body = bodies[i]
        delivery, _ = webhook_receive(connection=marketplaces.shopify, headers=headers, body=body)
        webhook_process(delivery_id=delivery.pk)

    assert _run(deliver) == []
    assert WebhookDelivery.objects.count() == 4
    assert Order.objects.filter(external_ref=str(remote["id"])).count() == 1
    assert Order.objects.get().lines.get().quantity == 2


def test_concurrent_push_workers_push_each_change_once(
    marketplaces: Marketplaces,
    tee: ProductVariant,
    mug: ProductVariant,
    warehouse: Location,
    stock: Stock,
) -> None:
    stock(tee, warehouse, 9)
    stock(mug, warehouse, 4)
    outbox_relay()
    PendingStockPush.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    pushed: list[int] = []

    def work(_: int) -> None:
        pushed.append(stock_push_due().pushed)

    assert _run(work) == []
    assert sum(pushed) == 6  # 2 SKUs x 3 marketplaces, none twice
    assert [
        marketplaces.remote(c, "TEE-RED-M")
        for c in (marketplaces.shopify, marketplaces.woo, marketplaces.taobao)
    ] == [9, 9, 9]
    assert [
        marketplaces.remote(c, "MUG-WHITE")
        for c in (marketplaces.shopify, marketplaces.woo, marketplaces.taobao)
    ] == [4, 4, 4]
    assert len(marketplaces.shopify_sim.stock_writes) == 2
