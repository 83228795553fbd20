"""Accepted comments: rate-limited, durable before they are acknowledged, stored in batches.

With Redis, one Lua script per comment checks the author's token bucket and slow mode and
appends the comment to the stream ``{live:comments}:log`` (XADD), in one atomic step and
one round trip. So the limits hold across every process of the deployment, and a comment
that got its ``comment.ok`` survives a crash of the process that took it. Flushers (each
process with open rooms runs one, every second) read the stream through the consumer
group ``flushers``, store a batch with one ``bulk_create`` (idempotent: ``cid`` is unique,
a replay inserts nothing twice), then XACK and XDEL the entries: the stream stays short.
Entries that a crashed flusher read but never acknowledged stay pending; the next flush
anywhere claims them (XAUTOCLAIM) once they have been idle ``RECLAIM_IDLE_MS``.

Without Redis (the embedded product: one process), token buckets and slow mode live in
process memory, and accepted comments wait in a bounded buffer that is flushed every
``FLUSH_SECONDS`` by the room hubs, at once when it holds ``MAX_BUFFER`` comments, when a
room empties and at interpreter exit. A hard crash (SIGKILL, power loss) loses at most the
last flush interval's comments: the documented embedded trade-off.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
import weakref
from asyncio import AbstractEventLoop, get_running_loop
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from live.errors import RateLimited
from live.services.comments import (
    CommentDraft,
    comments_mark_deleted,
    comments_store_drafts,
)

logger = logging.getLogger(__name__)

#: per user per show: sustained comments per second and burst (host and moderators exempt)
COMMENT_RATE = 1.0
COMMENT_BURST = 3.0
#: how often room hubs flush the log: the stream is durable, so Redis flushes bigger batches
REDIS_FLUSH_SECONDS = 1.0
FLUSH_SECONDS = 0.5
MAX_BATCH = 500
MAX_BUFFER = 2000
RECLAIM_IDLE_MS = 5000
DELETED_TTL_SECONDS = 3600

TAG = "{live:comments}"  #: one hash slot for every key the scripts touch together
STREAM = f"{TAG}:log"
GROUP = "flushers"

ADMIT = """
-- KEYS: bucket, slow-mode marker, stream
-- ARGV: limited (1/0), rate per s, burst, slow-mode ms, then the entry's field/value pairs
if ARGV[1] == '1' then
  local slow_ms = tonumber(ARGV[4])
  if slow_ms > 0 then
    local wait = redis.call('PTTL', KEYS[2])
    if wait > 0 then return {'slow', wait} end
  end
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  local rate = tonumber(ARGV[2])
  local burst = tonumber(ARGV[3])
  local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
  local tokens = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
  if tokens < 1 then return {'rate', math.ceil((1 - tokens) * 1000 / rate)} end
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens - 1),
             'at', string.format('%d', now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
  if slow_ms > 0 then redis.call('SET', KEYS[2], '1', 'PX', slow_ms) end
end
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
return {'ok', redis.call('XADD', KEYS[3], '*', unpack(fields))}
"""


def _refuse(kind: str, wait_ms: float) -> RateLimited:
    retry_after = round(wait_ms / 1000, 1)
    if kind == "slow":
        return RateLimited(_("slow mode is on"), retry_after=retry_after)
    return RateLimited(_("you are commenting too fast"), retry_after=retry_after)


class CommentLog(Protocol):
    flush_seconds: float

    async def admit(
        self, *, show_id: int, draft: CommentDraft, limited: bool, slow_mode_seconds: int
    ) -> None:
        """Take one comment or raise ``RateLimited``; once it returns, the comment is kept."""

    async def flush(self, *, consumer: str) -> int:
        """Store what is waiting; returns how many comments were written."""

    def mark_deleted(self, cids: Iterable[str]) -> None:
        """Remember deletions of comments that may not be stored yet (sync, for services)."""


# ---- Redis: shared limits, a stream, consumer-group flushers -------------------------------


def _entry(show_id: int, draft: CommentDraft) -> list[str]:
    return [
        "cid", draft.cid,
        "show", str(show_id),
        "author_id", "" if draft.author_id is None else str(draft.author_id),
        "author", draft.author,
        "role", draft.role,
        "text", draft.text,
        "at", repr(draft.at),
    ]  # fmt: skip


def _draft(fields: dict[bytes, bytes]) -> tuple[int, CommentDraft]:
    get = {k.decode(): v.decode() for k, v in fields.items()}
    author_id = int(get["author_id"]) if get.get("author_id") else None
    draft = CommentDraft(
        get["cid"], author_id, get["author"], get["role"], get["text"], float(get["at"])
    )
    return int(get["show"]), draft


class RedisCommentLog:
    """The deployed path: limits and durability shared by every process through Redis."""

    flush_seconds = REDIS_FLUSH_SECONDS

    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: weakref.WeakKeyDictionary[AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._grouped: weakref.WeakSet[aioredis.Redis] = weakref.WeakSet()

    def _client(self) -> aioredis.Redis:
        """One asyncio client per event loop (asyncio connections belong to their loop)."""
        loop = get_running_loop()
        found = self._clients.get(loop)
        if found is None:
            found = aioredis.Redis.from_url(self.url)
            self._clients[loop] = found
        return found

    @functools.cached_property
    def _sync(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    async def admit(
        self, *, show_id: int, draft: CommentDraft, limited: bool, slow_mode_seconds: int
    ) -> None:
        client = self._client()
        user = draft.author_id if draft.author_id is not None else 0
        keys = [f"{TAG}:rate:{show_id}:{user}", f"{TAG}:slow:{show_id}:{user}", STREAM]
        args: list[Any] = [
            "1" if limited else "0",
            COMMENT_RATE,
            COMMENT_BURST,
            slow_mode_seconds * 1000,
            *_entry(show_id, draft),
        ]
        reply = await client.eval(ADMIT, len(keys), *keys, *args)
        kind = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
        if kind != "ok":
            raise _refuse(kind, float(reply[1]))

    async def _ensure_group(self, client: aioredis.Redis) -> None:
        if client in self._grouped:
            return
        try:
            await client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._grouped.add(client)

    async def flush(self, *, consumer: str) -> int:
        client = self._client()
        await self._ensure_group(client)
        stored = 0
        while True:
            # entries a crashed (or failed) flusher read but never acknowledged
            claimed: Any = await client.xautoclaim(
                STREAM, GROUP, consumer, min_idle_time=RECLAIM_IDLE_MS, count=MAX_BATCH
            )
            stale: list[Any] = list(claimed[1])
            fresh: list[Any] = []
            got: Any = await client.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=MAX_BATCH)
            for _stream, messages in got or []:
                fresh.extend(messages)
            entries = [(i, f) for i, f in stale + fresh if f]
            gone = [i for i, f in stale if not f]  # deleted while pending
            if entries:
                stored += await self._store(client, entries)
            if gone:
                await client.xack(STREAM, GROUP, *gone)
            if len(fresh) < MAX_BATCH:
                return stored

    async def _store(self, client: aioredis.Redis, entries: list[tuple[Any, Any]]) -> int:
        batch = [_draft(fields) for _id, fields in entries]
        stored = int(await database_sync_to_async(comments_store_drafts)(batch=batch))
        cids = [draft.cid for _show, draft in batch]
        marked = await client.mget([f"{TAG}:deleted:{cid}" for cid in cids])
        deleted = [cid for cid, mark in zip(cids, marked, strict=True) if mark]
        if deleted:  # deleted before it was stored: the moderator's UPDATE found no row
            await database_sync_to_async(comments_mark_deleted)(cids=deleted)
        ids = [i for i, _fields in entries]
        async with client.pipeline(transaction=True) as pipe:
            pipe.xack(STREAM, GROUP, *ids)
            pipe.xdel(STREAM, *ids)
            await pipe.execute()
        return stored

    def mark_deleted(self, cids: Iterable[str]) -> None:
        pipe = self._sync.pipeline(transaction=False)
        for cid in cids:
            pipe.set(f"{TAG}:deleted:{cid}", "1", ex=DELETED_TTL_SECONDS)
        pipe.execute()

    def pending(self) -> int:
        """Entries not yet stored (read or not); for health checks and tests."""
        return int(self._sync.xlen(STREAM))


# ---- embedded: one process, memory, a bounded buffer ---------------------------------------


class _Bucket:
    __slots__ = ("at", "tokens")

    def __init__(self, now: float) -> None:
        self.tokens, self.at = COMMENT_BURST, now

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one is there."""
        self.tokens = min(COMMENT_BURST, self.tokens + (now - self.at) * COMMENT_RATE)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / COMMENT_RATE


class MemoryCommentLog:
    """The embedded path: limits per process, comments buffered in memory (bounded)."""

    MAX_USERS = 50_000
    flush_seconds = FLUSH_SECONDS

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer: list[tuple[int, CommentDraft]] = []
        self._buckets: OrderedDict[tuple[int, int], _Bucket] = OrderedDict()
        self._slow_until: dict[tuple[int, int], float] = {}
        self._deleted: OrderedDict[str, None] = OrderedDict()
        atexit.register(self.flush_sync)

    async def admit(
        self, *, show_id: int, draft: CommentDraft, limited: bool, slow_mode_seconds: int
    ) -> None:
        if limited and draft.author_id is not None:
            key, now = (show_id, draft.author_id), time.monotonic()
            until = self._slow_until.get(key, 0.0)
            if slow_mode_seconds and until > now:
                raise _refuse("slow", (until - now) * 1000)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(now)
                if len(self._buckets) > self.MAX_USERS:
                    self._buckets.popitem(last=False)
            self._buckets.move_to_end(key)
            wait = bucket.take(now)
            if wait:
                raise _refuse("rate", wait * 1000)
            if slow_mode_seconds:
                self._slow_until[key] = now + slow_mode_seconds
        with self._lock:
            self._buffer.append((show_id, draft))
            full = len(self._buffer) >= MAX_BUFFER
        if full:  # bounded: the poster waits for one batch write instead of memory growing
            await self.flush(consumer="")

    def _take(self) -> tuple[list[tuple[int, CommentDraft]], list[str]]:
        with self._lock:
            batch, self._buffer = self._buffer, []
            return batch, list(self._deleted)

    def _store(self, batch: list[tuple[int, CommentDraft]], deleted: list[str]) -> int:
        stored = 0
        for start in range(0, len(batch), MAX_BATCH):
            stored += comments_store_drafts(batch=batch[start : start + MAX_BATCH])
        cids = {draft.cid for _show, draft in batch}
        late = [cid for cid in deleted if cid in cids]
        if late:
            comments_mark_deleted(cids=late)
        return stored

    async def flush(self, *, consumer: str) -> int:
        batch, deleted = self._take()
        if not batch:
            return 0
        try:
            return int(await database_sync_to_async(self._store)(batch, deleted))
        except Exception:
            with self._lock:  # keep them for the next flush
                self._buffer[:0] = batch
            raise

    def flush_sync(self) -> int:
        """At interpreter exit (Daphne stopping): store what is still buffered."""
        batch, deleted = self._take()
        if not batch:
            return 0
        try:
            return self._store(batch, deleted)
        except Exception:
            logger.exception("live comments lost at exit", extra={"count": len(batch)})
            return 0

    def mark_deleted(self, cids: Iterable[str]) -> None:
        with self._lock:
            for cid in cids:
                self._deleted[cid] = None
            while len(self._deleted) > MAX_BUFFER:
                self._deleted.popitem(last=False)

    def pending(self) -> int:
        return len(self._buffer)


@functools.cache
def _log(url: str) -> RedisCommentLog | MemoryCommentLog:
    return RedisCommentLog(url) if url else MemoryCommentLog()


# A forked server process (a pre-forking server, a test's Daphne) starts with its own log:
# the parent's buffer, locks and Redis connections are not its own.
os.register_at_fork(after_in_child=_log.cache_clear)


def comment_log() -> RedisCommentLog | MemoryCommentLog:
    """The log of this deployment: Redis when ``REDIS_URL`` is set, else process memory."""
    return _log(settings.REDIS_URL)
