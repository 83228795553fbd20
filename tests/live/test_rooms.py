"""Frame building of the per-process room hub."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from live import events
from live.rooms import (
    MAX_COMMENTS_PER_FRAME,
    MIN_FRAME_SECONDS,
    RoomHub,
    SharedLookups,
    sample_comments,
)
from live.selectors import room_settings


def test_a_comment_storm_is_sampled_fairly_and_keeps_host_lines() -> None:
    storm = [
        {"cid": f"s{i}", "author_id": 1, "role": "viewer", "text": "spam", "at": i}
        for i in range(100)
    ]
    others = [
        {"cid": f"o{i}", "author_id": 10 + i, "role": "viewer", "text": "hi", "at": 100 + i}
        for i in range(10)
    ]
    host_line = [{"cid": "h", "author_id": 99, "role": "host", "text": "deal!", "at": 50.5}]
    sample, left_out = sample_comments(storm + others + host_line, 20)
    authors = [c["author_id"] for c in sample]
    assert (len(sample), left_out) == (20, 91)
    assert 99 in authors
    assert set(range(10, 20)) <= set(authors)  # every other author got a line in
    assert authors.count(1) == 9
    assert [c["at"] for c in sample] == sorted(c["at"] for c in sample)


# ---- the hub: storms, personal frames, pacing ------------------------------------------------


class Socket:
    """The far end of one viewer's connection: records what the hub hands it."""

    def __init__(self, user_id: int | None, role: str = "viewer") -> None:
        self.user_id, self.role = user_id, role
        self.messages: list[dict[str, Any]] = []
        self.arrived: list[float] = []

    async def deliver(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.arrived.append(time.monotonic())

    async def kick(self, code: int) -> None:
        raise AssertionError(f"kicked with {code}")

    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(m["text"]) for m in self.messages]


def comment(cid: str, author_id: int, role: str = "viewer", at: float = 0.0) -> dict[str, Any]:
    return dict(events.comment_event(cid=cid, author_id=author_id, author=f"u{author_id}",
                                     role=role, text=cid, at=at or time.time()))  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("thread_connections_closed")
async def test_under_a_storm_host_lines_and_the_viewers_own_comments_always_arrive(
    show, host, shopper, other_shopper
) -> None:
    hub = RoomHub(show, await sync_to_async(room_settings)(show))
    alice, bob, studio = Socket(shopper.pk), Socket(other_shopper.pk), Socket(host.pk, "host")
    hub.viewers |= {alice, bob, studio}
    for i in range(200):
        await hub.on_event(comment(f"storm{i}", 10_000 + i % 50, at=1000 + i))
    await hub.on_event(comment("mine", shopper.pk, at=1100.5))
    await hub.on_event(comment("deal", host.pk, role="host", at=1150.5))
    await hub.send_frame()
    shared = bob.frames()[-1]
    assert len(shared["comments"]) == MAX_COMMENTS_PER_FRAME
    assert shared["more_comments"] == 202 - MAX_COMMENTS_PER_FRAME
    assert "deal" in {c["cid"] for c in shared["comments"]}
    # the shared frame is one encoded message object for every viewer who needs nothing else
    assert bob.messages[-1] is studio.messages[-1]
    own = alice.frames()[-1]
    assert {"mine", "deal"} <= {c["cid"] for c in own["comments"]}
    assert [c["at"] for c in own["comments"]] == sorted(c["at"] for c in own["comments"])


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("thread_connections_closed")
async def test_frames_are_paced_and_a_quiet_room_delivers_at_once(show, shopper) -> None:
    watcher = Socket(shopper.pk)
    hub = await RoomHub.join(show, watcher)
    try:
        await asyncio.sleep(0.3)  # subscribed
        sent = time.monotonic()
        await events.broadcast_async(show.code, comment("first", 1))
        while not any("comments" in f for f in watcher.frames()):
            await asyncio.sleep(0.005)
        assert time.monotonic() - sent < 0.15  # no fixed tick to wait for
        watcher.messages.clear()
        watcher.arrived.clear()
        for i in range(100):  # 200 comments/s for half a second
            await events.broadcast_async(show.code, comment(f"c{i}", 2 + i % 7))
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.4)
        frames = watcher.frames()
        got = [c["cid"] for f in frames for c in f.get("comments", [])]
        left_out = sum(f.get("more_comments", 0) for f in frames)
        assert set(got) <= {f"c{i}" for i in range(100)}
        assert (len(set(got)), len(got) + left_out) == (len(got), 100)  # each once, or counted
        gaps = [b - a for a, b in itertools.pairwise(watcher.arrived)]
        assert min(gaps) >= MIN_FRAME_SECONDS * 0.9
        assert len(watcher.arrived) <= 1 + (time.monotonic() - sent) / MIN_FRAME_SECONDS
    finally:
        await hub.leave(watcher)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("thread_connections_closed")
async def test_one_event_of_private_messages_reaches_only_their_users_here(
    show, shopper, other_shopper
) -> None:
    alice, alice_phone, bob = Socket(shopper.pk), Socket(shopper.pk), Socket(other_shopper.pk)
    hub = await RoomHub.join(show, alice)
    await RoomHub.join(show, alice_phone)
    await RoomHub.join(show, bob)
    try:
        await hub.leave(bob)
        batch = events.private_events(
            [(shopper.pk, events.private_message("hold", key="k1")),
             (other_shopper.pk, events.private_message("hold", key="k2")),
             (99_999, events.private_message("hold", key="k3"))]
        )  # fmt: skip
        await hub.on_event(batch)
        await hub.send_frame()
        for screen in (alice, alice_phone):
            assert screen.frames()[-1]["private"] == [{"type": "hold", "key": "k1"}]
        assert not any("private" in f for f in bob.frames())  # left the room: none for them
        assert dict(hub.signed_in) == {shopper.pk: 2}
    finally:
        await hub.leave(alice)
        await hub.leave(alice_phone)


@pytest.mark.asyncio
async def test_concurrent_misses_share_one_load_and_misses_are_asked_again() -> None:
    lookups: SharedLookups[str] = SharedLookups()
    loads: list[str] = []

    def loader(key: str, value: str | None) -> Callable[[], Awaitable[str | None]]:
        async def load() -> str | None:
            loads.append(key)
            await asyncio.sleep(0.01)
            return value

        return load

    many = await asyncio.gather(*(lookups.get("drop", loader("drop", "D")) for _ in range(100)))
    assert (set(many), loads) == ({"D"}, ["drop"])
    assert await lookups.get("drop", loader("drop", "other")) == "D"  # kept
    assert await lookups.get("gone", loader("gone", None)) is None
    assert await lookups.get("gone", loader("gone", "G")) == "G"  # not found is not kept
    lookups.forget("drop")
    assert await lookups.get("drop", loader("drop", "D2")) == "D2"
    assert loads == ["drop", "gone", "gone", "drop"]


@pytest.mark.asyncio
async def test_a_failed_load_is_not_kept_and_a_cancelled_waiter_leaves_it_running() -> None:
    lookups: SharedLookups[int] = SharedLookups()

    async def broken() -> int | None:
        raise ConnectionError("database away")

    with pytest.raises(ConnectionError):
        await lookups.get(1, broken)
    started = asyncio.Event()

    async def slow() -> int | None:
        started.set()
        await asyncio.sleep(0.05)
        return 42

    impatient = asyncio.create_task(lookups.get(1, slow))
    await started.wait()
    patient = asyncio.create_task(lookups.get(1, slow))
    impatient.cancel()
    assert await patient == 42
