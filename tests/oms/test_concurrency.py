"""Zero oversell and exactly-once effects under real concurrency.

Threads and forked processes hit the configured database (SQLite file in WAL mode, or
PostgreSQL when DATABASE_URL is set) at the same moment; every worker has its own
connection, so the database, not Python, decides who wins.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connections

from hub.kernel.audit import audit_verify_chain
from hub.kernel.errors import DomainError
from oms.models import Hold, Order, SalesChannel, StockLevel
from oms.selectors import ledger_totals
from oms.services.holds import HoldRequest, hold_create, hold_create_many
from oms.services.orders import OrderLineInput, order_create

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

UNITS = 7
THREADS = 60
PROCESSES = 6
THREADS_PER_PROCESS = 10


def _reserve_one(channel_id: int, variant_id: int) -> str:
    from oms.models import ProductVariant

    try:
        hold_create(
            sales_channel=SalesChannel.objects.get(pk=channel_id),
            quantities={ProductVariant.objects.get(pk=variant_id): 1},
            ttl_seconds=300,
        )
        return "sold"
    except DomainError as error:
        return error.code
    finally:
        connections.close_all()


def _run_threads(count: int, work: Callable[[], str]) -> list[str]:
    barrier = threading.Barrier(count)
    results: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        outcome = work()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _run_threads_each(works: list[Callable[[], str]]) -> list[str]:
    """One thread per callable, all released at once."""
    barrier = threading.Barrier(len(works))
    results: list[str] = []
    lock = threading.Lock()

    def run(work: Callable[[], str]) -> None:
        barrier.wait()
        outcome = work()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(w,)) for w in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _process_main(channel_id: int, variant_id: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    connections.close_all()  # never share the parent's socket
    for outcome in _run_threads(THREADS_PER_PROCESS, lambda: _reserve_one(channel_id, variant_id)):
        queue.put(outcome)


def _assert_books_balance(variant, locations) -> None:
    for location in locations:
        level = StockLevel.objects.get(variant=variant, location=location)
        assert level.on_hand - level.allocated - level.reserved >= 0
        assert ledger_totals(variant_id=variant.pk, location_id=location.pk) == {
            "on_hand": level.on_hand,
            "allocated": level.allocated,
            "reserved": level.reserved,
        }
    assert audit_verify_chain().intact


def test_threads_racing_for_the_last_units_never_oversell(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, UNITS)
    results = _run_threads(THREADS, lambda: _reserve_one(web.pk, tee.pk))
    assert Counter(results) == {"sold": UNITS, "out_of_stock": THREADS - UNITS}
    assert StockLevel.objects.get(variant=tee, location=warehouse).reserved == UNITS
    assert Hold.objects.count() == UNITS
    _assert_books_balance(tee, [warehouse])


def test_processes_racing_across_locations_never_oversell(
    web, tee, warehouse, store_jingan, stock
) -> None:
    stock(tee, warehouse, 4)
    stock(tee, store_jingan, 3)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [
        context.Process(target=_process_main, args=(web.pk, tee.pk, queue))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=180) for _ in range(PROCESSES * THREADS_PER_PROCESS)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert Counter(results) == {"sold": 7, "out_of_stock": PROCESSES * THREADS_PER_PROCESS - 7}
    levels = {lvl.location_id: lvl.reserved for lvl in StockLevel.objects.filter(variant=tee)}
    assert levels == {warehouse.pk: 4, store_jingan.pk: 3}
    _assert_books_balance(tee, [warehouse, store_jingan])


def test_a_marketplace_order_imported_by_many_workers_at_once_exists_once(
    web, tee, warehouse, stock
) -> None:
    stock(tee, warehouse, 10)

    def import_order() -> str:
        try:
            order = order_create(
                sales_channel=SalesChannel.objects.get(pk=web.pk),
                lines=[OrderLineInput("TEE-RED-M", 1)],
                fulfilment_method="ship",
                shipping_address={"city": "Shanghai"},
                external_ref="shopify-5001",
                paid=True,
            )
            return order.number
        finally:
            connections.close_all()

    numbers = _run_threads(20, import_order)
    assert len(set(numbers)) == 1
    assert Order.objects.count() == 1
    level = StockLevel.objects.get(variant=tee, location=warehouse)
    assert (level.on_hand, level.allocated, level.reserved) == (10, 1, 0)
    _assert_books_balance(tee, [warehouse])


def test_one_idempotency_key_sent_by_many_clients_creates_one_order(
    web, tee, warehouse, stock, shopper
) -> None:
    from rest_framework.test import APIClient

    stock(tee, warehouse, 10)
    body = {
        "sales_channel": "web",
        "lines": [{"sku": "TEE-RED-M", "quantity": 1}],
        "fulfilment_method": "ship",
        "shipping_address": {"city": "Shanghai"},
    }

    def post() -> str:
        client = APIClient()
        client.force_authenticate(shopper)
        try:
            response = client.post(
                "/api/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
            )
            return f"{response.status_code}:{response.json().get('number')}"
        finally:
            connections.close_all()

    results = _run_threads(16, post)
    assert len(set(results)) == 1 and results[0].startswith("201:")
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(variant=tee, location=warehouse).reserved == 1


# ---- hold_create_many: batches racing each other and single holds -------------------------

BATCH = 4


def _reserve_batch(channel_id: int, variant_id: int) -> list[str]:
    try:
        results = hold_create_many(
            sales_channel=SalesChannel.objects.get(pk=channel_id),
            requests=[HoldRequest(quantities={variant_id: 1}) for _ in range(BATCH)],
            ttl_seconds=300,
        )
        return ["sold" if isinstance(r, Hold) else r.code for r in results]
    finally:
        connections.close_all()


def _batch_process_main(channel_id: int, variant_id: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    connections.close_all()
    batches = _run_threads(3, lambda: ",".join(_reserve_batch(channel_id, variant_id)))
    for batch in batches:
        for outcome in batch.split(","):
            queue.put(outcome)


def test_batches_and_single_holds_racing_for_the_last_units_never_oversell(
    web, tee, warehouse, stock
) -> None:
    stock(tee, warehouse, UNITS)
    work = [
        (lambda: ",".join(_reserve_batch(web.pk, tee.pk))) if i % 2 else
        (lambda: _reserve_one(web.pk, tee.pk))
        for i in range(20)
    ]  # fmt: skip
    results = [o for r in _run_threads_each(work) for o in r.split(",")]
    assert Counter(results) == {"sold": UNITS, "out_of_stock": 10 * BATCH + 10 - UNITS}
    assert StockLevel.objects.get(variant=tee, location=warehouse).reserved == UNITS
    assert Hold.objects.count() == UNITS
    _assert_books_balance(tee, [warehouse])


def test_batches_in_processes_racing_across_locations_never_oversell(
    web, tee, warehouse, store_jingan, stock
) -> None:
    stock(tee, warehouse, 4)
    stock(tee, store_jingan, 3)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [
        context.Process(target=_batch_process_main, args=(web.pk, tee.pk, queue)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=180) for _ in range(4 * 3 * BATCH)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert Counter(results) == {"sold": 7, "out_of_stock": 4 * 3 * BATCH - 7}
    levels = {lvl.location_id: lvl.reserved for lvl in StockLevel.objects.filter(variant=tee)}
    assert levels == {warehouse.pk: 4, store_jingan.pk: 3}
    _assert_books_balance(tee, [warehouse, store_jingan])
