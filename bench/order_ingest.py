"""Benchmark: 1,000 Shopify webhooks (10% redelivered, some out of order) into LiveHub.

Each webhook goes through the real edge (``POST /api/sync/webhooks/<id>/``: HMAC check,
raw storage, dedupe by ``X-Shopify-Webhook-Id``) and is then processed by the task body
(``webhook_process``: exactly-once import through ``order_create``), from several
threads at once. Baseline in the same run: a naive importer that creates an order for
every webhook it sees (no dedupe, no version check).

    python bench/order_ingest.py [--quick] [--webhooks N] [--database-url URL]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.channel_sync import DEFAULT_DATABASE_URL, setup_django  # noqa: E402

SKUS = 50


def build(tag: str) -> tuple[Any, Any, list[Any]]:
    from channels_sync.services.connections import connection_upsert, listing_map
    from channels_sync.simulators.shopify import ShopifySimulator
    from oms.models import Location, Merchant, Product, ProductVariant, SalesChannel
    from oms.services.stock import stock_receive

    stamp = f"{tag}{os.getpid()}{time.time_ns() % 10**9}"
    merchant, _ = Merchant.objects.get_or_create(name="Bench Mall")
    location = Location.objects.create(
        merchant=merchant,
        code=f"w{stamp}"[:32],
        kind="warehouse",
        name_en="W",
        name_zh="仓",
        latitude=31.0,
        longitude=121.0,
    )
    channel = SalesChannel.objects.create(
        code=f"sh{stamp}"[:32], name="Shopify", kind="marketplace", currency="CNY"
    )
    channel.locations.add(location)
    sim = ShopifySimulator().start()
    connection = connection_upsert(
        sales_channel=channel,
        platform="shopify",
        base_url=sim.url,
        credentials={"access_token": "shpat_test", "webhook_secret": "shpss_test"},
        remote_location_id=sim.location_id,
    )
    variants = []
    for i in range(SKUS):
        product = Product.objects.create(
            merchant=merchant, slug=f"p{stamp}-{i}", name_en=f"P{i}", name_zh=f"品{i}"
        )
        v = ProductVariant.objects.create(
            product=product, sku=f"O{stamp}-{i}", price_amount=100, currency="CNY"
        )
        stock_receive(variant=v, location=location, quantity=100_000, reason="bench")
        listing_map(
            connection=connection,
            variant=v,
            external_sku=v.sku,
            external_id=sim.add_item(sku=v.sku),
        )
        variants.append(v)
    return sim, connection, variants


def deliveries(sim: Any, variants: list[Any], total: int) -> list[tuple[dict[str, str], bytes]]:
    """~85% first deliveries, 10% redeliveries (same webhook id), 5% newer versions that
    arrive before the order's first webhook."""
    rng = random.Random(3)
    redeliveries = total // 10
    out_of_order = total // 20
    unique = total - redeliveries - out_of_order
    firsts = []
    early_updates = []
    for n in range(unique):
        variant = rng.choice(variants)
        pending = n < out_of_order
        order = sim.place_order(
            lines=[(variant.sku, rng.randint(1, 3), "99.00")],
            financial_status="pending" if pending else "paid",
        )
        firsts.append(sim.webhook(dict(order), "orders/create"))
        if pending:  # its 'paid' update overtakes the create
            sim.update_order(order["id"], financial_status="paid")
            early_updates.append((n, sim.webhook(dict(order), "orders/paid")))
    stream = list(firsts)
    for n, update in reversed(early_updates):
        stream.insert(n, update)
    for _ in range(redeliveries):
        stream.insert(rng.randrange(len(stream)), rng.choice(firsts))
    return stream


