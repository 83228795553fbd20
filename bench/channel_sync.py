"""Benchmark: a burst of sales while three marketplace simulators are connected.

LiveHub path: every sale is a stock movement (outbox entry in the same transaction);
worker threads run the real task bodies (``kernel.outbox_relay`` ->
``channels_sync`` coalescing -> ``stock_push_due``) against local Shopify, WooCommerce
and TOP simulators with their rate limits. Propagation of a sale = time from its commit
until the marketplace shows a quantity at or below the one that sale left.
Baseline, same run: push each change as it happens (one call per change per
marketplace, no coalescing, no client-side rate gate; a 429 drops the update).

    python bench/channel_sync.py [--quick] [--sales N] [--skus N] [--rate N]
        [--database-url URL]

Sales come at ``--rate`` per second (default 100; 0 = as fast as the sellers can), so
the propagation figures are for a known offered load: everything here shares one
process (sellers, workers, simulators), and faster sellers would take the CPU the
workers need.

Workers are threads in this process calling the Celery task bodies directly: the
broker hop of a real deployment is not measured. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://127.0.0.1:5432/livehub_bench"
INITIAL_UNITS = 1000
#: the SKUs are the sizes of products, this many per product; Taobao lists a product as
#: one item with a SKU per size, the other marketplaces address each size's inventory
SIZES_PER_PRODUCT = 5


def setup_django(database_url: str) -> None:
    if database_url:
        from bench.stock_contention import ensure_postgres_database

        ensure_postgres_database(database_url)
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("LIVEHUB_DATA_DIR", "/tmp/livehub-bench-channel-sync")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Connections of earlier runs point at simulators that are gone: retire them.
    from channels_sync.models import Connection, PendingStockPush

    Connection.objects.update(enabled=False)
    PendingStockPush.objects.all().delete()


def build_world(tag: str, skus: int, sims: dict[str, Any]) -> dict[str, Any]:
    """A warehouse, ``skus`` variants (sizes of products) with stock, three marketplace
    sales channels."""
    from django.utils import timezone

    from channels_sync.models import RemoteQuantity
    from channels_sync.services.connections import connection_upsert, listing_map
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
    variants = []
    for i in range(skus):
        if i % SIZES_PER_PRODUCT == 0:
            product = Product.objects.create(
                merchant=merchant, slug=f"p{stamp}-{i}", name_en=f"P{i}", name_zh=f"品{i}"
            )
        variant = ProductVariant.objects.create(
            product=product, sku=f"S{stamp}-{i}", price_amount=100, currency="CNY"
        )
        stock_receive(variant=variant, location=location, quantity=INITIAL_UNITS, reason="bench")
        variants.append(variant)
    creds = {
        "shopify": {"access_token": "shpat_test", "webhook_secret": "shpss_test"},
        "woocommerce": {"consumer_key": "ck_test", "consumer_secret": "cs_test"},
        "taobao": {"app_key": "12345678", "app_secret": "top_secret", "session": "6100top"},
    }
    rates = {"shopify": 4.0, "woocommerce": 4.0, "taobao": 45.0}
    connections = {}
    for platform, sim in sims.items():
        channel = SalesChannel.objects.create(
            code=f"{platform[:2]}{stamp}"[:32], name=platform, kind="marketplace", currency="CNY"
        )
        channel.locations.add(location)
        connection = connection_upsert(
            sales_channel=channel,
            platform=platform,
            base_url=sim.url,
            credentials=creds[platform],
            remote_location_id="gid://shopify/Location/1" if platform == "shopify" else "",
            rate_limit_per_s=rates[platform],
        )
        items: dict[int, str] = {}  # product -> Taobao num_iid
        for v in variants:
            sub_id = ""
            if platform == "taobao":
                external_id, sub_id = sim.add_sku(
                    sku=v.sku, available=INITIAL_UNITS, item_id=items.get(v.product_id, "")
                )
                items[v.product_id] = external_id
            else:
                external_id = sim.add_item(sku=v.sku, available=INITIAL_UNITS)
            listing_map(
                connection=connection, variant=v, external_sku=v.sku, external_id=external_id,
                external_sub_id=sub_id,
            )  # fmt: skip
            RemoteQuantity.objects.create(
                connection=connection, variant=v, quantity=INITIAL_UNITS, pushed_at=timezone.now()
            )
        connections[platform] = connection
    return {"location": location, "variants": variants, "connections": connections}


def sell(location: Any, variant: Any) -> None:
    from django.db import transaction

    from oms.services.stock import StockDelta, stock_move

    with transaction.atomic():
        moved = stock_move(
            variant_id=variant.pk,
            location_id=location.pk,
            delta=StockDelta(on_hand=-1),
            kind="ship",
            reference="pos:bench",
            reason="POS sale",
        )
    assert moved


def make_sims() -> dict[str, Any]:
    from channels_sync.simulators.shopify import ShopifySimulator
    from channels_sync.simulators.taobao import TaobaoSimulator
    from channels_sync.simulators.woocommerce import WooCommerceSimulator

    return {
        "shopify": ShopifySimulator().start(),
        "woocommerce": WooCommerceSimulator().start(),
        # An ISV app with a raised TOP quota; one call per SKU needs more calls/s.
        "taobao": TaobaoSimulator(bucket=(100, 50)).start(),
    }


def sale_plan(sales: int, skus: int) -> list[int]:
    import random

    rng = random.Random(11)
    return [rng.randrange(skus) for _ in range(sales)]


def run_livehub(sales: int, skus: int, sellers: int, rate: float) -> dict[str, Any]:
    from django.db import connection as db

    from channels_sync.services.stock_push import stock_push_due
    from hub.kernel.outbox import outbox_relay

    sims = make_sims()
    world = build_world("L", skus, sims)
    variants, location = world["variants"], world["location"]
    plan = sale_plan(sales, skus)
    while outbox_relay():  # the set-up's own stock receipts are not part of the burst
        pass
    from channels_sync.models import PendingStockPush

    PendingStockPush.objects.all().delete()
    from hub.kernel.models import OutboxMessage

    first_message = OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first()
    commits: dict[int, list[float]] = {v.pk: [] for v in variants}
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []

    def worker(body: Any) -> None:
        try:
            while not stop.is_set():
                try:
                    busy = body()
                except Exception as exc:  # a task failure: Celery would log and retry
                    errors.append(repr(exc))
                    busy = 0
                if not busy:
                    time.sleep(0.02)
        finally:
            db.close()

    # Celery workers (4 threads each) run overlapping relays and push tasks.
    workers = [
        threading.Thread(target=worker, args=(lambda: outbox_relay(limit=50),), daemon=True)
        for _ in range(4)
    ]
    workers += [
        threading.Thread(target=worker, args=(lambda: stock_push_due().pushed,), daemon=True)
        for _ in range(3)
    ]
    for t in workers:
        t.start()

    def seller(chunk: list[int], offset: int) -> None:
        try:
            for k, index in enumerate(chunk):
                if rate:  # this seller's sales are every sellers/rate seconds
                    due = started + (k * sellers + offset) / rate
                    time.sleep(max(0.0, due - time.monotonic()))
                variant = variants[index]
                sell(location, variant)
                with lock:
                    commits[variant.pk].append(time.monotonic())
        finally:
            db.close()

    chunks = [plan[i::sellers] for i in range(sellers)]
    started = time.monotonic()
    threads = [threading.Thread(target=seller, args=(c, i)) for i, c in enumerate(chunks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sales_s = time.monotonic() - started
    expected = {v.pk: INITIAL_UNITS - len(commits[v.pk]) for v in variants}
    deadline = time.monotonic() + 120
    exact = False
    while time.monotonic() < deadline:
        if all_exact(world, sims, expected):
            exact = True
            break
        time.sleep(0.1)
    stop.set()
    for t in workers:
        t.join(timeout=10)
    if errors:
        print(f"  {len(errors)} worker errors, first: {errors[0]}", file=sys.stderr)
    relay = sorted(
        (done - made).total_seconds()
        for made, done in OutboxMessage.objects.filter(
            id__gt=first_message or 0, topic="stock.changed", dispatched_at__isnull=False
        ).values_list("created_at", "dispatched_at")
    )
    print(
        f"  outbox relay (commit -> handlers done): p50 {pct(relay, 0.5):.3f}s "
        f"p95 {pct(relay, 0.95):.3f}s"
    )
    latencies = propagation(world, sims, commits)
    calls = sum(s.calls for s in sims.values())
    throttled = sum(s.throttled for s in sims.values())
    for s in sims.values():
        s.stop()
    return {
        "latencies": latencies,
        "calls": calls,
        "throttled": throttled,
        "exact": exact,
        "sales_s": sales_s,
    }


def remote_quantity(sim: Any, listing: Any) -> int:
    """What the marketplace shows for a listing (a Taobao SKU, or an item)."""
    if listing.external_sub_id:
        with sim.lock:
            return int(sim.items[listing.external_id]["skus"][listing.external_sub_id]["quantity"])
    return int(sim.inventory[listing.external_id])


def all_exact(world: dict[str, Any], sims: dict[str, Any], expected: dict[int, int]) -> bool:
    return all(
        remote_quantity(sims[platform], listing) == expected[listing.variant_id]
        for platform, connection in world["connections"].items()
        for listing in connection.listings.all()
    )


def propagation(
    world: dict[str, Any], sims: dict[str, Any], commits: dict[int, list[float]]
) -> list[float]:
    latencies = []
    for platform, connection in world["connections"].items():
        start = len(latencies)
        writes: dict[str, list[tuple[float, int]]] = {}
        for at, item, quantity in sims[platform].stock_writes:
            writes.setdefault(item, []).append((at, quantity))
        for listing in connection.listings.all():
            item_writes = writes.get(listing.external_sub_id or listing.external_id, [])
            for k, committed in enumerate(sorted(commits[listing.variant_id]), start=1):
                target = INITIAL_UNITS - k
                seen = next((at for at, q in item_writes if q <= target and at >= committed), None)
                if seen is None:  # written before our clock read the commit: as good as instant
                    seen = next((at for at, q in item_writes if q <= target), committed)
                latencies.append(max(0.0, seen - committed))
        mine = latencies[start:]
        print(
            f"  {platform}: p50 {pct(mine, 0.5):.3f}s p95 {pct(mine, 0.95):.3f}s, "
            f"{sims[platform].calls} API calls, {len(sims[platform].stock_writes)} SKU writes"
        )
    return latencies


def run_baseline(sales: int, skus: int) -> dict[str, Any]:
    from channels_sync.connectors.base import QuantityUpdate
    from channels_sync.errors import RemoteError
    from channels_sync.services.connections import connector_of
    from oms.selectors import available_to_promise

    sims = make_sims()
    world = build_world("B", skus, sims)
    variants, location = world["variants"], world["location"]
    connectors = {}
    for platform, connection in world["connections"].items():
        connection.rate_limit_per_s = 0  # naive: no client-side pacing
        connectors[platform] = (connection, connector_of(connection))
    listings = {
        (p, m.variant_id): m for p, c in world["connections"].items() for m in c.listings.all()
    }
    sold = {v.pk: 0 for v in variants}
    for index in sale_plan(sales, skus):
        variant = variants[index]
        sell(location, variant)
        sold[variant.pk] += 1
        for platform, (connection, connector) in connectors.items():
            qty = available_to_promise(
                sales_channel=connection.sales_channel, variant_ids=[variant.pk]
            )[variant.pk]
            m = listings[(platform, variant.pk)]
            with contextlib.suppress(RemoteError):  # naive: a refused change is lost
                connector.push_quantities(
                    [QuantityUpdate(m.external_sku, m.external_id, m.external_sub_id, qty, None)]
                )
    expected = {v.pk: INITIAL_UNITS - sold[v.pk] for v in variants}
    exact = all_exact(world, sims, expected)
    calls = sum(s.calls for s in sims.values())
    throttled = sum(s.throttled for s in sims.values())
    for s in sims.values():
        s.stop()
    return {"calls": calls, "throttled": throttled, "exact": exact}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sales", type=int, help="default 1000 (--quick: 250)")
    parser.add_argument("--skus", type=int, help="default 100 (--quick: 25)")
    parser.add_argument("--sellers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=100.0, help="sales/s (0: unpaced)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        help="'' for the embedded SQLite database",
    )
    options = parser.parse_args()
    options.sales = options.sales or (250 if options.quick else 1000)
    options.skus = options.skus or (25 if options.quick else 100)
    setup_django(options.database_url)
    live = run_livehub(options.sales, options.skus, options.sellers, options.rate)
    base = run_baseline(options.sales, options.skus)
    lat = live["latencies"]
    print(
        f"LiveHub: {options.sales} sales over {options.skus} SKUs in {live['sales_s']:.2f}s, "
        f"3 marketplaces: {live['calls']} API calls, {live['throttled']} throttled, "
        f"p50 {pct(lat, 0.5):.3f}s p95 {pct(lat, 0.95):.3f}s max {max(lat, default=0):.3f}s, "
        f"exact={live['exact']}"
    )
    print(
        f"Baseline (push each change): {base['calls']} API calls, {base['throttled']} throttled, "
        f"exact={base['exact']}"
    )
    print(
        json.dumps(
            {
                "changes": options.sales,
                "sales_per_s": round(options.sales / live["sales_s"], 1),
                "api_calls": live["calls"],
                "p50_s": round(pct(lat, 0.5), 3),
                "p95_s": round(pct(lat, 0.95), 3),
                "max_s": round(max(lat, default=0.0), 3),
                "mean_s": round(statistics.fmean(lat), 3) if lat else 0.0,
                "throttled": live["throttled"],
                "exact": live["exact"],
                "baseline_api_calls": base["calls"],
                "baseline_429s": base["throttled"],
                "baseline_exact": base["exact"],
            }
        )
    )


if __name__ == "__main__":
    main()
