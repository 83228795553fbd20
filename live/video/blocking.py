"""LL-HLS blocking playlist reload in the web process, without a thread per waiting player.

A player asks for ``live.m3u8?_HLS_msn=M&_HLS_part=P`` (or for the part a preload hint
named) before the media worker has written it; the request is held until the playlist
lists that part, then answered (RFC 8216bis §6.2.5.2). Waiting is asynchronous: every
request waiting on one playlist shares a single watcher task per event loop, which
checks the file (one ``stat`` every ``POLL_SECONDS``) and wakes them all when the worker
replaces it. So 1,000 players on a show cost one stat every 20 ms, not 1,000 threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import weakref
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.02
_SEQUENCE = re.compile(rb"^#EXT-X-MEDIA-SEQUENCE:(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class PlaylistState:
    """What a media playlist lists: complete segments, parts of the open segment."""

    body: bytes
    last_msn: int  #: media sequence number of the last complete segment (-1: none yet)
    parts: int  #: parts published of segment ``last_msn + 1``
    ended: bool
    key: tuple[int, int, int]  #: (inode, mtime, size): the worker replaces the file

    def has(self, msn: int, part: int | None) -> bool:
        """Whether this playlist satisfies ``_HLS_msn=msn`` (and ``_HLS_part=part``)."""
        if self.ended or self.last_msn >= msn:
            return True
        return part is not None and msn == self.last_msn + 1 and self.parts > part


def playlist_state(path: Path) -> PlaylistState | None:
    """Read and summarise a media playlist (``None`` if it does not exist yet)."""
    try:
        stat = os.stat(path)
        body = path.read_bytes()
    except FileNotFoundError:
        return None
    match = _SEQUENCE.search(body)
    sequence = int(match.group(1)) if match else 0
    segments = parts = 0
    for line in body.splitlines():
        if line.startswith(b"#EXT-X-PART:"):
            parts += 1
        elif line and not line.startswith(b"#"):
            segments += 1
            parts = 0
    return PlaylistState(
        body=body,
        last_msn=sequence + segments - 1,
        parts=parts,
        ended=b"#EXT-X-ENDLIST" in body,
        key=(stat.st_ino, stat.st_mtime_ns, stat.st_size),
    )


class _Watch:
    """Polls one playlist while anyone waits on it; each change wakes every waiter."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.waiters = 0
        self.state = playlist_state(path)
        self._changed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[None] | None = None

    def changed(self) -> asyncio.Future[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._poll())
        return self._changed

    async def _poll(self) -> None:
        while self.waiters:
            await asyncio.sleep(POLL_SECONDS)
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                continue
            key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if self.state is not None and key == self.state.key:
                continue
            self.state = playlist_state(self.path)
            done, self._changed = self._changed, asyncio.get_running_loop().create_future()
            done.set_result(None)


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, _Watch]] = (
    weakref.WeakKeyDictionary()
)


async def playlist_wait(
    path: Path, *, msn: int, part: int | None, timeout: float
) -> PlaylistState | None:
    """The playlist once it has ``msn``/``part`` (or has ended); ``None`` on timeout."""
    loop = asyncio.get_running_loop()
    watches = _watches.setdefault(loop, {})
    watch = watches.get(path)
    if watch is None:
        watch = watches[path] = _Watch(path)
    else:
        watch.state = playlist_state(path)
    deadline = loop.time() + timeout
    watch.waiters += 1
    try:
        while True:
            state = watch.state
            if state is not None and state.has(msn, part):
                return state
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(watch.changed()), remaining)
    finally:
        watch.waiters -= 1
        if not watch.waiters:
            watches.pop(path, None)