def run_livehub(stream: list[tuple[dict[str, str], bytes]], connection: Any, threads: int) -> float:
    from django.db import connection as db
    from django.test import Client

    from channels_sync.models import WebhookDelivery
    from channels_sync.services.webhooks import webhook_process

    url = f"/api/sync/webhooks/{connection.pk}/"
    errors: list[str] = []

    def work(chunk: list[tuple[dict[str, str], bytes]]) -> None:
        client = Client()
        try:
            for headers, body in chunk:
                extra = {
                    f"HTTP_{k.upper().replace('-', '_')}": v
                    for k, v in headers.items()
                    if k != "Content-Type"
                }
                response = client.generic(
                    "POST", url, body, content_type="application/json", **extra
                )
                if response.status_code not in (200, 202):
                    errors.append(f"{response.status_code} {response.content[:200]!r}")
                    continue
                delivery = WebhookDelivery.objects.get(
                    connection=connection, delivery_id=headers["X-Shopify-Webhook-Id"]
                )
                webhook_process(delivery_id=delivery.pk)
        finally:
            db.close()

    # Consecutive slices keep the stream's order per thread, as a webhook queue would.
    size = -(-len(stream) // threads)
    workers = [
        threading.Thread(target=work, args=(stream[i : i + size],))
        for i in range(0, len(stream), size)
    ]
    started = time.monotonic()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    if errors:
        print(f"errors: {len(errors)}; first: {errors[0]}")
    return time.monotonic() - started


def run_baseline(stream: list[tuple[dict[str, str], bytes]], connection: Any) -> tuple[int, float]:
    """Naive: every webhook body becomes an order (no dedupe, no versions)."""
    from channels_sync.connectors.shopify.mapping import shopify_order
    from oms.services.orders import OrderLineInput, order_create

    started = time.monotonic()
    created = 0
    for n, (_, body) in enumerate(stream):
        data = shopify_order(json.loads(body))
        order_create(
            sales_channel=connection.sales_channel,
            lines=[OrderLineInput(line.sku, line.quantity) for line in data.lines],
            fulfilment_method="ship",
            shipping_address={"name": "x"},
            external_ref=f"naive-{n}",
            paid=data.paid,
        )
        created += 1
    return created, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--webhooks", type=int, help="default 1000 (--quick: 300)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    options = parser.parse_args()
    options.webhooks = options.webhooks or (300 if options.quick else 1000)
    setup_django(options.database_url)
    from django.db.models import Count

    from oms.models import Order

    sim, connection, variants = build("I")
    stream = deliveries(sim, variants, options.webhooks)
    expected = len({json.loads(body)["id"] for _, body in stream})
    elapsed = run_livehub(stream, connection, options.threads)
    orders = Order.objects.filter(sales_channel=connection.sales_channel)
    created = orders.count()
    per_ref = orders.values("external_ref").annotate(n=Count("id")).filter(n__gt=1).count()
    unpaid = orders.filter(status="pending_payment").count()
    sim.stop()
    bsim, bconnection, bvariants = build("N")
    bstream = deliveries(bsim, bvariants, options.webhooks)
    naive_created, naive_s = run_baseline(bstream, bconnection)
    bsim.stop()
    print(
        f"LiveHub: {len(stream)} webhooks -> {created} orders (expected {expected}), "
        f"{per_ref} duplicated, {unpaid} left unpaid by out-of-order updates, "
        f"{created / elapsed:.1f} orders/s, {len(stream) / elapsed:.1f} webhooks/s"
    )
    print(
        f"Naive: {naive_created} orders for {expected} real ones "
        f"({naive_created - expected} duplicates), {naive_created / naive_s:.1f} orders/s"
    )
    print(
        json.dumps(
            {
                "webhooks": len(stream),
                "orders_created": created,
                "orders_expected": expected,
                "duplicates_created": per_ref + max(0, created - expected),
                "out_of_order_left_stale": unpaid,
                "orders_per_s": round(created / elapsed, 1),
                "webhooks_per_s": round(len(stream) / elapsed, 1),
                "baseline_orders_created": naive_created,
                "baseline_duplicates_created": naive_created - expected,
            }
        )
    )


if __name__ == "__main__":
    main()
