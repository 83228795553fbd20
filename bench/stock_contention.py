"""Benchmark: many clients reserve the same SKU at once.

Compares LiveHub's reservation path (``hold_create``: conditional UPDATE, ledger row,
audit-chain entry, outbox message) with a naive read-then-write baseline (read the
row, check it in Python, save the new value) in the same run, on PostgreSQL by default.
Also LiveHub's batch path (``hold_create_many``, ``BATCH`` one-unit holds per call, as
the live-drop drainer makes them): one conditional UPDATE and one audit entry per batch.

    python bench/stock_contention.py [--quick] [--database-url URL] [--clients N] [--units N]

The database is ``--database-url``, else ``BENCH_DATABASE_URL``, else ``DATABASE_URL`` when
it is PostgreSQL, else a local ``livehub_bench`` PostgreSQL database.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://127.0.0.1:5432/livehub_bench"


def ensure_postgres_database(url: str) -> None:
    """Create the benchmark database if it does not exist yet."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def prepare(units: int) -> tuple[int, int, int]:
    """A fresh SKU with ``units`` units at one warehouse; returns ids."""
    from oms.models import Location, Merchant, Product, ProductVariant, SalesChannel
    from oms.services.stock import stock_receive

    stamp = f"{os.getpid()}-{time.time_ns()}"
    merchant, _ = Merchant.objects.get_or_create(name="Bench Mall")
    location = Location.objects.create(
        merchant=merchant,
        code=f"bench-{stamp}"[:32],
        kind="warehouse",
        name_en="Bench",
        name_zh="压测",
        latitude=31.0,
        longitude=121.0,
    )
    channel = SalesChannel.objects.create(
        code=f"b-{stamp}"[:32], name="Bench", kind="web", currency="CNY"
    )
    channel.locations.add(location)
    product = Product.objects.create(
        merchant=merchant, slug=f"bench-{stamp}", name_en="Bench", name_zh="压测"
    )
    variant = ProductVariant.objects.create(
        product=product, sku=f"BENCH-{stamp}", price_amount=100, currency="CNY"
    )
    stock_receive(variant=variant, location=location, quantity=units)
    return channel.pk, variant.pk, location.pk


def livehub_client(
    channel_id: int, variant_id: int, _location_id: int, start: float
) -> tuple[int, float]:
    """Reserve one unit at a time through the real service until refused."""
    from django.db import connections

    from oms.errors import OutOfStock
    from oms.models import ProductVariant, SalesChannel
    from oms.services.holds import hold_create

    connections.close_all()
    channel = SalesChannel.objects.get(pk=channel_id)
    variant = ProductVariant.objects.get(pk=variant_id)
    _wait_until(start)
    sold = 0
    while True:
        try:
            hold_create(sales_channel=channel, quantities={variant: 1}, ttl_seconds=600)
        except OutOfStock:
            return sold, time.time()
        sold += 1


BATCH = 25


def batch_client(
    channel_id: int, variant_id: int, _location_id: int, start: float
) -> tuple[int, float]:
    """Reserve ``BATCH`` one-unit holds per call through ``hold_create_many`` until none fit."""
    from django.db import connections

    from oms.models import Hold, SalesChannel
    from oms.services.holds import HoldRequest, hold_create_many

    connections.close_all()
    channel = SalesChannel.objects.get(pk=channel_id)
    _wait_until(start)
    sold = 0
    while True:
        results = hold_create_many(
            sales_channel=channel,
            requests=[HoldRequest(quantities={variant_id: 1}) for _ in range(BATCH)],
            ttl_seconds=600,
        )
        made = sum(isinstance(r, Hold) for r in results)
        sold += made
        if made < BATCH:
            return sold, time.time()


def naive_client(
    channel_id: int, variant_id: int, location_id: int, start: float
) -> tuple[int, float]:
    """The classic bug: read the row, decide in Python, write the new value back."""
    from datetime import timedelta

    from django.db import connections
    from django.utils import timezone

    from hub.kernel.ids import opaque_token
    from oms.models import Hold, HoldLine, StockLevel

    connections.close_all()
    _wait_until(start)
    sold = 0
    while True:
        level = StockLevel.objects.get(variant_id=variant_id, location_id=location_id)
        if level.on_hand - level.allocated - level.reserved < 1:
            return sold, time.time()
        level.reserved = level.reserved + 1
        level.save(update_fields=["reserved"])
        hold = Hold.objects.create(
            token=opaque_token(12),
            sales_channel_id=channel_id,
            kind="checkout",
            expires_at=timezone.now() + timedelta(minutes=10),
        )
        HoldLine.objects.create(
            hold=hold, variant_id=variant_id, location_id=location_id, quantity=1
        )
        sold += 1


def _wait_until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        time.sleep(delay)


def run(client: str, clients: int, units: int) -> dict[str, float | int]:
    from django.db import connections

    ids = prepare(units)
    connections.close_all()
    target = {"livehub": livehub_client, "batch": batch_client}.get(client, naive_client)
    context = multiprocessing.get_context("fork")
    start = time.time() + 1.0 + clients * 0.05  # every client connected before the gun
    with context.Pool(clients) as pool:
        results = pool.starmap(target, [(*ids, start) for _ in range(clients)])
    sold = sum(count for count, _finished in results)
    elapsed = max(finished for _count, finished in results) - start
    return {
        "sold": sold,
        "units": units,
        "oversold": max(0, sold - units),
        "seconds": round(elapsed, 3),
        "reservations_per_s": round(sold / elapsed, 1) if elapsed > 0 else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small run, well under a minute")
    env_url = os.environ.get("DATABASE_URL", "")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL")
        or (env_url if env_url.startswith("postgres") else DEFAULT_DATABASE_URL),
    )
    parser.add_argument("--clients", type=int)
    parser.add_argument("--units", type=int)
    args = parser.parse_args()
    clients = args.clients or (8 if args.quick else 32)
    units = args.units or (300 if args.quick else 3000)

    if args.database_url.startswith("postgres"):
        ensure_postgres_database(args.database_url)
    setup_django(args.database_url)

    ours = run("livehub", clients, units)
    batch = run("batch", clients, units)
    naive = run("naive", clients, units)
    print(f"livehub : {ours}")
    print(f"batch   : {batch}")
    print(f"baseline: {naive}")
    print(
        json.dumps(
            {
                "bench": "stock_contention",
                "database": urlparse(args.database_url).scheme,
                "clients": clients,
                "units": units,
                "oversold": ours["oversold"],
                "reservations_per_s": ours["reservations_per_s"],
                "batch_oversold": batch["oversold"],
                "batch_reservations_per_s": batch["reservations_per_s"],
                "baseline_oversold": naive["oversold"],
                "baseline_reservations_per_s": naive["reservations_per_s"],
            }
        )
    )


if __name__ == "__main__":
    main()
