"""The room protocol over WebsocketCommunicator, on the configured channel layer."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import connections

from hub.routing import websocket_urlpatterns
from live import events
from live.consumers import CLOSE_ABUSE, CLOSE_FORBIDDEN, MAX_MESSAGE_BYTES
from live.models import Comment, DropClaim, Show
from live.rooms import MAX_COMMENTS_PER_FRAME
from live.services.drops import drop_claims_drain

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
app = URLRouter(websocket_urlpatterns)


@pytest_asyncio.fixture(autouse=True)
async def close_worker_thread_connections():
    yield
    await sync_to_async(connections.close_all)()


async def join(
    show: Show,
    user: Any = None,
    *,
    query: str = "",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(app, f"/ws/live/{show.code}/{query}", headers=headers)
    communicator.scope["user"] = user or AnonymousUser()
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    return communicator


async def until(
    communicator: WebsocketCommunicator, match: Callable[[dict[str, Any]], bool], timeout: float = 3
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        frame = await communicator.receive_json_from(timeout=max(deadline - time.monotonic(), 0.01))
        if match(frame):
            return frame


def has_comment(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda f: any(c["text"] == text for c in f.get("comments", []))


async def test_two_viewers_see_each_others_comments_within_a_quarter_second(
    show, shopper, other_shopper
) -> None:
    alice, bob = await join(show, shopper), await join(show, other_shopper)
    sent = time.monotonic()
    await alice.send_json_to({"type": "comment", "text": "hello from alice", "ref": 1})
    frame = await until(bob, has_comment("hello from alice"))
    assert time.monotonic() - sent < 0.25
    comment = frame["comments"][0]
    assert (comment["author"], comment["role"]) == ("shopper", "viewer")
    assert (await until(alice, lambda f: f["type"] == "comment.ok"))["ref"] == 1
    sent = time.monotonic()
    await bob.send_json_to({"type": "comment", "text": "hi alice"})
    await until(alice, has_comment("hi alice"))
    assert time.monotonic() - sent < 0.25
    await alice.disconnect()
    await bob.disconnect()
    stored = await sync_to_async(list)(
        Comment.objects.order_by("posted_at").values_list("text", "author__username")
    )
    assert stored == [("hello from alice", "shopper"), ("hi alice", "other")]


async def test_a_fourth_comment_within_a_second_is_refused_and_not_stored(show, shopper) -> None:
    alice = await join(show, shopper)
    started = time.monotonic()
    for i in range(4):
        await alice.send_json_to({"type": "comment", "text": f"quick {i}", "ref": i})
    replies = [await until(alice, lambda f: f["type"] in ("comment.ok", "error")) for _ in range(4)]
    if time.monotonic() - started >= 1.0:  # a stalled machine refilled the bucket
        pytest.skip("the four comments took a second or more to process")
    assert [r["type"] for r in replies] == ["comment.ok"] * 3 + ["error"]
    assert (replies[3]["code"], replies[3]["ref"]) == ("rate_limited", 3)
    await alice.disconnect()
    stored = await sync_to_async(list)(Comment.objects.order_by("text").values_list("text"))
    assert stored == [("quick 0",), ("quick 1",), ("quick 2",)]


async def test_in_a_comment_storm_host_lines_and_own_comments_are_always_delivered(
    show, host, shopper, other_shopper
) -> None:
    alice, bob, studio = (
        await join(show, shopper),
        await join(show, other_shopper),
        await join(show, host),
    )
    storming = True

    async def storm() -> None:  # other nodes' viewers: bursts from 80 accounts
        i = 0
        while storming:
            burst = []
            for _ in range(40):
                i += 1
                burst.append(events.broadcast_async(show.code, dict(events.comment_event(
                    cid=f"s{i}", author_id=100_000 + i % 80, author="crowd", role="viewer",
                    text=f"storm {i}", at=time.time()))))  # fmt: skip
            await asyncio.gather(*burst)
            await asyncio.sleep(0.01)

    crowd = asyncio.create_task(storm())
    bob_frames: list[dict[str, Any]] = []
    try:
        await asyncio.sleep(0.3)
        await alice.send_json_to({"type": "comment", "text": "alice in the storm"})
        await studio.send_json_to({"type": "comment", "text": "host: 50% off now"})
        await until(bob, lambda f: bob_frames.append(f) or has_comment("host: 50% off now")(f))
        await until(alice, has_comment("alice in the storm"))
    finally:
        storming = False
        await crowd
    assert any(f.get("more_comments", 0) > 0 for f in bob_frames)  # the storm was sampled
    assert all(len(f.get("comments", [])) <= MAX_COMMENTS_PER_FRAME for f in bob_frames)
    for c in (alice, bob, studio):
        await c.disconnect()


async def test_anonymous_viewers_watch_but_cannot_comment(show) -> None:
    viewer = await join(show)
    await viewer.send_json_to({"type": "comment", "text": "hi"})
    error = await until(viewer, lambda f: f["type"] == "error")
    assert error["code"] == "sign_in_required"
    await viewer.disconnect()
    assert await sync_to_async(Comment.objects.count)() == 0


async def test_error_frames_are_in_the_viewers_language(show, shopper) -> None:
    chinese_browser = [(b"accept-language", b"zh-CN,zh;q=0.9,en;q=0.8")]
    viewer = await join(show, headers=chinese_browser)
    await viewer.send_json_to({"type": "comment", "text": "hi"})
    error = await until(viewer, lambda f: f["type"] == "error")
    assert (error["code"], error["message"]) == ("sign_in_required", "请先登录")
    buyer = await join(show, shopper, headers=chinese_browser)
    await buyer.send_json_to({"type": "comment", "text": "x" * 201})
    assert (await until(buyer, lambda f: f["type"] == "error"))["message"] == "评论最多 200 个字"
    chosen_in_the_app = await join(show, shopper, query="?lang=en", headers=chinese_browser)
    await chosen_in_the_app.send_json_to({"type": "like", "count": 99})
    assert (await until(chosen_in_the_app, lambda f: f["type"] == "error"))[
        "message"
    ] == "count is 1-10"
    for communicator in (viewer, buyer, chosen_in_the_app):
        await communicator.disconnect()


async def test_bad_messages_get_error_frames_and_abuse_closes_the_socket(show, shopper) -> None:
    viewer = await join(show, shopper)
    await viewer.send_to(text_data="{not json")
    assert (await until(viewer, lambda f: f["type"] == "error"))["message"] == "malformed JSON"
    await viewer.send_to(text_data=json.dumps({"type": "comment", "text": "x" * MAX_MESSAGE_BYTES}))
    assert "at most" in (await until(viewer, lambda f: f["type"] == "error"))["message"]
    await viewer.send_json_to({"type": "teleport"})
    assert (await until(viewer, lambda f: f["type"] == "error"))["code"] == "invalid_message"
    for _ in range(10):
        await viewer.send_to(text_data="[]")
    closed = None
    for _ in range(20):
        output = await viewer.receive_output(timeout=2)
        if output["type"] == "websocket.close":
            closed = output["code"]
            break
    assert closed == CLOSE_ABUSE


async def test_likes_are_counted_and_sent_as_one_delta(show, shopper, other_shopper) -> None:
    alice, bob = await join(show, shopper), await join(show, other_shopper)
    for _ in range(4):
        await alice.send_json_to({"type": "like", "count": 5})
    total = 0
    while total < 20:
        total += (await until(bob, lambda f: "likes" in f))["likes"]
    assert total == 20
    await alice.disconnect()
    await bob.disconnect()
    assert (await sync_to_async(Show.objects.get)(pk=show.pk)).like_count == 20


async def test_only_the_host_pins_and_viewers_see_the_pinned_product(
    show, host, shopper, hoodie_xl, warehouse, stock
) -> None:
    await sync_to_async(stock)(hoodie_xl, warehouse, 8)
    viewer, studio = await join(show, shopper), await join(show, host)
    await viewer.send_json_to({"type": "host.pin", "item": "A12"})
    assert (await until(viewer, lambda f: f["type"] == "error"))["code"] == "not_allowed"
    await studio.send_json_to({"type": "host.pin", "item": "A12"})
    frame = await until(viewer, lambda f: f.get("pinned") is not None)
    assert (frame["pinned"]["label"], frame["pinned"]["price"]) == ("A12", 9900)
    assert frame["pinned"]["stock_left"] == 8
    await viewer.disconnect()
    await studio.disconnect()


async def test_a_buy_comment_holds_the_pinned_product_and_confirms_privately(
    show, host, shopper, other_shopper, hoodie_xl, warehouse, stock
) -> None:
    await sync_to_async(stock)(hoodie_xl, warehouse, 8)
    studio = await join(show, host)
    await studio.send_json_to({"type": "host.pin", "item": "A12"})
    await until(studio, lambda f: f["type"] == "ok")
    buyer, watcher = await join(show, shopper), await join(show, other_shopper)
    await buyer.send_json_to({"type": "comment", "text": "买 2 加大"})
    result = await until(buyer, lambda f: f["type"] == "buy.result")
    assert (result["via"], result["sku"], result["quantity"]) == ("comment", "HOODIE-RED-XL", 2)
    await sync_to_async(drop_claims_drain)(drop_id=result["drop"])
    claim = await sync_to_async(DropClaim.objects.select_related("hold").get)()
    assert (claim.status, claim.quantity, claim.buyer_id) == ("held", 2, shopper.pk)
    frame = await until(watcher, has_comment("买 2 加大"))
    assert "private" not in frame
    await buyer.send_json_to({"type": "comment", "text": "买 1 紫色"})
    error = await until(buyer, lambda f: f["type"] == "error")
    assert error["code"] == "invalid_message"
    for c in (studio, buyer, watcher):
        await c.disconnect()
    assert await sync_to_async(DropClaim.objects.count)() == 1


async def test_a_flash_drop_started_by_the_host_sells_over_the_socket(
    show, host, shopper, hoodie_xl, warehouse, stock
) -> None:
    await sync_to_async(stock)(hoodie_xl, warehouse, 8)
    studio, buyer = await join(show, host), await join(show, shopper)
    await studio.send_json_to({"type": "host.drop", "item": "A12", "quota": 1, "price": 5000})
    drop_id = (await until(studio, lambda f: f["type"] == "drop.opened"))["drop"]
    seen = await until(buyer, lambda f: str(drop_id) in f.get("drops", {}))
    assert seen["drops"][str(drop_id)]["left"] == 1
    buy = {"type": "buy", "drop": drop_id, "sku": "HOODIE-RED-XL", "quantity": 1, "key": "k"}
    await buyer.send_json_to(buy)
    assert (await until(buyer, lambda f: f["type"] == "buy.result"))["left"] == 0
    await buyer.send_json_to({**buy, "key": "k2"})
    assert (await until(buyer, lambda f: f["type"] == "error"))["code"] in (
        "sold_out",
        "buyer_limit",
    )
    await studio.disconnect()
    await buyer.disconnect()


async def test_a_banned_viewer_is_disconnected_and_cannot_rejoin(show, host, shopper) -> None:
    studio, viewer = await join(show, host), await join(show, shopper)
    await studio.send_json_to({"type": "mod.ban", "user": shopper.pk})
    closed = None
    for _ in range(30):
        output = await viewer.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            closed = output["code"]
            break
    assert closed == CLOSE_FORBIDDEN
    again = WebsocketCommunicator(app, f"/ws/live/{show.code}/")
    again.scope["user"] = shopper
    await again.connect()
    output = await again.receive_output(timeout=3)
    while output["type"] != "websocket.close":
        output = await again.receive_output(timeout=3)
    assert output["code"] == CLOSE_FORBIDDEN
    await studio.disconnect()


async def test_an_unknown_show_is_refused() -> None:
    communicator = WebsocketCommunicator(app, "/ws/live/nope/")
    communicator.scope["user"] = AnonymousUser()
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4404)
