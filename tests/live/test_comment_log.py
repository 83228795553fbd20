"""The comment log: limits shared through Redis, durable comments, exactly-once storage."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from live import comment_log as log_module
from live.comment_log import (
    COMMENT_BURST,
    GROUP,
    STREAM,
    TAG,
    MemoryCommentLog,
    RedisCommentLog,
    comment_log,
)
from live.errors import RateLimited
from live.models import Comment
from live.services.comments import CommentDraft, comments_store_drafts
from live.tasks import comments_flush

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (REDIS_URL)")


def _wipe() -> None:
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match=f"{TAG}*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture(autouse=True)
def clean_comment_log() -> Iterator[None]:
    _wipe()
    yield
    _wipe()


@pytest_asyncio.fixture(autouse=True)
async def close_worker_thread_connections() -> AsyncIterator[None]:
    yield
    await sync_to_async(connections.close_all)()


def draft(author_id: int, text: str, cid: str = "") -> CommentDraft:
    return CommentDraft(cid or f"c{time.time_ns()}", author_id, "name", "viewer", text, time.time())


async def stored() -> list[tuple[str, str]]:
    rows = Comment.objects.order_by("text").values_list("cid", "text")
    return await sync_to_async(list)(rows)


@needs_redis
async def test_comments_a_crashed_flusher_left_pending_are_stored_exactly_once(
    show, shopper, monkeypatch
) -> None:
    monkeypatch.setattr(log_module, "RECLAIM_IDLE_MS", 0)
    taker = RedisCommentLog(settings.REDIS_URL)  # the process that accepted the comments
    sent = [draft(shopper.pk, f"line {i}", cid=f"crash{i}") for i in range(6)]
    for one in sent:
        await taker.admit(show_id=show.pk, draft=one, limited=False, slow_mode_seconds=0)
    # a flusher reads all six, stores the first three, and dies before XACK
    await taker._ensure_group(taker._client())
    raw = redis.Redis.from_url(settings.REDIS_URL)
    read = raw.xreadgroup(GROUP, "dead-node", {STREAM: ">"}, count=100)
    assert len(read[0][1]) == 6
    await sync_to_async(comments_store_drafts)(batch=[(show.pk, d) for d in sent[:3]])
    # a fresh process's flusher claims the pending entries and stores the rest
    recovered = await RedisCommentLog(settings.REDIS_URL).flush(consumer="new-node")
    assert recovered == 6
    assert await stored() == [(f"crash{i}", f"line {i}") for i in range(6)]
    assert raw.xlen(STREAM) == 0
    assert raw.xpending(STREAM, GROUP)["pending"] == 0
    assert await RedisCommentLog(settings.REDIS_URL).flush(consumer="again") == 0
    assert len(await stored()) == 6


@needs_redis
async def test_comments_not_yet_read_by_any_flusher_survive_the_process(show, shopper) -> None:
    taker = RedisCommentLog(settings.REDIS_URL)
    await taker.admit(show_id=show.pk, draft=draft(shopper.pk, "kept"), limited=True,
                      slow_mode_seconds=0)  # fmt: skip
    del taker  # the process is gone; the stream is not
    assert await RedisCommentLog(settings.REDIS_URL).flush(consumer="next") == 1
    assert [text for _cid, text in await stored()] == ["kept"]


@needs_redis
async def test_the_rate_limit_and_slow_mode_hold_across_processes(show, shopper) -> None:
    node_a, node_b = RedisCommentLog(settings.REDIS_URL), RedisCommentLog(settings.REDIS_URL)
    nodes = [node_a, node_b]
    for i in range(int(COMMENT_BURST)):
        await nodes[i % 2].admit(show_id=show.pk, draft=draft(shopper.pk, f"ok {i}"),
                                 limited=True, slow_mode_seconds=0)  # fmt: skip
    with pytest.raises(RateLimited, match="too fast") as refused:
        await node_b.admit(show_id=show.pk, draft=draft(shopper.pk, "one too many"),
                           limited=True, slow_mode_seconds=0)  # fmt: skip
    assert 0 < refused.value.details["retry_after"] <= 1.0
    # the host and moderators are not limited
    await node_b.admit(show_id=show.pk, draft=draft(shopper.pk, "staff"), limited=False,
                       slow_mode_seconds=0)  # fmt: skip
    await node_a.flush(consumer="a")
    assert len(await stored()) == int(COMMENT_BURST) + 1


@needs_redis
async def test_slow_mode_is_shared_by_every_process(show, shopper, other_shopper) -> None:
    node_a, node_b = RedisCommentLog(settings.REDIS_URL), RedisCommentLog(settings.REDIS_URL)
    await node_a.admit(show_id=show.pk, draft=draft(shopper.pk, "first"), limited=True,
                       slow_mode_seconds=30)  # fmt: skip
    with pytest.raises(RateLimited, match="slow mode") as refused:
        await node_b.admit(show_id=show.pk, draft=draft(shopper.pk, "second"), limited=True,
                           slow_mode_seconds=30)  # fmt: skip
    assert 29 <= refused.value.details["retry_after"] <= 30
    await node_b.admit(show_id=show.pk, draft=draft(other_shopper.pk, "someone else"),
                       limited=True, slow_mode_seconds=30)  # fmt: skip
    await node_b.flush(consumer="b")
    assert [text for _cid, text in await stored()] == ["first", "someone else"]


async def test_embedded_limits_refuse_a_fourth_comment_in_a_second(show, shopper) -> None:
    log = MemoryCommentLog()
    for i in range(int(COMMENT_BURST)):
        await log.admit(show_id=show.pk, draft=draft(shopper.pk, f"ok {i}"), limited=True,
                        slow_mode_seconds=0)  # fmt: skip
    with pytest.raises(RateLimited):
        await log.admit(show_id=show.pk, draft=draft(shopper.pk, "no"), limited=True,
                        slow_mode_seconds=0)  # fmt: skip
    assert log.pending() == int(COMMENT_BURST)
    assert await log.flush(consumer="") == int(COMMENT_BURST)
    assert log.pending() == 0


async def test_the_embedded_buffer_is_bounded_and_flushed_at_exit(
    show, shopper, monkeypatch
) -> None:
    monkeypatch.setattr(log_module, "MAX_BUFFER", 4)
    log = MemoryCommentLog()
    for i in range(4):  # the fourth fills the buffer: it is written before admit returns
        await log.admit(show_id=show.pk, draft=draft(shopper.pk, f"b{i}"), limited=False,
                        slow_mode_seconds=0)  # fmt: skip
    assert (log.pending(), len(await stored())) == (0, 4)
    await log.admit(show_id=show.pk, draft=draft(shopper.pk, "b4"), limited=False,
                    slow_mode_seconds=0)  # fmt: skip
    assert await sync_to_async(log.flush_sync)() == 1  # what atexit runs
    assert [text for _cid, text in await stored()] == [f"b{i}" for i in range(5)]


async def test_a_comment_deleted_before_it_was_stored_is_stored_hidden(show, shopper) -> None:
    log = comment_log()
    await log.admit(show_id=show.pk, draft=draft(shopper.pk, "rude", cid="rude1"),
                    limited=False, slow_mode_seconds=0)  # fmt: skip
    await sync_to_async(log.mark_deleted)(["rude1"])
    await log.flush(consumer="test")
    row = await sync_to_async(Comment.objects.get)(cid="rude1")
    assert row.deleted is True


@needs_redis
async def test_the_beat_flush_stores_comments_no_web_process_flushed(show, shopper) -> None:
    taker = RedisCommentLog(settings.REDIS_URL)  # a web process that accepted, then died
    await taker.admit(
        show_id=show.pk,
        draft=draft(shopper.pk, "orphan", cid="orphan1"),
        limited=False,
        slow_mode_seconds=0,
    )
    assert await sync_to_async(comments_flush)() == 1
    assert await stored() == [("orphan1", "orphan")]
    assert await sync_to_async(comments_flush)() == 0
