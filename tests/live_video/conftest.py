"""Fixtures: a show with a stream, and a real media worker process on the test database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone

from hub.kernel.roles import Role
from live.models import Show
from live.video import transport
from live.video.errors import MediaWorkerUnavailable
from live.video.models import Stream
from live.video.services.streams import stream_ensure
from oms.models import SalesChannel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def host(db: None) -> User:
    user = User.objects.create_user(username="host", password="host")
    user.groups.add(Group.objects.get_or_create(name=Role.HOST.value)[0])
    return user


@pytest.fixture
def show(host: User, web: SalesChannel) -> Show:
    return Show.objects.create(
        code="SHOW1234abcd",
        host=host,
        title="Spring drop",
        scheduled_at=timezone.now() + timedelta(minutes=5),
        sales_channel=web,
    )


@pytest.fixture
def stream(show: Show) -> Stream:
    return stream_ensure(show=show)


@pytest.fixture
def media_dirs(settings: pytest.FixtureRequest) -> Iterator[Path]:
    # Short path: a Unix socket path must stay under 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="lhv-"))
    settings.MEDIA_ROOT = base / "media"  # type: ignore[attr-defined]
    settings.LIVEHUB_MEDIA_WORKER_SOCKET = str(base / "w.sock")  # type: ignore[attr-defined]
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or ""
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    auth = f"{auth}@" if auth else ""
    return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_media_worker(**extra_env: str) -> subprocess.Popen[bytes]:
    """``manage.py run_media_worker`` as its own process, on this test's database."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LIVEHUB_MEDIA_WORKER_SOCKET": settings.LIVEHUB_MEDIA_WORKER_SOCKET,
        "LOG_LEVEL": "WARNING",
        "LIVEHUB_VIDEO_WHEP_SEATS": "1",
        # a second rendition below the 360p test pattern: the ladder, cheaply
        "LIVEHUB_VIDEO_LOW_HEIGHT": "240",
        **extra_env,
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_media_worker"], env=env, cwd=ROOT
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            transport.worker_request({"op": "ping"}, timeout=2)
            return process
        except MediaWorkerUnavailable:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.2)


def stop_media_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def media_worker(transactional_db: None, media_dirs: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real media worker process on the test database (fresh request queue)."""
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(transport.requests_key())  # nothing left from an earlier run
        client.close()
    process = start_media_worker()
    yield process
    stop_media_worker(process)
