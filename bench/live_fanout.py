"""Benchmark: comment fan-out to many real WebSocket viewers of one live room.

LiveHub's path: one Redis pub/sub subscription per process per room, comments batched
into one frame per interval (100 ms, adaptive up to 250 ms), encoded once and handed to
every local viewer as the same ASGI message. Baseline, in the same run: the naive room
(one ``group_send`` per comment on ``RedisChannelLayer``, one frame per comment per viewer).

Each side runs in its own Daphne process. Viewers are real WebSocket clients spread over
``--client-procs`` processes (a lean RFC 6455 client, ``LeanViewer``, so the clients do
not measure their own queueing); every received comment is timed, post to receipt (the
posting client's clock is stamped into the comment; same machine). Posters use the
``websockets`` package. Server CPU is the Daphne process's user+system time during the
measured window (/proc); client CPU (viewer processes + posters) is reported separately,
and so is the 1-minute load average before and after (the machine may be shared).

    python bench/live_fanout.py [--quick] [--viewers N] [--rate N] [--seconds S]
        [--client-procs N] [--no-baseline] [--profile server.svg|server.json]

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0) and PostgreSQL
(DATABASE_URL, default postgres://127.0.0.1:5432/livehub_bench). The last line printed
is one JSON object. ``--profile`` needs py-spy (``PY_SPY`` names its binary).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://127.0.0.1:5432/livehub_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
POSTERS = 20


# ---- shared with bench/flash_sale.py --------------------------------------------------------


def ensure_postgres_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(database_url: str, redis_url: str) -> dict[str, str]:
    """Configure this process like the server; returns the server's environment."""
    if database_url.startswith("postgres"):
        ensure_postgres_database(database_url)
    import tempfile

    env = {
        **os.environ,
        "LIVEHUB_DATA_DIR": os.environ.get("LIVEHUB_DATA_DIR") or tempfile.mkdtemp(prefix="bench-"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "hub.settings",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def make_users(prefix: str, count: int, role: str = "shopper") -> list[tuple[int, str]]:
    """``count`` users with ready sessions; returns (user id, session cookie)."""
    from datetime import timedelta

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    stamp = f"{prefix}{time.time_ns() % 10**10}"
    users = User.objects.bulk_create(
        [User(username=f"{stamp}-{i}", password="!") for i in range(count)]
    )
    group, _ = Group.objects.get_or_create(name=role)
    group.user_set.add(*users)
    store = SessionStore()
    rows, out = [], []
    for user in users:
        key = get_random_string(32)
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(
            Session(
                session_key=key,
                session_data=store.encode(data),
                expire_date=timezone.now() + timedelta(hours=2),
            )
        )
        out.append((user.pk, f"sessionid={key}"))
    Session.objects.bulk_create(rows, batch_size=500)
    return out


def make_show(host_id: int, stock_units: int = 0) -> tuple[Any, Any, Any]:
    """A live show with one line-up item; returns (show, item, variant)."""
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.utils import timezone

    from live.services.shows import lineup_add, show_create, transition_show
    from oms.models import Location, Merchant, Product, ProductVariant, SalesChannel
    from oms.services.stock import stock_receive

    stamp = str(time.time_ns())
    merchant, _ = Merchant.objects.get_or_create(name="Bench Mall")
    location, _ = Location.objects.get_or_create(
        code="bench-dc",
        defaults={"merchant": merchant, "kind": "warehouse", "name_en": "Bench DC",
                  "name_zh": "仓", "latitude": 31.2, "longitude": 121.4},
    )  # fmt: skip
    channel, _ = SalesChannel.objects.get_or_create(
        code="bench-live", defaults={"name": "Bench live", "kind": "live", "currency": "CNY"}
    )
    channel.locations.add(location)
    product = Product.objects.create(
        merchant=merchant, slug=f"bench-{stamp}", name_en="Bench tee", name_zh="测试T恤"
    )
    variant = ProductVariant.objects.create(
        product=product, sku=f"BENCH-{stamp}", price_amount=9900, currency="CNY"
    )
    if stock_units:
        stock_receive(variant=variant, location=location, quantity=stock_units, reason="bench")
    host = User.objects.get(pk=host_id)
    show = show_create(
        host=host, title="Bench show", scheduled_at=timezone.now() + timedelta(minutes=1),
        sales_channel=channel,
    )  # fmt: skip
    item = lineup_add(show=show, actor=host, product=product, label="B1",
                      live_price_amount=5000, quota=1000)  # fmt: skip
    transition_show(show=show, target="live", actor=host)
    return show, item, variant


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_daphne(env: dict[str, str], app: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=open(Path(env["LIVEHUB_DATA_DIR"]) / f"daphne-{port}.log", "wb"),  # noqa: SIM115
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)


def profile_server(pid: int, *, seconds: float, into: str) -> subprocess.Popen[bytes]:
    """Sample a server process with py-spy (``PY_SPY`` names its binary) into a file."""
    return subprocess.Popen(
        [os.environ.get("PY_SPY", "py-spy"), "record", "-p", str(pid), "-d", str(int(seconds)),
         "-o", into, "-f", "speedscope" if into.endswith(".json") else "flamegraph",
         "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def connect_all(urls_cookies: list[tuple[str, str]], parallel: int = 20) -> list[Any]:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(parallel)

    async def one(url: str, cookie: str) -> Any:
        async with gate:
            for attempt in range(5):
                try:
                    ws = await connect(
                        url, additional_headers={"Cookie": cookie, "Origin": "http://127.0.0.1"},
                        open_timeout=30, max_queue=None,
                    )  # fmt: skip
                    return ws
                except Exception:  # refused or dropped handshake under load: retry
                    await asyncio.sleep(0.5 * (attempt + 1))
            raise RuntimeError("could not connect")

    return list(await asyncio.gather(*(one(u, c) for u, c in urls_cookies)))


# ---- the naive baseline room (imported by Daphne as bench.live_fanout:baseline_app) --------


def _baseline_app() -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    import django

    django.setup()
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.layers import channel_layers
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.conf import settings
    from django.urls import path

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": "livehub-bench"},
        }
    }
    channel_layers.backends = {}

    class NaiveRoom(AsyncWebsocketConsumer):  # type: ignore[misc]
        """One group_send per comment; every viewer gets every comment as its own frame."""

        async def connect(self) -> None:
            self.group = f"bench.{self.scope['url_route']['kwargs']['room']}"
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.accept()
            await self.send(text_data=json.dumps({"type": "hello"}))

        async def disconnect(self, code: int) -> None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

        async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
            message = json.loads(text_data or "{}")
            if message.get("type") == "comment":
                await self.channel_layer.group_send(
                    self.group, {"type": "room.comment", "text": str(message.get("text"))}
                )

        async def room_comment(self, event: dict[str, Any]) -> None:
            comment = {"text": event["text"], "at": time.time()}
            await self.send(text_data=json.dumps({"type": "frame", "comments": [comment]}))

    return ProtocolTypeRouter(
        {"websocket": URLRouter([path("ws/bench/<str:room>/", NaiveRoom.as_asgi())])}
    )


if os.environ.get("LIVEHUB_BENCH_BASELINE") == "1":
    baseline_app = _baseline_app()


# ---- one run ----------------------------------------------------------------------------

#: ``"text":"t=<post time>"`` inside a frame: timing without a full JSON parse per frame
_STAMP = re.compile(rb'"text": ?"t=([0-9.]+)"')


class LeanViewer(asyncio.Protocol):
    """A read-mostly RFC 6455 client: the handshake, unmasked server frames, pong, close.

    The viewers' client cost matters on a 2-core machine (1,000 sockets receive ~10,000
    frames/s): a general-purpose client spends about as much CPU per frame as the server,
    and would measure its own queueing. This one parses a frame in a few microseconds and
    times every comment it receives (post stamp to arrival).
    """

    def __init__(self, host: str, path: str, cookie: str, latencies: list[float]) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"
            f"\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}\r\nCookie: {cookie}\r\n\r\n"
        ).encode()
        self.latencies = latencies
        self.received = 0
        self.timing = False
        self.buffer = bytearray()
        self.parts: list[bytes] = []
        self.upgraded = False
        self.hello: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.hello.done():
            self.hello.set_exception(ConnectionError("closed before hello"))

    def send(self, opcode: int, payload: bytes = b"") -> None:
        """A masked client frame (small control frames only)."""
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.time() * 1000
        buf = self.buffer
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.hello.set_exception(ConnectionError(bytes(buf[:40]).decode(errors="replace")))
                return
            self.upgraded = True
            del buf[: end + 4]
        pos, size = 0, len(buf)
        while size - pos >= 2:
            first, length = buf[pos], buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            opcode = first & 0x0F
            if opcode in (0, 1):
                self.parts.append(payload)
                if first & 0x80:
                    self.on_text(b"".join(self.parts), now)
                    self.parts = []
            elif opcode == 9:
                self.send(10, payload)
            elif opcode == 8 and self.transport is not None:
                self.transport.close()
        del buf[:pos]

    def on_text(self, text: bytes, now: float) -> None:
        if not self.hello.done():
            self.hello.set_result(None)
            return
        if self.timing:
            stamps = _STAMP.findall(text)
            self.received += len(stamps)
            self.latencies.extend(now - float(t) * 1000 for t in stamps)


def _viewer_worker(url: str, cookies: list[str], conn: Any) -> None:
    """One client process: its share of the viewers, every one of them timed.

    Talks to the parent over ``conn``: sends ``"ready"`` once every socket got its hello,
    waits for ``"go"``, listens until ``"stop"``, then sends back the comments it
    received, their latencies (ms) and its own CPU seconds for the window.
    """
    parts = urlparse(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def open_one(cookie: str, latencies: list[float], gate: asyncio.Semaphore) -> Any:
        loop = asyncio.get_running_loop()
        async with gate:
            for attempt in range(8):
                viewer = LeanViewer(f"{host}:{port}", parts.path, cookie, latencies)
                try:
                    transport, _ = await loop.create_connection(lambda v=viewer: v, host, port)
                    try:
                        await asyncio.wait_for(viewer.hello, 60)
                    except BaseException:
                        transport.close()
                        raise
                    return viewer
                except (OSError, ConnectionError, TimeoutError):
                    await asyncio.sleep(0.5 * (attempt + 1))
            raise RuntimeError("could not connect")

    async def work() -> None:
        latencies: list[float] = []
        gate = asyncio.Semaphore(10)
        viewers = await asyncio.gather(*(open_one(c, latencies, gate) for c in cookies))
        loop = asyncio.get_running_loop()
        conn.send("ready")
        await loop.run_in_executor(None, conn.recv)  # "go"
        cpu0 = time.process_time()
        for viewer in viewers:
            viewer.timing = True
        await loop.run_in_executor(None, conn.recv)  # "stop"
        cpu = time.process_time() - cpu0
        got = sum(v.received for v in viewers)
        conn.send({"received": got, "latencies": latencies, "cpu_s": cpu})
        for viewer in viewers:
            if viewer.transport is not None:
                viewer.transport.close()

    try:
        asyncio.run(work())
    except BaseException as error:
        conn.send({"error": repr(error)})
        raise


async def run_room(
    *, url: str, viewer_cookies: list[str], poster_cookies: list[str], rate: float,
    seconds: float, server_pid: int, client_procs: int = 4, profile: str = "",
) -> dict[str, float]:  # fmt: skip
    import multiprocessing

    from django.db import connections

    connections.close_all()  # the forked clients must not share the parent's DB socket
    context = multiprocessing.get_context("fork")
    workers = []
    for index in range(client_procs):
        share = viewer_cookies[index::client_procs]
        if not share:
            continue
        parent, child = context.Pipe()
        proc = context.Process(target=_viewer_worker, args=(url, share, child), daemon=True)
        proc.start()
        workers.append((proc, parent))
    loop = asyncio.get_running_loop()
    for _proc, pipe in workers:
        ready = await loop.run_in_executor(None, pipe.recv)
        if ready != "ready":
            raise RuntimeError(f"a viewer process failed: {ready}")
    posters = await connect_all([(url, c) for c in poster_cookies])
    for ws in posters:
        await ws.recv()  # hello

    async def drain(ws: Any) -> None:  # posters are viewers too: read what they get
        with contextlib.suppress(Exception):
            async for _raw in ws:
                pass

    drains = [asyncio.create_task(drain(ws)) for ws in posters]
    await asyncio.sleep(1.0)  # hubs warm, presence published
    for _proc, pipe in workers:
        pipe.send("go")
    spy = profile_server(server_pid, seconds=seconds, into=profile) if profile else None
    cpu0 = cpu_seconds(server_pid)
    poster_cpu0 = time.process_time()
    started = time.monotonic()
    sent = 0
    interval = 1.0 / rate
    while time.monotonic() - started < seconds:
        target = started + sent * interval
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        poster = posters[sent % len(posters)]
        await poster.send(json.dumps({"type": "comment", "text": f"t={time.time():.6f}"}))
        sent += 1
    await asyncio.sleep(1.0)  # grace: frames in flight
    window = time.monotonic() - started
    cpu = cpu_seconds(server_pid) - cpu0
    client_cpu = time.process_time() - poster_cpu0
    got, lat = 0, []
    for _proc, pipe in workers:
        pipe.send("stop")
    for proc, pipe in workers:
        report = await loop.run_in_executor(None, pipe.recv)
        got += report["received"]
        lat.extend(report["latencies"])
        client_cpu += report["cpu_s"]
        await loop.run_in_executor(None, proc.join, 10)
    if spy is not None:
        await loop.run_in_executor(None, spy.wait)
    for task in drains:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in posters), return_exceptions=True)
    return {
        "sent": sent,
        "delivered": got,
        "delivered_per_s": got / window,
        "comments_per_s": sent / seconds,
        "p50_ms": percentile(lat, 0.5),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": max(lat) if lat else float("nan"),
        "cpu_s": cpu,
        "cpu_s_per_1k": cpu / got * 1000 if got else float("inf"),
        "client_cpu_s": client_cpu,
        "expected": sent * len(viewer_cookies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="200 viewers for 5 s")
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="comments per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--client-procs", type=int, default=4, help="processes the viewers are spread over"
    )
    parser.add_argument("--no-baseline", action="store_true", help="measure LiveHub only")
    parser.add_argument(
        "--profile", default="", help="py-spy the LiveHub server into this file (.svg/.json)"
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
    args = parser.parse_args()
    if args.quick:
        args.viewers, args.seconds = min(args.viewers, 200), min(args.seconds, 5.0)

    env = setup_django(args.database_url, args.redis_url)
    from live.selectors import room_settings  # noqa: F401 - django is set up
    from live.services.shows import moderator_add

    hosts = make_users("h", 1, role="host")
    viewers = make_users("v", args.viewers)
    posters = make_users("p", POSTERS)
    show, _item, _variant = make_show(hosts[0][0])
    from django.contrib.auth.models import User

    host = User.objects.get(pk=hosts[0][0])
    for user in User.objects.filter(pk__in=[p for p, _c in posters]):
        moderator_add(show=show, actor=host, user=user)  # posters are not rate limited
    print(f"load before: {os.getloadavg()}", flush=True)

    results: dict[str, dict[str, float]] = {}
    sides = [("livehub", "hub.asgi:application", f"/ws/live/{show.code}/")]
    if not args.no_baseline:
        sides.append(("baseline", "bench.live_fanout:baseline_app", f"/ws/bench/{show.code}/"))
    load_before = os.getloadavg()[0]
    for name, app, path in sides:
        server_env = {**env, "LIVEHUB_BENCH_BASELINE": "1" if name == "baseline" else "0"}
        proc, port = start_daphne(server_env, app)
        try:
            results[name] = asyncio.run(
                run_room(
                    url=f"ws://127.0.0.1:{port}{path}",
                    viewer_cookies=[c for _u, c in viewers],
                    poster_cookies=[c for _u, c in posters],
                    rate=args.rate,
                    seconds=args.seconds,
                    server_pid=proc.pid,
                    client_procs=args.client_procs,
                    profile=args.profile if name == "livehub" else "",
                )
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # the baseline can be far behind: stop it
                proc.kill()
                proc.wait()
        print(name, json.dumps({k: round(v, 3) for k, v in results[name].items()}), flush=True)
    print(f"load after: {os.getloadavg()}", flush=True)
    nothing = {"delivered_per_s": 0.0, "p50_ms": float("nan"), "p99_ms": float("nan"),
               "cpu_s_per_1k": float("nan")}  # fmt: skip
    ours, base = results["livehub"], results.get("baseline", nothing)
    print(json.dumps({
        "bench": "live_fanout",
        "viewers": args.viewers,
        "comments_per_s": round(ours["comments_per_s"], 1),
        "delivered_per_s": round(ours["delivered_per_s"], 1),
        "p50_ms": round(ours["p50_ms"], 1),
        "p99_ms": round(ours["p99_ms"], 1),
        "cpu_s_per_1k": round(ours["cpu_s_per_1k"], 4),
        "delivered_ratio": round(ours["delivered"] / ours["expected"], 4)
        if ours["expected"] else None,
        "server_cpu_s": round(ours["cpu_s"], 2),
        "client_cpu_s": round(ours["client_cpu_s"], 2),
        "load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "baseline_delivered_per_s": round(base["delivered_per_s"], 1),
        "baseline_p50_ms": round(base["p50_ms"], 1),
        "baseline_p99_ms": round(base["p99_ms"], 1),
        "baseline_cpu_s_per_1k": round(base["cpu_s_per_1k"], 4),
        "cpu_ratio": round(base["cpu_s_per_1k"] / ours["cpu_s_per_1k"], 2)
        if ours["cpu_s_per_1k"] else None,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
