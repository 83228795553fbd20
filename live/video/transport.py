"""How the web process talks to media workers: one JSON request, one JSON reply.

With ``REDIS_URL`` set, requests go on a Redis list that every worker of the same
database pops (``livehub:media:<database>:requests``); a request for a given worker
(stop a session) goes on that worker's own list; each reply comes back on a one-off
list named by the request. Without Redis, the one embedded worker listens on a Unix
socket under the data directory and speaks newline-delimited JSON. Either way the web
process never touches media.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from hub.kernel.ids import opaque_token
from live.video.errors import MediaWorkerUnavailable

REQUESTS_KEY = "livehub:media:{database}:requests"
WORKER_KEY = "livehub:media:worker:{worker_id}"
REPLY_KEY = "livehub:media:reply:{request_id}"
#: A reply list left behind by a caller that timed out expires on its own.
REPLY_TTL_SECONDS = 60
MAX_MESSAGE_BYTES = 1 << 20


def requests_key() -> str:
    """The shared request list, per database: a worker only serves sessions it can write."""
    name = Path(str(connection.settings_dict["NAME"])).name
    return REQUESTS_KEY.format(database=name)


def socket_path() -> Path:
    return Path(settings.LIVEHUB_MEDIA_WORKER_SOCKET)


def worker_request(
    message: dict[str, Any], *, timeout: float, worker_id: str = ""
) -> dict[str, Any]:
    """Send ``message`` to a media worker (any, or ``worker_id``) and wait for its reply."""
    if settings.REDIS_URL:
        return _redis_request(message, timeout=timeout, worker_id=worker_id)
    return _socket_request(message, timeout=timeout)


def _redis_request(message: dict[str, Any], *, timeout: float, worker_id: str) -> dict[str, Any]:
    import redis

    request_id = opaque_token(12)
    reply_key = REPLY_KEY.format(request_id=request_id)
    queue = WORKER_KEY.format(worker_id=worker_id) if worker_id else requests_key()
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.rpush(queue, json.dumps({**message, "reply_to": reply_key}))
        popped = client.blpop([reply_key], timeout=max(1, round(timeout)))
    except redis.RedisError as exc:
        raise MediaWorkerUnavailable(f"media worker queue unreachable: {exc}") from exc
    finally:
        client.close()
    if popped is None:
        raise MediaWorkerUnavailable("no media worker answered in time")
    reply: dict[str, Any] = json.loads(popped[1])
    return reply


def _socket_request(message: dict[str, Any], *, timeout: float) -> dict[str, Any]:
    path = socket_path()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(path))
            conn.sendall(json.dumps(message).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) > MAX_MESSAGE_BYTES:
                    raise MediaWorkerUnavailable("media worker reply too large")
    except OSError as exc:
        raise MediaWorkerUnavailable(f"media worker unreachable at {path}: {exc}") from exc
    if not data:
        raise MediaWorkerUnavailable("media worker closed the connection without a reply")
    reply: dict[str, Any] = json.loads(data)
    return reply
