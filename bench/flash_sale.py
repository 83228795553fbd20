"""Benchmark: a flash drop with more buyers than units, over real WebSockets.

M buyers (default 2,000) connect to the room and all press buy at once for a drop of K
units (default 500), one unit each. LiveHub's path: the Redis Lua quota gate (check,
per-buyer limit, take and stream append in one step), the hold made durable in the
database by the drainer. Baseline, in the same run: each buy locks the stock row in
PostgreSQL (SELECT ... FOR UPDATE), checks and reserves, and writes the hold.

    python bench/flash_sale.py [--quick] [--buyers M] [--quota K]

Needs Redis and PostgreSQL (see bench/live_fanout.py). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from live_fanout import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    connect_all,
    make_show,
    make_users,
    percentile,
    setup_django,
    start_daphne,
)

# ---- the baseline buy (imported by Daphne as bench.flash_sale:baseline_app) ----------------


def _baseline_app() -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    import django

    django.setup()
    from datetime import timedelta

    from channels.auth import AuthMiddlewareStack
    from channels.db import database_sync_to_async
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.db import transaction
    from django.urls import path
    from django.utils import timezone

    from hub.kernel.ids import opaque_token
    from oms.models import Hold, HoldLine, SalesChannel, StockLevel

    def buy(user_id: int, sku: str, quantity: int) -> bool:
        with transaction.atomic():
            level = (
                StockLevel.objects.select_for_update()
                .select_related("variant")
                .get(variant__sku=sku)
            )
            if level.free < quantity:
                return False
            level.reserved += quantity
            level.save(update_fields=["reserved"])
            hold = Hold.objects.create(
                token=opaque_token(12),
                sales_channel=SalesChannel.objects.get(code="bench-live"),
                kind=Hold.Kind.LIVE_DROP,
                owner_id=user_id,
                expires_at=timezone.now() + timedelta(minutes=10),
            )
            HoldLine.objects.create(
                hold=hold, variant=level.variant, location_id=level.location_id, quantity=quantity
            )
            return True

    class LockingRoom(AsyncWebsocketConsumer):  # type: ignore[misc]
        channel_layer_alias = "bench.none"  # needs no layer (like the LiveHub consumer)

        async def connect(self) -> None:
            await self.accept()
            await self.send(text_data=json.dumps({"type": "hello"}))

        async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
            message = json.loads(text_data or "{}")
            ok = await database_sync_to_async(buy)(
                self.scope["user"].pk, message["sku"], int(message["quantity"])
            )
            frame = {"type": "buy.result"} if ok else {"type": "error", "code": "sold_out"}
            await self.send(text_data=json.dumps(frame))

    return ProtocolTypeRouter(
        {
            "websocket": AuthMiddlewareStack(
                URLRouter([path("ws/bench/<str:room>/", LockingRoom.as_asgi())])
            )
        }
    )


if os.environ.get("LIVEHUB_BENCH_BASELINE") == "1":
    baseline_app = _baseline_app()


# ---- one run ----------------------------------------------------------------------------


async def run_sale(*, url: str, cookies: list[str], message: dict[str, Any]) -> dict[str, Any]:
    sockets = await connect_all([(url, c) for c in cookies])
    for ws in sockets:
        await ws.recv()  # hello
    latencies: list[float] = []
    outcomes: list[str] = []
    done_at: list[float] = []

    async def buy(ws: Any, index: int) -> None:
        sent = time.monotonic()
        await ws.send(json.dumps({**message, "key": f"tap-{index}"}))
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] in ("buy.result", "error"):
                break
        now = time.monotonic()
        latencies.append((now - sent) * 1000)
        outcomes.append("ok" if frame["type"] == "buy.result" else frame["code"])
        if frame["type"] == "buy.result":
            done_at.append(now)

    started = time.monotonic()
    await asyncio.gather(*(buy(ws, i) for i, ws in enumerate(sockets)))
    elapsed_ok = (max(done_at) - started) if done_at else float("nan")
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    held = outcomes.count("ok")
    return {
        "held": held,
        "holds_per_s": held / elapsed_ok if done_at else 0.0,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "errors": {k: outcomes.count(k) for k in set(outcomes) if k != "ok"},
        "started": started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="500 buyers for 150 units")
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--quota", type=int, default=500)
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
    args = parser.parse_args()
    if args.quick:
        args.buyers, args.quota = min(args.buyers, 500), min(args.quota, 150)

    env = setup_django(args.database_url, args.redis_url)
    from django.contrib.auth.models import User

    from live.models import DropClaim
    from live.services.drops import drop_claims_drain, drop_open
    from oms.models import StockLevel

    hosts = make_users("fh", 1, role="host")
    buyers = make_users("fb", args.buyers)
    cookies = [c for _u, c in buyers]
    host = User.objects.get(pk=hosts[0][0])
    print(f"load before: {os.getloadavg()}", flush=True)

    # LiveHub: plenty of stock, the drop's quota is the limit
    show, item, variant = make_show(host.pk, stock_units=args.buyers)
    drop = drop_open(show=show, item=item, actor=host, quota_units=args.quota, per_buyer_limit=1)
    proc, port = start_daphne({**env, "LIVEHUB_BENCH_BASELINE": "0"}, "hub.asgi:application")
    try:
        ours = asyncio.run(
            run_sale(
                url=f"ws://127.0.0.1:{port}/ws/live/{show.code}/",
                cookies=cookies,
                message={"type": "buy", "drop": drop.pk, "sku": variant.sku, "quantity": 1},
            )
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            drop_claims_drain(drop_id=drop.pk)
            if DropClaim.objects.filter(drop=drop, status="held").count() >= ours["held"]:
                break
            time.sleep(0.2)
        durable_s = time.monotonic() - ours["started"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    db_held = DropClaim.objects.filter(drop=drop, status="held").count()
    reserved = StockLevel.objects.get(variant=variant).reserved
    ours.update(db_held=db_held, stock_reserved=reserved, durable_holds_per_s=db_held / durable_s)
    print("livehub", json.dumps({k: v for k, v in ours.items() if k != "started"}), flush=True)

    # Baseline: exactly K units of stock, each buy locks the row
    _show2, _item2, variant2 = make_show(host.pk, stock_units=args.quota)
    proc, port = start_daphne(
        {**env, "LIVEHUB_BENCH_BASELINE": "1"}, "bench.flash_sale:baseline_app"
    )
    try:
        base = asyncio.run(
            run_sale(
                url=f"ws://127.0.0.1:{port}/ws/bench/x/",
                cookies=cookies,
                message={"type": "buy", "sku": variant2.sku, "quantity": 1},
            )
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print("baseline", json.dumps({k: v for k, v in base.items() if k != "started"}), flush=True)
    print(f"load after: {os.getloadavg()}", flush=True)
    held = max(ours["held"], db_held)
    print(json.dumps({
        "bench": "flash_sale",
        "buyers": args.buyers,
        "quota": args.quota,
        "held": ours["held"],
        "oversold": max(held - args.quota, 0) + max(reserved - args.quota, 0),
        "undersold": max(args.quota - min(ours["held"], db_held), 0),
        "holds_per_s": round(ours["holds_per_s"], 1),
        "durable_holds_per_s": round(ours["durable_holds_per_s"], 1),
        "p99_ms": round(ours["p99_ms"], 1),
        "baseline_held": base["held"],
        "baseline_holds_per_s": round(base["holds_per_s"], 1),
        "baseline_p99_ms": round(base["p99_ms"], 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
