"""Two Daphne processes sharing PostgreSQL and Redis: comments cross nodes, drops never oversell.

Needs the real services (skipped in the embedded run, required in the PostgreSQL + Redis run).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from live.models import Comment, DropClaim
from live.services.drops import drop_claims_drain, drop_open
from oms.models import StockLevel

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (settings.REDIS_URL and settings.DATABASE_URL),
        reason="needs PostgreSQL and Redis (DATABASE_URL and REDIS_URL)",
    ),
]
ROOT = Path(__file__).resolve().parents[2]
#: port -> Daphne process, for the tests that crash a node
PROCESSES: dict[int, subprocess.Popen[bytes]] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _test_database_url() -> str:
    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[int]]:
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "LIVEHUB_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "hub.settings",
    }
    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "hub.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    PROCESSES.update(zip(ports, procs, strict=True))
    try:
        deadline = time.monotonic() + 60  # a loaded machine starts Daphne slowly
        for port in ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:  # Daphne gives its connections up to 10 s to close
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def _open(port: int, code: str, cookie: str) -> Any:
    from websockets.asyncio.client import connect

    ws = await connect(
        f"ws://127.0.0.1:{port}/ws/live/{code}/",
        additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"},
    )
    hello = json.loads(await ws.recv())
    assert hello["type"] == "hello"
    return ws


async def _wait_for(ws: Any, *kinds: str, timeout: float = 5) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] in kinds:
                return frame


def test_a_comment_on_one_node_reaches_viewers_on_the_other(
    nodes, show, shopper, other_shopper
) -> None:
    a, b = _cookie(shopper), _cookie(other_shopper)

    async def scenario() -> float:
        alice = await _open(nodes[0], show.code, a)
        bob = await _open(nodes[1], show.code, b)
        await asyncio.sleep(0.3)  # both hubs subscribed
        sent = time.monotonic()
        await alice.send(json.dumps({"type": "comment", "text": "across nodes"}))
        async with asyncio.timeout(5):
            while True:
                frame = json.loads(await bob.recv())
                if any(c["text"] == "across nodes" for c in frame.get("comments", [])):
                    break
        latency = time.monotonic() - sent
        await alice.close()
        await bob.close()
        return latency

    assert asyncio.run(scenario()) < 1.0


def test_buyers_on_both_nodes_never_oversell_one_drop(
    nodes, show, item, host, hoodie_xl, warehouse, stock, buyers
) -> None:
    stock(hoodie_xl, warehouse, 100)
    drop = drop_open(show=show, item=item, actor=host, quota_units=5, per_buyer_limit=1)
    people = buyers(20)
    cookies = [_cookie(u) for u in people]

    async def buy(index: int) -> str:
        ws = await _open(nodes[index % 2], show.code, cookies[index])
        await ws.send(json.dumps({"type": "buy", "drop": drop.pk, "sku": hoodie_xl.sku,
                                  "quantity": 1, "key": "tap"}))  # fmt: skip
        async with asyncio.timeout(10):
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] in ("buy.result", "error"):
                    break
        await ws.close()
        return "ok" if frame["type"] == "buy.result" else frame["code"]

    async def everyone() -> list[str]:
        return list(await asyncio.gather(*(buy(i) for i in range(len(people)))))

    outcomes = asyncio.run(everyone())
    assert (outcomes.count("ok"), outcomes.count("sold_out")) == (5, 15)
    drop_claims_drain(drop_id=drop.pk)
    assert DropClaim.objects.filter(drop=drop, status="held").count() == 5
    assert StockLevel.objects.get(variant=hoodie_xl).reserved == 5


def test_the_comment_rate_limit_holds_across_nodes(nodes, show, shopper) -> None:
    cookie = _cookie(shopper)

    async def scenario() -> tuple[list[dict[str, Any]], float]:
        sockets = [
            await _open(nodes[0], show.code, cookie),
            await _open(nodes[1], show.code, cookie),
        ]
        replies = []
        started = time.monotonic()
        for i in range(4):  # the burst is 3: the fourth is refused, whichever node takes it
            ws = sockets[i % 2]
            await ws.send(json.dumps({"type": "comment", "text": f"n{i}", "ref": i}))
            replies.append(await _wait_for(ws, "comment.ok", "error"))
        elapsed = time.monotonic() - started
        for ws in sockets:
            await ws.close()
        return replies, elapsed

    replies, elapsed = asyncio.run(scenario())
    if elapsed >= 1.0:  # a stalled machine refilled the bucket
        pytest.skip("the four comments took a second or more to process")
    assert [r["type"] for r in replies] == ["comment.ok"] * 3 + ["error"]
    assert replies[3]["code"] == "rate_limited"


def test_comments_a_killed_node_accepted_are_stored_exactly_once(
    nodes, show, shopper, other_shopper
) -> None:
    a, b = _cookie(shopper), _cookie(other_shopper)

    async def post_then_crash() -> list[str]:
        alice = await _open(nodes[0], show.code, a)
        cids = []
        for i in range(3):
            await alice.send(json.dumps({"type": "comment", "text": f"before the crash {i}"}))
            cids.append((await _wait_for(alice, "comment.ok"))["cid"])
        PROCESSES[nodes[0]].kill()  # SIGKILL: no disconnect, no final flush
        return cids

    cids = asyncio.run(post_then_crash())
    loop = asyncio.new_event_loop()
    bob = loop.run_until_complete(_open(nodes[1], show.code, b))  # starts that node's flusher
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Comment.objects.filter(show=show).count() < 3:
        time.sleep(0.2)
    loop.run_until_complete(bob.close())
    loop.close()
    rows = list(Comment.objects.filter(show=show).order_by("text").values_list("cid", "text"))
    assert rows == [(cid, f"before the crash {i}") for i, cid in enumerate(cids)]
