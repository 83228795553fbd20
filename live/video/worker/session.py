"""One WHIP publication inside a media worker: aiortc peer → decoded frames → packager.

aiortc decodes each received track once (in its decoder thread). Frames are timed from
their RTP timestamps, anchored to the arrival of each track's first frame, and handed
to a dedicated packager thread so encoding never blocks the event loop that carries RTP.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

from live.video.sdp import OfferRejected, check_offer, offers_audio
from live.video.worker.hls import HlsPackager, RecordingStats, Rendition

logger = logging.getLogger(__name__)


class PackagerThread(threading.Thread):
    """Owns the packager; frames arrive through a queue from the event loop."""

    def __init__(self, packager: HlsPackager) -> None:
        super().__init__(name="hls-packager", daemon=True)
        self.packager = packager
        self.frames: queue.Queue[tuple[av.frame.Frame, float] | None] = queue.Queue(maxsize=300)
        self.stats: RecordingStats | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while True:
                item = self.frames.get()
                if item is None:  # finish() asked to stop
                    break
                frame, media_time = item
                if isinstance(frame, av.VideoFrame):
                    self.packager.push_video(frame, media_time)
                elif isinstance(frame, av.AudioFrame):
                    self.packager.push_audio(frame, media_time)
        except BaseException as exc:  # reported by finish(); the session ends
            logger.exception("packager failed")
            self.error = exc
        finally:
            self.stats = self.packager.close()

    def offer_frame(self, frame: av.frame.Frame, media_time: float) -> None:
        try:
            self.frames.put_nowait((frame, media_time))
        except queue.Full:
            logger.warning("packager behind; dropping a frame")

    def finish(self) -> RecordingStats:
        self.frames.put(None)
        self.join()
        assert self.stats is not None
        return self.stats


class SeatsFullError(Exception):
    """Every low-latency seat of the session is taken."""


class IngestSession:
    """A publisher's peer connection and the HLS it produces."""

    def __init__(
        self,
        *,
        public_id: str,
        out_dir: Path,
        renditions: list[Rendition],
        segment_seconds: float,
        part_seconds: float,
        ice_servers: list[str],
        on_live: Callable[[datetime], Coroutine[Any, Any, None]],
        on_end: Callable[[str, RecordingStats], Awaitable[None]],
        seat_cap: int = 0,
    ) -> None:
        self.public_id = public_id
        self.ice_servers = ice_servers
        #: received tracks, fanned out by the relay to the packager and to WHEP seats
        self.relay = MediaRelay()
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.seat_cap = seat_cap
        self.seats: dict[str, RTCPeerConnection] = {}
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in ice_servers])
        )
        self.on_live = on_live
        self.on_end = on_end
        self.loop = asyncio.get_running_loop()
        self._t0: float | None = None  # monotonic time of media time 0
        self._ended = False
        self._tasks: list[asyncio.Task[None]] = []
        self.out_dir = out_dir
        self.renditions = renditions
        self.segment_seconds = segment_seconds
        self.part_seconds = part_seconds
        self.packager: PackagerThread | None = None

    def _first_video(self) -> None:
        started = datetime.now(UTC)
        asyncio.run_coroutine_threadsafe(self.on_live(started), self.loop)

    async def answer(self, offer_sdp: str) -> str:
        check_offer(offer_sdp)
        self.packager = PackagerThread(
            HlsPackager(
                self.out_dir,
                segment_seconds=self.segment_seconds,
                part_seconds=self.part_seconds,
                renditions=self.renditions,
                with_audio=offers_audio(offer_sdp),
                on_first_video=self._first_video,
            )
        )

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tracks[track.kind] = track
            subscriber = self.relay.subscribe(track, buffered=True)
            self._tasks.append(asyncio.ensure_future(self._consume(subscriber)))

        @self.pc.on("connectionstatechange")
        async def on_state() -> None:
            if self.pc.connectionState in ("failed", "closed"):
                await self.end(f"connection_{self.pc.connectionState}")

        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except (ValueError, KeyError, AttributeError) as exc:
            await self.pc.close()
            raise OfferRejected(f"cannot answer the offer: {exc}") from exc
        self.packager.start()
        return self.pc.localDescription.sdp

    async def _consume(self, track: MediaStreamTrack) -> None:
        anchor: float | None = None
        first_pts = 0
        kind = track.kind
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.monotonic()
            if kind == "video" and self._t0 is None:
                self._t0 = now
            if not isinstance(frame, av.frame.Frame):
                continue
            if self._t0 is None or frame.pts is None or frame.time_base is None:
                continue  # audio before the first video frame
            if anchor is None:
                anchor, first_pts = now - self._t0, frame.pts
            media_time = anchor + float((frame.pts - first_pts) * frame.time_base)
            if self.packager is not None:
                self.packager.offer_frame(frame, media_time)

    # --- WHEP seats: each one is an aiortc sender, so each costs one encode ------------
    async def add_seat(self, seat_id: str, offer_sdp: str) -> str:
        if len(self.seats) >= self.seat_cap:
            raise SeatsFullError(f"all {self.seat_cap} low-latency seats are taken")
        if "video" not in self.tracks:
            raise OfferRejected("the publisher is not sending video yet")
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in self.ice_servers])
        )
        self.seats[seat_id] = pc
        for track in self.tracks.values():
            pc.addTrack(self.relay.subscribe(track, buffered=False))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.remove_seat(seat_id)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except (ValueError, KeyError, AttributeError) as exc:
            await self.remove_seat(seat_id)
            raise OfferRejected(f"cannot answer the offer: {exc}") from exc
        return pc.localDescription.sdp

    async def remove_seat(self, seat_id: str) -> None:
        pc = self.seats.pop(seat_id, None)
        if pc is not None:
            await pc.close()

    async def end(self, reason: str) -> None:
        """Close the peer, finish the recording and report it (runs once)."""
        if self._ended:
            return
        self._ended = True
        for seat_id in list(self.seats):
            await self.remove_seat(seat_id)
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        stats = (
            await asyncio.to_thread(self.packager.finish)
            if self.packager is not None and self.packager.is_alive()
            else RecordingStats(0, 0.0, 0, 0)
        )
        await self.on_end(reason, stats)
