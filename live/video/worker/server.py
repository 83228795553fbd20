"""The media worker process: answers WHIP offers and runs ingest sessions.

Requests arrive over the transport of ``live.video.transport`` (a Redis list, or a
Unix socket in embedded mode). The worker writes session state through the services
(media start, heartbeats, end), and ends its sessions cleanly on shutdown so every
recording gets its ``#EXT-X-ENDLIST``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from hub.kernel.ids import opaque_token
from live.video import transport
from live.video.services.recovery import sessions_recover_orphans
from live.video.services.sessions import (
    publisher_session_end,
    publisher_session_heartbeat,
    publisher_session_mark_live,
)
from live.video.worker.hls import RecordingStats, rendition_ladder
from live.video.worker.session import IngestSession, OfferRejected, SeatsFullError

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0


def _db(func: Any) -> Any:
    """Run a service from the event loop in a thread with a fresh DB connection."""

    def call(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(call, thread_sensitive=True)


class MediaWorker:
    def __init__(self, *, worker_id: str | None = None) -> None:
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{opaque_token(4)}"
        self.sessions: dict[str, IngestSession] = {}
        self._pending: set[asyncio.Future[None]] = set()
        self.renditions = rendition_ladder(
            settings.LIVEHUB_VIDEO_MAX_HEIGHT, settings.LIVEHUB_VIDEO_LOW_HEIGHT
        )
        self.segment_seconds = settings.LIVEHUB_VIDEO_SEGMENT_SECONDS
        self.part_seconds = settings.LIVEHUB_VIDEO_PART_SECONDS

    # --- requests -----------------------------------------------------------------------
    async def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        op = message.get("op")
        if op == "offer":
            return await self._offer(message)
        if op == "stop":
            session = self.sessions.get(str(message.get("session")))
            if session is not None:
                await session.end(str(message.get("reason", "deleted")))
            return {"ok": True, "worker": self.worker_id}
        if op == "whep":
            return await self._whep(message)
        if op == "whep_stop":
            session = self.sessions.get(str(message.get("session")))
            if session is not None:
                await session.remove_seat(str(message.get("seat")))
            return {"ok": True, "worker": self.worker_id}
        if op == "ping":
            return {"ok": True, "worker": self.worker_id, "sessions": len(self.sessions)}
        return {"ok": False, "code": "unknown_op", "message": f"unknown op {op!r}"}

    async def _whep(self, message: dict[str, Any]) -> dict[str, Any]:
        session = self.sessions.get(str(message.get("session")))
        if session is None:
            return {"ok": False, "code": "not_live", "message": "the show is not live here"}
        try:
            answer = await session.add_seat(str(message["seat"]), str(message["sdp"]))
        except SeatsFullError as exc:
            return {
                "ok": False,
                "code": "seats_full",
                "message": str(exc),
                "cap": session.seat_cap,
            }
        except OfferRejected as exc:
            return {"ok": False, "code": "offer_invalid", "message": str(exc)}
        return {"ok": True, "worker": self.worker_id, "sdp": answer}

    async def _offer(self, message: dict[str, Any]) -> dict[str, Any]:
        public_id = str(message["session"])
        out_dir = Path(settings.MEDIA_ROOT) / str(message["media_dir"])

        async def on_live(started: datetime) -> None:
            await _db(publisher_session_mark_live)(public_id=public_id, media_started_at=started)

        async def on_end(reason: str, stats: RecordingStats) -> None:
            self.sessions.pop(public_id, None)
            await _db(publisher_session_end)(
                public_id=public_id,
                reason=reason,
                duration_seconds=stats.duration_seconds,
                segment_count=stats.segment_count,
            )
            logger.info(
                "session ended",
                extra={"session": public_id, "reason": reason, "segments": stats.segment_count},
            )

        session = IngestSession(
            public_id=public_id,
            out_dir=out_dir,
            renditions=self.renditions,
            segment_seconds=self.segment_seconds,
            part_seconds=self.part_seconds,
            ice_servers=list(settings.LIVEHUB_VIDEO_ICE_SERVERS),
            seat_cap=settings.LIVEHUB_VIDEO_WHEP_SEATS,
            on_live=on_live,
            on_end=on_end,
        )
        try:
            answer = await session.answer(str(message["sdp"]))
        except OfferRejected as exc:
            return {"ok": False, "code": "offer_invalid", "message": str(exc)}
        self.sessions[public_id] = session
        return {"ok": True, "worker": self.worker_id, "sdp": answer}

    # --- serving ------------------------------------------------------------------------
    async def serve(self, *, ready: asyncio.Event | None = None) -> None:
        try:  # a worker that died before us left sessions without an end: finish them
            recovered = await _db(sessions_recover_orphans)()
            if recovered:
                logger.info("recovered orphaned sessions", extra={"sessions": recovered})
        except Exception:
            logger.exception("orphan recovery failed")
        heartbeat = asyncio.ensure_future(self._heartbeat())
        try:
            if settings.REDIS_URL:
                await self._serve_redis(ready)
            else:
                await self._serve_socket(ready)
        finally:
            heartbeat.cancel()
            await self.shutdown()

    async def shutdown(self) -> None:
        for session in list(self.sessions.values()):
            await session.end("worker_stopped")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if self.sessions:
                sent = list(self.sessions)
                try:
                    active = await _db(publisher_session_heartbeat)(public_ids=sent)
                except Exception:
                    logger.exception("heartbeat failed")
                    continue
                for public_id in set(sent) - set(active):
                    session = self.sessions.get(public_id)
                    if session is not None:  # recovered as orphaned meanwhile: stop writing
                        await session.end("ended_elsewhere")

    async def _serve_socket(self, ready: asyncio.Event | None) -> None:
        path = transport.socket_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                line = await reader.readline()
                reply = await self._safe_handle(line)
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
            finally:
                writer.close()

        server = await asyncio.start_unix_server(
            client, path=str(path), limit=transport.MAX_MESSAGE_BYTES
        )
        logger.info("media worker listening", extra={"socket": str(path)})
        if ready is not None:
            ready.set()
        async with server:
            await server.serve_forever()

    async def _serve_redis(self, ready: asyncio.Event | None) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(settings.REDIS_URL)
        own = transport.WORKER_KEY.format(worker_id=self.worker_id)
        shared = transport.requests_key()
        logger.info("media worker consuming", extra={"queue": shared})
        if ready is not None:
            ready.set()
        try:
            while True:
                popped = await client.blpop([own, shared], timeout=1)
                if popped is None:
                    continue
                task = asyncio.ensure_future(self._reply_redis(client, popped[1]))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
        finally:
            await client.aclose()

    async def _reply_redis(self, client: Any, raw: bytes | str) -> None:
        reply = await self._safe_handle(raw)
        try:
            reply_to = json.loads(raw)["reply_to"]
        except (ValueError, KeyError, TypeError):
            return
        await client.rpush(reply_to, json.dumps(reply))
        await client.expire(reply_to, transport.REPLY_TTL_SECONDS)

    async def _safe_handle(self, raw: bytes | str) -> dict[str, Any]:
        try:
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise ValueError("not an object")
        except ValueError:
            return {"ok": False, "code": "bad_request", "message": "request is not JSON"}
        try:
            return await self.handle(message)
        except Exception as exc:
            logger.exception("media worker request failed")
            return {"ok": False, "code": "worker_error", "message": str(exc)}
