"""Benchmark: a flash drop with more buyers than units, over real WebSockets.

M buyers (default 2,000) connect to the room and all press buy at once for a drop of K
units (default 500), one unit each. LiveHub's path: the Redis Lua quota gate (check,
per-buyer limit, take and stream append in one step), the hold made durable in the
database by the drainer. Baseline, in the same run: each buy locks the stock row in
PostgreSQL (SELECT ... FOR UPDATE), checks and reserves, and writes the hold.

    python bench/flash_sale.py [--quick] [--buyers M] [--quota K]

Needs Redis and PostgreSQL (see bench/live_fanout.py); ``--profile`` needs py-spy. The last
line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from live_fanout import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    ROOT,
    cpu_seconds,
    make_show,
    make_users,
    percentile,
    profile_server,
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


async def connect_patiently(url: str, cookies: list[str], parallel: int = 8) -> list[Any]:
    """Open one socket per cookie and wait for its hello, a few handshakes at a time.

    On a loaded 2-core machine a handshake (session, show, snapshot) can take seconds;
    this retries longer than ``connect_all`` and counts the hello as part of the connect.
    """
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(parallel)

    async def one(cookie: str) -> Any:
        async with gate:
            for attempt in range(10):
                try:
                    ws = await connect(
                        url, additional_headers={"Cookie": cookie, "Origin": "http://127.0.0.1"},
                        open_timeout=60, max_queue=None,
                    )  # fmt: skip
                    await asyncio.wait_for(ws.recv(), 60)  # hello
                    return ws
                except Exception:  # refused or dropped handshake under load: retry
                    await asyncio.sleep(0.5 * (attempt + 1))
            raise RuntimeError("could not connect")

    return list(await asyncio.gather(*(one(c) for c in cookies)))


def _buyer_worker(url: str, cookies: list[str], first_index: int, message: dict[str, Any],
                  conn: Any) -> None:  # fmt: skip
    """One client process: its share of the buyers, each one WebSocket and one tap.

    Sends ``"ready"`` once every socket got its hello, waits for the start time (wall
    clock, shared by every client process), taps buy on every socket at once, and sends
    back ``(sent, answered, outcome)`` per buyer (wall-clock seconds).
    """

    async def work() -> None:
        sockets = await connect_patiently(url, cookies)
        loop = asyncio.get_running_loop()
        conn.send("ready")
        start_at = await loop.run_in_executor(None, conn.recv)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        rows: list[tuple[float, float, str]] = []

        async def buy(ws: Any, index: int) -> None:
            sent = time.time()
            await ws.send(json.dumps({**message, "key": f"tap-{index}"}))
            while True:
                raw = await ws.recv()
                if '"buy.result"' not in raw and '"error"' not in raw:
                    continue  # a room frame (drop state, presence): not our answer
                frame = json.loads(raw)
                if frame.get("type") in ("buy.result", "error"):
                    break
            outcome = "ok" if frame["type"] == "buy.result" else str(frame.get("code"))
            rows.append((sent, time.time(), outcome))

        cpu0 = time.process_time()
        await asyncio.gather(*(buy(ws, first_index + i) for i, ws in enumerate(sockets)))
        conn.send((rows, time.process_time() - cpu0))
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

    asyncio.run(work())


def run_sale(
    *, urls: list[str], cookies: list[str], message: dict[str, Any], client_procs: int,
    server_pids: list[int], on_start: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """Buyers spread over ``client_procs`` processes and over the server ``urls``."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # forked clients must not share the parent's DB socket
    context = multiprocessing.get_context("fork")
    workers, pipes = [], []
    share = -(-len(cookies) // client_procs)
    for index in range(client_procs):
        mine = cookies[index * share : (index + 1) * share]
        if not mine:
            continue
        parent, child = context.Pipe()
        url = urls[index % len(urls)]
        proc = context.Process(
            target=_buyer_worker, args=(url, mine, index * share, message, child), daemon=True
        )
        proc.start()
        workers.append(proc)
        pipes.append(parent)
    for pipe in pipes:
        if not pipe.poll(900):
            raise RuntimeError("a client process did not connect its buyers in time")
        assert pipe.recv() == "ready"
    idle0, idle_t0 = sum(cpu_seconds(pid) for pid in server_pids), time.time()
    time.sleep(2.0)  # the room with every buyer connected, nobody buying yet
    idle_cpu = (sum(cpu_seconds(pid) for pid in server_pids) - idle0) / (time.time() - idle_t0)
    started = time.time() + 0.5
    for pipe in pipes:
        pipe.send(started)
    if on_start is not None:
        on_start(started)
    server_cpu0 = sum(cpu_seconds(pid) for pid in server_pids)
    rows: list[tuple[float, float, str]] = []
    client_cpu = 0.0
    for pipe in pipes:
        if not pipe.poll(300):
            raise RuntimeError("a client process did not finish its buys in time")
        got, cpu = pipe.recv()
        rows += got
        client_cpu += cpu
    server_cpu = sum(cpu_seconds(pid) for pid in server_pids) - server_cpu0
    for proc in workers:
        proc.join(timeout=30)
    latencies = [(done - sent) * 1000 for sent, done, _o in rows]
    outcomes = [o for _s, _d, o in rows]
    done_at = [done for _s, done, o in rows if o == "ok"]
    held = outcomes.count("ok")
    elapsed_ok = (max(done_at) - started) if done_at else float("nan")
    return {
        "held": held,
        "holds_per_s": held / elapsed_ok if done_at else 0.0,
        "answered_per_s": len(rows) / (max(d for _s, d, _o in rows) - started),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "errors": {k: outcomes.count(k) for k in set(outcomes) if k != "ok"},
        "server_cpu_s": round(server_cpu, 2),
        "server_idle_cpu_per_s": round(idle_cpu, 3),
        "client_cpu_s": round(client_cpu, 2),
        "started": started,
    }


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A real Celery worker on the Redis broker: it drains the claim streams as in production."""
    log = Path(env["LIVEHUB_DATA_DIR"]) / f"celery-{time.time_ns()}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hub", "worker", "--pool=solo", "-l", "INFO",
         "--without-heartbeat", "--without-gossip", "--without-mingle",
         "-n", f"bench-{os.getpid()}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(log, "wb"),  # noqa: SIM115
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while b" ready." not in log.read_bytes():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"the Celery worker did not start; see {log}")
        time.sleep(0.2)
    return proc


class DurableWatch:
    """Polls the database while the sale runs: when is the whole quota durably held?"""

    def __init__(self, *, drop_id: int, quota: int) -> None:
        self.drop_id, self.quota = drop_id, quota
        self.seconds: float | None = None
        self.thread: threading.Thread | None = None

    def start(self, started: float) -> None:
        self.thread = threading.Thread(target=self._poll, args=(started,), daemon=True)
        self.thread.start()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join(timeout=130)

    def _poll(self, started: float) -> None:
        from django.db import connections

        from live.models import DropClaim

        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                held = DropClaim.objects.filter(drop_id=self.drop_id, status="held").count()
                if held >= self.quota:
                    self.seconds = time.time() - started
                    return
                time.sleep(0.05)
        finally:
            connections.close_all()


def run_baseline(
    env: dict[str, str], *, host_id: int, cookies: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """The same sale against exactly K units of stock, each buy locking the row."""
    _show, _item, variant = make_show(host_id, stock_units=args.quota)
    nodes = [start_daphne({**env, "LIVEHUB_BENCH_BASELINE": "1"}, "bench.flash_sale:baseline_app")
             for _ in range(args.nodes)]  # fmt: skip
    try:
        base = run_sale(
            urls=[f"ws://127.0.0.1:{port}/ws/bench/x/" for _p, port in nodes],
            cookies=cookies,
            message={"type": "buy", "sku": variant.sku, "quantity": 1},
            client_procs=args.client_procs,
            server_pids=[proc.pid for proc, _port in nodes],
        )
    finally:
        stop([proc for proc, _port in nodes])
    print("baseline", json.dumps({k: v for k, v in base.items() if k != "started"}), flush=True)
    return base


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="500 buyers for 150 units")
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--quota", type=int, default=500)
    parser.add_argument("--nodes", type=int, default=1, help="Daphne processes (both sides)")
    parser.add_argument("--client-procs", type=int, default=2, help="WebSocket client processes")
    parser.add_argument("--no-baseline", action="store_true", help="measure LiveHub only")
    parser.add_argument(
        "--profile", default="", help="py-spy the first LiveHub node into this file (.svg/.json)"
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
    args = parser.parse_args()
    if args.quick:
        args.buyers, args.quota = min(args.buyers, 500), min(args.quota, 150)

    env = setup_django(args.database_url, args.redis_url)
    env["CELERY_BROKER_URL"] = args.redis_url  # the web nodes kick the drain worker
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
    procs = [start_worker(env)]
    watcher = DurableWatch(drop_id=drop.pk, quota=args.quota)
    try:
        nodes = [start_daphne({**env, "LIVEHUB_BENCH_BASELINE": "0"}, "hub.asgi:application")
                 for _ in range(args.nodes)]  # fmt: skip
        procs += [proc for proc, _port in nodes]

        spies: list[subprocess.Popen[bytes]] = []

        def on_start(started: float) -> None:
            watcher.start(started)
            if args.profile:
                spies.append(profile_server(nodes[0][0].pid, seconds=8, into=args.profile))

        ours = run_sale(
            urls=[f"ws://127.0.0.1:{port}/ws/live/{show.code}/" for _p, port in nodes],
            cookies=cookies,
            message={"type": "buy", "drop": drop.pk, "sku": variant.sku, "quantity": 1},
            client_procs=args.client_procs,
            server_pids=[proc.pid for proc, _port in nodes],
            on_start=on_start,
        )
        watcher.join()
        for spy in spies:
            spy.wait()
        drop_claims_drain(drop_id=drop.pk)  # anything a lost kick left (not counted)
    finally:
        stop(procs)
    db_held = DropClaim.objects.filter(drop=drop, status="held").count()
    reserved = StockLevel.objects.get(variant=variant).reserved
    durable_s = watcher.seconds
    ours.update(db_held=db_held, stock_reserved=reserved, durable_s=durable_s,
                durable_holds_per_s=args.quota / durable_s if durable_s else 0.0)  # fmt: skip
    print("livehub", json.dumps({k: v for k, v in ours.items() if k != "started"}), flush=True)

    base = {"held": 0, "holds_per_s": float("nan"), "p99_ms": float("nan")}
    if not args.no_baseline:  # exactly K units of stock, each buy locks the row
        base = run_baseline(env, host_id=host.pk, cookies=cookies, args=args)
    print(f"load after: {os.getloadavg()}", flush=True)
    held = max(ours["held"], db_held)
    print(json.dumps({
        "bench": "flash_sale",
        "buyers": args.buyers,
        "quota": args.quota,
        "nodes": args.nodes,
        "client_procs": args.client_procs,
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
