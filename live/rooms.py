"""One hub per room per process: a single layer subscription, batched frames, local fan-out.

Every process (Daphne worker) that has viewers of a show holds one ``RoomHub`` for it. The
hub subscribes once to the show's group and collects what arrives. A frame goes out when
something changed, but a viewer gets at most one frame per ``interval`` (100 ms, longer
when a fan-out gets expensive, at most 250 ms): the first change after a quiet spell waits
only ``COALESCE_SECONDS`` for company, a storm is cut into one frame per interval. Each
frame is encoded once, wrapped in one ASGI ``websocket.send`` message, and that same
message object is handed to every local viewer. A viewer gets a frame of their own only
when it carries something for them (their own comments that the sample left out, private
messages). Publishing a comment is therefore one group send (O(processes) in Redis), and
delivering it is one JSON encode per process per frame, not one per viewer.

Likes are counted locally and published as one delta per process per
``HOUSEKEEPING_SECONDS``; viewer counts are published every few seconds per process and
summed. Accepted comments are already in the comment log (``live.comment_log``); one
flusher per process (not per room) stores the log in the database (every second with
Redis, 0.5 s embedded).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import time
import uuid
import weakref
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, Protocol, TypeVar

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.cache import cache

from live import events
from live.comment_log import comment_log
from live.models import Show
from live.selectors import RoomSettings, room_settings, show_dashboard
from live.services.comments import likes_add, peak_viewers_record

logger = logging.getLogger(__name__)

#: a viewer gets at most one frame per interval; the interval adapts between these bounds
MIN_FRAME_SECONDS = 0.1
MAX_FRAME_SECONDS = 0.25
#: the interval is this many times the recent fan-out time (wall clock, socket writes
#: included), so fan-out takes at most ~40% of the process under a big audience
FANOUT_SHARE = 2.5
#: the first change after a quiet spell waits this long to gather company
COALESCE_SECONDS = 0.01
#: viewers handed a frame between two yields to the event loop (their writes go out
#: while the rest are served, and inbound messages are not held up by a long fan-out)
YIELD_EVERY = 100
MAX_COMMENTS_PER_FRAME = 30
HOUSEKEEPING_SECONDS = 0.1
PRESENCE_SECONDS = 3.0
DASHBOARD_SECONDS = 5.0
NODE = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def ws_text(text: str) -> dict[str, Any]:
    """An ASGI ``websocket.send`` message; one object may be sent to many sockets."""
    return {"type": "websocket.send", "text": text}


V = TypeVar("V")


class SharedLookups(Generic[V]):
    """Values loaded on first use and kept for the room; concurrent misses share one load.

    When a flash drop opens, thousands of buys arrive within milliseconds. Without this,
    every one of them would miss an empty cache and run the same database lookup.
    """

    def __init__(self) -> None:
        self._loads: dict[Hashable, asyncio.Future[V | None]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[V | None]]) -> V | None:
        future = self._loads.get(key)
        if future is None:
            future = asyncio.ensure_future(load())
            self._loads[key] = future
        try:
            value = await asyncio.shield(future)  # one cancelled waiter leaves the load be
        except Exception:
            self.forget(key, future)
            raise
        if value is None:  # not found (yet): ask again next time
            self.forget(key, future)
        return value

    def forget(self, key: Hashable, future: asyncio.Future[V | None] | None = None) -> None:
        if future is None or self._loads.get(key) is future:
            self._loads.pop(key, None)


class Viewer(Protocol):
    user_id: int | None
    role: str

    async def deliver(self, message: dict[str, Any]) -> None:
        """Send one ASGI ``websocket.send`` message (shared, never mutated)."""

    async def kick(self, code: int) -> None: ...


def sample_comments(
    comments: list[dict[str, Any]], cap: int, rng: random.Random | None = None
) -> tuple[list[dict[str, Any]], int]:
    """At most ``cap`` comments: every host/moderator line, then one per author in turn
    (authors in random order), so a storm from a few accounts cannot drown the rest.
    Returns the sample in posting order and how many were left out."""
    if len(comments) <= cap:
        return comments, 0
    rng = rng or random.Random()
    chosen = [c for c in comments if c["role"] != "viewer"]
    by_author: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for c in comments:
        if c["role"] == "viewer":
            by_author[c["author_id"]].append(c)
    authors = list(by_author)
    rng.shuffle(authors)
    budget = max(cap - len(chosen), 0)
    turn = 0
    while budget > 0 and authors:
        still = []
        for author in authors:
            queue = by_author[author]
            if budget and turn < len(queue):
                chosen.append(queue[turn])
                budget -= 1
            if turn + 1 < len(queue):
                still.append(author)
        authors = still
        turn += 1
    chosen.sort(key=lambda c: c["at"])
    return chosen, len(comments) - len(chosen)


class RoomHub:
    #: This process's rooms per event loop, keyed by the loop object itself (not its id,
    #: which a later loop may reuse): a room never outlives its loop or leaks into another.
    _hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, RoomHub]] = (
        weakref.WeakKeyDictionary()
    )
    _log_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, show: Show, rules: RoomSettings) -> None:
        self.show_id = show.pk
        self.code = show.code
        self.rules = rules
        self.viewers: set[Viewer] = set()
        #: connections per signed-in user here (a user may watch from several tabs)
        self.signed_in: Counter[int] = Counter()
        self.seq = 0
        self.layer = get_channel_layer()
        self.channel = ""
        self._tasks: list[asyncio.Task[None]] = []
        # frame pacing
        self._dirty = asyncio.Event()
        self._last_frame = 0.0
        self.interval = MIN_FRAME_SECONDS
        self.fanout_seconds = 0.0  #: recent time one frame took to hand to every viewer
        # collected until the next frame
        self.comments: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.likes_delta = 0
        self.changes: dict[str, Any] = {}
        self.announcements: list[dict[str, Any]] = []
        self.coupons: list[dict[str, Any]] = []
        self.private: dict[int, list[dict[str, Any]]] = defaultdict(list)
        # process-local bookkeeping
        self.local_likes = 0
        self.unsaved_likes = 0
        self.deleted_cids: set[str] = set()
        self.presence: dict[str, tuple[int, float]] = {}
        self.viewers_total = 0
        self.dropped_total = 0
        #: buy-path lookups shared by this process's connections (invalidated by events)
        self.drops: SharedLookups[Any] = SharedLookups()
        self.variants: SharedLookups[Any] = SharedLookups()
        self.local_left: dict[int, int] = {}

    # ---- lifecycle -------------------------------------------------------------------

    @classmethod
    async def join(cls, show: Show, viewer: Viewer) -> RoomHub:
        hubs = cls._hubs.setdefault(asyncio.get_running_loop(), {})
        hub = hubs.get(show.code)
        if hub is None:
            rules = await database_sync_to_async(room_settings)(show)
            hub = hubs.get(show.code)
            if hub is None:
                hub = cls(show, rules)
                hubs[show.code] = hub
                await hub._start()
        hub.viewers.add(viewer)
        if viewer.user_id is not None:
            hub.signed_in[viewer.user_id] += 1
        return hub

    async def leave(self, viewer: Viewer) -> None:
        self._forget(viewer)
        if self.viewers:
            return
        hubs = self._hubs.get(asyncio.get_running_loop(), {})
        if hubs.get(self.code) is self:
            del hubs[self.code]
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.layer is not None and self.channel:
            await self.layer.group_discard(events.room_group(self.code), self.channel)
        try:
            await self._flush()
        except Exception:  # the log keeps them (Redis) or the next room's flush does
            logger.exception("live comment flush failed", extra={"show": self.code})

    async def _start(self) -> None:
        if self.layer is not None:
            self.channel = await self.layer.new_channel(prefix="live-hub")
            await self.layer.group_add(events.room_group(self.code), self.channel)
            self._tasks.append(asyncio.create_task(self._read()))
        self._tasks.append(asyncio.create_task(self._frames()))
        self._tasks.append(asyncio.create_task(self._housekeeping()))
        self._tasks.append(asyncio.create_task(self._flusher()))
        self._ensure_log_flusher()

    async def _read(self) -> None:
        assert self.layer is not None
        while True:
            message = await self.layer.receive(self.channel)
            try:
                await self.on_event(message.get("event") or {})
            except Exception:
                logger.exception("live room event failed", extra={"show": self.code})

    async def _frames(self) -> None:
        """Send a frame when something changed, at most one per ``interval``."""
        loop = asyncio.get_running_loop()
        while True:
            await self._dirty.wait()
            now = loop.time()
            delay = max(COALESCE_SECONDS, self._last_frame + self.interval - now)
            await asyncio.sleep(delay)
            self._dirty.clear()
            self._last_frame = started = loop.time()
            try:
                await self.send_frame()
            except Exception:
                logger.exception("live room frame failed", extra={"show": self.code})
            spent = loop.time() - started
            self.fanout_seconds = 0.7 * self.fanout_seconds + 0.3 * spent
            self.interval = min(
                MAX_FRAME_SECONDS, max(MIN_FRAME_SECONDS, FANOUT_SHARE * self.fanout_seconds)
            )

    async def _housekeeping(self) -> None:
        last_presence = last_dashboard = 0.0
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            now = time.monotonic()
            try:
                if now - last_presence >= PRESENCE_SECONDS:
                    last_presence = now
                    await self._publish_presence()
                if self.local_left:
                    left, self.local_left = self.local_left, {}
                    for drop_id, units in left.items():
                        await events.broadcast_async(
                            self.code, events.event("room.drop_left", drop=drop_id, left=units)
                        )
                if self.local_likes:
                    delta, self.local_likes = self.local_likes, 0
                    await events.broadcast_async(
                        self.code, events.event("room.likes", delta=delta, node=NODE)
                    )
                if now - last_dashboard >= DASHBOARD_SECONDS:
                    last_dashboard = now
                    await self._push_dashboard()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("live room housekeeping failed", extra={"show": self.code})

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(comment_log().flush_seconds)
            try:
                await self._flush_counters()
            except asyncio.CancelledError:
                raise
            except Exception:  # kept in memory: the next flush retries
                logger.exception("live room counters flush failed", extra={"show": self.code})

    @classmethod
    def _ensure_log_flusher(cls) -> None:
        """One comment-log flusher per event loop, however many rooms it serves: the log
        holds every room's comments, so one reader per process stores them all."""
        loop = asyncio.get_running_loop()
        running = cls._log_flushers.get(loop)
        if running is None or running.done():
            cls._log_flushers[loop] = loop.create_task(cls._flush_log_while_rooms_open(loop))

    @classmethod
    async def _flush_log_while_rooms_open(cls, loop: asyncio.AbstractEventLoop) -> None:
        while cls._hubs.get(loop):
            await asyncio.sleep(comment_log().flush_seconds)
            try:
                await comment_log().flush(consumer=NODE)
            except Exception:  # the log keeps them: the next flush retries
                logger.exception("live comment flush failed")

    def touch(self) -> None:
        """Something for the next frame arrived."""
        self._dirty.set()

    # ---- inbound events ------------------------------------------------------------------

    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind == "room.comment":
            if event["cid"] not in self.deleted_cids:
                self.comments.append({k: v for k, v in event.items() if k != "kind"})
        elif kind == "room.likes":
            self.likes_delta += int(event.get("delta", 0))
        elif kind == "room.presence":
            self.presence[str(event["node"])] = (int(event["count"]), time.monotonic())
            return
        elif kind == "room.comment_deleted":
            self.deleted_cids.add(event["cid"])
            self.comments = [c for c in self.comments if c["cid"] != event["cid"]]
            self.deleted.append(event["cid"])
        elif kind == "room.pinned":
            self.changes["pinned"] = event.get("item")
        elif kind == "room.drop":
            self.drops.forget(int(event["drop"]["id"]))
            self.changes.setdefault("drops", {})[str(event["drop"]["id"])] = event["drop"]
        elif kind == "room.drop_left":
            self.changes.setdefault("drop_left", {})[str(event["drop"])] = event["left"]
        elif kind == "room.status":
            self.changes["status"] = event["status"]
            self.rules.status = event["status"]
        elif kind == "room.announcement":
            self.announcements.append({"text": event["text"], "at": event["at"]})
        elif kind == "room.coupon":
            self.coupons.append({k: v for k, v in event.items() if k != "kind"})
        elif kind == "room.settings":
            show = await database_sync_to_async(Show.objects.get)(pk=self.show_id)
            self.rules = await database_sync_to_async(room_settings)(show)
            self.changes["slow_mode_seconds"] = self.rules.slow_mode_seconds
        elif kind == "room.kick":
            for viewer in list(self.viewers):
                if viewer.user_id == event["user"]:
                    await viewer.kick(4403)
            return
        elif kind == "room.private":
            mine = [(user, item) for user, item in event["to"] if user in self.signed_in]
            if not mine:
                return
            for user, item in mine:
                self.private[int(user)].append(item)
        else:
            return
        self.touch()

    # ---- outbound frames -----------------------------------------------------------------

    def total_viewers(self) -> int:
        fresh = time.monotonic() - 3 * PRESENCE_SECONDS
        others = sum(n for node, (n, at) in self.presence.items() if node != NODE and at >= fresh)
        return others + len(self.viewers)

    async def _publish_presence(self) -> None:
        await events.broadcast_async(
            self.code, events.event("room.presence", node=NODE, count=len(self.viewers))
        )
        total = self.total_viewers()
        if total != self.viewers_total:
            self.viewers_total = total
            self.changes["viewers"] = total
            self.touch()

    async def send_frame(self) -> None:
        """Send what arrived since the last frame: one shared message, personal extras."""
        comments, self.comments = self.comments, []
        private, self.private = self.private, defaultdict(list)
        sample, dropped = sample_comments(comments, MAX_COMMENTS_PER_FRAME)
        self.dropped_total += dropped
        frame: dict[str, Any] = {}
        if sample:
            frame["comments"] = sample
        if dropped:
            frame["more_comments"] = dropped
        if self.likes_delta:
            frame["likes"], self.likes_delta = self.likes_delta, 0
        if self.deleted:
            frame["deleted"], self.deleted = self.deleted, []
        if self.announcements:
            frame["announcements"], self.announcements = self.announcements, []
        if self.coupons:
            frame["coupons"], self.coupons = self.coupons, []
        if self.changes:
            frame.update(self.changes)
            self.changes = {}
        if not frame and not private:
            return
        self.seq += 1
        frame = {"type": "frame", "seq": self.seq, **frame}
        shared = (
            ws_text(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))
            if len(frame) > 2
            else None
        )
        left_out: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if dropped:
            sampled_ids = {c["cid"] for c in sample}
            for c in comments:
                if c["cid"] not in sampled_ids and c["author_id"] is not None:
                    left_out[int(c["author_id"])].append(c)
        for index, viewer in enumerate(list(self.viewers)):
            if index and index % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            uid = viewer.user_id
            if uid is not None and (uid in left_out or uid in private):
                personal = dict(frame)
                if uid in left_out:
                    personal["comments"] = sorted(sample + left_out[uid], key=lambda c: c["at"])
                if uid in private:
                    personal["private"] = private[uid]
                text = json.dumps(personal, ensure_ascii=False, separators=(",", ":"))
                await self._deliver(viewer, ws_text(text))
            elif shared is not None:
                await self._deliver(viewer, shared)

    async def _deliver(self, viewer: Viewer, message: dict[str, Any]) -> None:
        """One viewer's closed socket must not cost the others their frame."""
        try:
            await viewer.deliver(message)
        except Exception:
            self._forget(viewer)

    def _forget(self, viewer: Viewer) -> None:
        if viewer not in self.viewers:
            return
        self.viewers.discard(viewer)
        if viewer.user_id is not None:
            self.signed_in[viewer.user_id] -= 1
            if self.signed_in[viewer.user_id] <= 0:
                del self.signed_in[viewer.user_id]

    async def _push_dashboard(self) -> None:
        staff = [v for v in self.viewers if v.role in ("host", "moderator")]
        await database_sync_to_async(cache.set)(
            f"live:viewers:{self.code}", self.total_viewers(), 30
        )
        if not staff:
            return
        show = await database_sync_to_async(Show.objects.select_related("sales_channel").get)(
            pk=self.show_id
        )
        stats = await database_sync_to_async(show_dashboard)(show, viewers_now=self.total_viewers())
        message = ws_text(json.dumps({"type": "dashboard", **stats}))
        for viewer in staff:
            await self._deliver(viewer, message)

    # ---- writes that this process owns -----------------------------------------------------

    def note_left(self, drop_id: int, left: int) -> None:
        """Units left after a local buy; published once per tick, not once per buy."""
        self.local_left[drop_id] = left

    async def _flush(self) -> None:
        await comment_log().flush(consumer=NODE)
        await self._flush_counters()

    async def _flush_counters(self) -> None:
        likes, self.unsaved_likes = self.unsaved_likes, 0
        if likes:
            await database_sync_to_async(likes_add)(show_id=self.show_id, count=likes)
        if self.viewers_total:
            await database_sync_to_async(peak_viewers_record)(
                show_id=self.show_id, viewers=self.viewers_total
            )


