"""Benchmark: a storm of duplicate payment notifications, delivered concurrently.

Gateways deliver each notification at least once and often several times at once.
LiveHub's path (store raw, verify the HMAC/RSA signature, lock the payment row, apply the
state-machine move, mark the order paid and allocate stock) is compared in the same run
with a naive baseline that reads the status and writes it without a lock
(check-then-act). The figure that matters besides throughput is how many payments were
"paid" more than once: it must be zero for LiveHub.

    python bench/payment_notifications.py [--quick] [--database-url URL]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stock_contention import ensure_postgres_database, setup_django  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://127.0.0.1:5432/livehub_bench"


def prepare(payments: int) -> list[tuple[dict[str, str], bytes, int]]:
    """``payments`` pending orders with sandbox payments; returns signed notifications."""
    from django.contrib.auth.models import User

    from oms.models import Location, Merchant, Product, ProductVariant, SalesChannel
    from oms.services.orders import OrderLineInput, order_create
    from oms.services.stock import stock_receive
    from payments.providers import get_provider
    from payments.services import payment_create

    stamp = f"{os.getpid()}-{time.time_ns()}"
    merchant, _ = Merchant.objects.get_or_create(name="Bench Mall")
    location = Location.objects.create(
        merchant=merchant,
        code=f"pn-{stamp}"[:32],
        kind="warehouse",
        name_en="Bench",
        name_zh="压测",
        latitude=31.0,
        longitude=121.0,
    )
    channel = SalesChannel.objects.create(
        code=f"pn-{stamp}"[:32], name="Bench", kind="web", currency="CNY"
    )
    channel.locations.add(location)
    product = Product.objects.create(
        merchant=merchant, slug=f"pn-{stamp}", name_en="Bench", name_zh="压测"
    )
    variant = ProductVariant.objects.create(
        product=product, sku=f"PN-{stamp}", price_amount=100, currency="CNY"
    )
    stock_receive(variant=variant, location=location, quantity=payments * 2)
    buyer = User.objects.create(username=f"pn-{stamp}")
    sandbox = get_provider("sandbox")
    notes = []
    for _ in range(payments):
        order = order_create(
            sales_channel=channel,
            lines=[OrderLineInput(variant.sku, 1)],
            fulfilment_method="ship",
            customer=buyer,
            shipping_address={"city": "SH"},
        )
        payment = payment_create(order=order, provider="sandbox", method="page", actor=buyer)
        headers, body = sandbox.settle(reference=payment.reference, outcome="succeeded")  # type: ignore[attr-defined]
        notes.append((headers, body, payment.pk))
    return notes


def storm(notes: list[Any], copies: int, threads: int, deliver: Any) -> float:
    work = [n for n in notes for _ in range(copies)]
    chunks = [work[i::threads] for i in range(threads)]
    errors: list[BaseException] = []

    def run(chunk: list[Any]) -> None:
        from django.db import connection

        try:
            for note in chunk:
                deliver(note)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def livehub_deliver(note: Any) -> None:
    from payments.services import payment_handle_notification

    headers, body, _ = note
    ack, _record = payment_handle_notification(provider="sandbox", headers=headers, body=body)
    assert ack.status == 200


def naive_deliver(note: Any) -> None:
    """Read, check in Python, write: no row lock, no state table."""
    from oms.models import Order
    from payments.models import Payment, PaymentStatusChange

    _, _, payment_id = note
    payment = Payment.objects.get(pk=payment_id)
    if payment.status == "pending":
        time.sleep(0.0005)  # the gap every real handler has between read and write
        Payment.objects.filter(pk=payment_id).update(status="succeeded")
        PaymentStatusChange.objects.create(
            payment_id=payment_id, from_status="pending", to_status="succeeded", source="naive"
        )
        Order.objects.filter(pk=payment.order_id).update(payment_reference=payment.reference)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    args = parser.parse_args()
    payments, copies, threads = (40, 4, 4) if args.quick else (200, 6, 8)
    if args.database_url.startswith("postgres"):
        ensure_postgres_database(args.database_url)
    os.environ.setdefault("LIVEHUB_DATA_DIR", "/tmp/livehub-bench-data")
    setup_django(args.database_url)
    from django.conf import settings

    settings.LIVEHUB_PAYMENT_PROVIDERS = {"sandbox": {"secret": "bench"}}
    # One bench buyer and address for many orders: lift the velocity limits.
    settings.LIVEHUB_RISK = {"max_orders_per_user": 10**9, "max_orders_per_address": 10**9}

    from payments.models import PaymentStatusChange

    ours = prepare(payments)
    ours_seconds = storm(ours, copies, threads, livehub_deliver)
    ours_ids = [n[2] for n in ours]
    ours_changes = PaymentStatusChange.objects.filter(payment_id__in=ours_ids).count()

    naive = prepare(payments)
    naive_seconds = storm(naive, copies, threads, naive_deliver)
    naive_ids = [n[2] for n in naive]
    naive_changes = PaymentStatusChange.objects.filter(payment_id__in=naive_ids).count()

    total = payments * copies
    result = {
        "bench": "payment_notifications",
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "payments": payments,
        "copies_each": copies,
        "threads": threads,
        "livehub_notifications_per_s": round(total / ours_seconds, 1),
        "livehub_duplicate_transitions": ours_changes - payments,
        "naive_notifications_per_s": round(total / naive_seconds, 1),
        "naive_duplicate_transitions": naive_changes - payments,
    }
    print(
        f"LiveHub: {total} notifications in {ours_seconds:.2f}s, "
        f"{result['livehub_duplicate_transitions']} duplicate transitions"
    )
    print(
        f"naive:   {total} notifications in {naive_seconds:.2f}s, "
        f"{result['naive_duplicate_transitions']} duplicate transitions"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