# ---- Redis claim drainers ---------------------------------------------------------------

#: A drain task asked for in this process within the window also covers takes made during
#: it (the worker reads the whole stream), so a buying storm asks once per window per drop.
# A forked child serves its own rooms on its own loop, never the parent's.
os.register_at_fork(after_in_child=RoomHub._hubs.clear)
os.register_at_fork(after_in_child=RoomHub._log_flushers.clear)

DRAIN_DEBOUNCE_SECONDS = 0.1
_last_kick: dict[int, float] = {}


def kick_drain(drop_id: int) -> None:
    """Ask a worker to make the Redis takes of a drop durable (claims and oms holds).

    The drain runs in a Celery worker, not in the web process: making holds is database
    work that would otherwise compete with fan-out for this process's CPU. The beat
    reconcile also drains, so a lost kick delays a hold, never loses it.
    """
    now = time.monotonic()
    if now - _last_kick.get(drop_id, 0.0) < DRAIN_DEBOUNCE_SECONDS:
        return
    _last_kick[drop_id] = now
    from live.tasks import drop_claims_drain

    loop = asyncio.get_running_loop()
    loop.run_in_executor(
        None, lambda: drop_claims_drain.apply_async((drop_id,), countdown=DRAIN_DEBOUNCE_SECONDS)
    )
