"""A media worker killed mid-show: its session is ended and its recording becomes a replay."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import timezone

from live.video import tasks, transport
from live.video.models import PublisherSession, Stream
from live.video.services.recovery import publisher_session_recover, sessions_recover_orphans
from live.video.services.sessions import publisher_session_open
from live.video.states import SessionStatus
from live.video.synthetic import PartDecoder, PatternVideoTrack, ToneAudioTrack, read_stamp
from tests.live_video.conftest import start_media_worker, stop_media_worker


async def _publish_until_killed(stream: Stream, worker: subprocess.Popen[bytes]) -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(PatternVideoTrack(640, 360))
    pc.addTrack(ToneAudioTrack())
    await pc.setLocalDescription(await pc.createOffer())
    response = await sync_to_async(Client().post)(
        f"/api/live/video/whip/shows/{stream.show.code}",
        data=pc.localDescription.sdp,
        content_type="application/sdp",
        headers={"Authorization": f"Bearer {stream.key}"},
    )
    assert response.status_code == 201, response.content
    await pc.setRemoteDescription(RTCSessionDescription(response.content.decode(), "answer"))
    session = await sync_to_async(PublisherSession.objects.get)(stream=stream)
    index = Path(settings.MEDIA_ROOT) / f"live-video/{stream.media_id}/{session.public_id}/v0"
    deadline = time.monotonic() + 30
    while len(list(index.glob("seg*.m4s"))) < 2 or not list(index.glob("part00002.0.m4s")):
        assert time.monotonic() < deadline, "the worker produced no segments"
        await asyncio.sleep(0.1)
    worker.send_signal(signal.SIGKILL)  # no shutdown, no ENDLIST, no report
    worker.wait()
    await pc.close()
    await sync_to_async(connections.close_all)()
    return session.public_id


def test_a_killed_workers_session_is_finished_by_the_next_worker(
    media_worker: subprocess.Popen[bytes], stream: Stream
) -> None:
    public_id = asyncio.run(_publish_until_killed(stream, media_worker))
    session = PublisherSession.objects.get(public_id=public_id)
    out = Path(settings.MEDIA_ROOT) / session.media_dir
    assert session.status == SessionStatus.LIVE
    assert "#EXT-X-ENDLIST" not in (out / "v0/live.m3u8").read_text()
    # Its heartbeat is still fresh: nothing is taken from a worker that may be alive.
    assert sessions_recover_orphans() == []
    # The worker is gone for good; stand in for the 20 s it takes its heartbeat to go stale.
    PublisherSession.objects.filter(pk=session.pk).update(
        last_seen_at=timezone.now() - timedelta(minutes=1)
    )

    restarted = start_media_worker()  # finishes orphaned sessions as it starts
    try:
        deadline = time.monotonic() + 30
        while session.status == SessionStatus.LIVE and time.monotonic() < deadline:
            time.sleep(0.2)
            session.refresh_from_db()
    finally:
        stop_media_worker(restarted)

    assert (session.status, session.end_reason) == (SessionStatus.ENDED, "worker_lost")
    for rendition in ("v0", "v1"):
        index = (out / rendition / "index.m3u8").read_text()
        assert index.rstrip().endswith("#EXT-X-ENDLIST") and "PLAYLIST-TYPE:VOD" in index
        assert (out / rendition / "live.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")
    names = [
        line for line in (out / "v0/index.m3u8").read_text().splitlines() if line.endswith(".m4s")
    ]
    assert session.segment_count == len(names) >= 3  # 2 whole segments + the salvaged parts
    assert names == [f"seg{i:05d}.m4s" for i in range(len(names))]
    decoder = PartDecoder((out / "v0/init.mp4").read_bytes())
    frames = [f for name in names for f in decoder.frames((out / "v0" / name).read_bytes())]
    counters = [read_stamp(f)[0] for f in frames]
    assert counters == sorted(counters) and frames[0].key_frame
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            str(out / "index.m3u8"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert abs(float(probe.stdout) - session.duration_seconds) < 0.5
    assert session.duration_seconds >= 2.0
    # The show lists it as a replay, and the show can go live again.
    info = Client().get(f"/api/live/video/shows/{stream.show.code}").json()
    assert [r["session"] for r in info["replays"]] == [public_id]
    assert publisher_session_open(show_code=stream.show.code, stream_key=stream.key)


def test_recovery_fails_a_silent_session_and_leaves_a_heartbeating_one(
    stream: Stream, media_dirs: Path
) -> None:
    silent = publisher_session_open(show_code=stream.show.code, stream_key=stream.key)
    PublisherSession.objects.filter(pk=silent.pk).update(
        last_seen_at=timezone.now() - timedelta(minutes=1)
    )
    assert tasks.sessions_recover_orphans() == [silent.public_id]  # the beat task
    silent.refresh_from_db()
    assert (silent.status, silent.end_reason, silent.segment_count) == (
        SessionStatus.FAILED,
        "worker_lost",
        0,
    )
    fresh = publisher_session_open(show_code=stream.show.code, stream_key=stream.key)
    assert sessions_recover_orphans() == []
    fresh.refresh_from_db()
    assert fresh.status == SessionStatus.CONNECTING


def test_a_worker_whose_session_was_recovered_stops_writing(
    media_worker: subprocess.Popen[bytes], stream: Stream
) -> None:
    """A worker that only lost its database for 20 s must not write on after recovery."""

    async def publish() -> tuple[str, RTCPeerConnection]:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(PatternVideoTrack(320, 240))
        await pc.setLocalDescription(await pc.createOffer())
        response = await sync_to_async(Client().post)(
            f"/api/live/video/whip/shows/{stream.show.code}",
            data=pc.localDescription.sdp,
            content_type="application/sdp",
            headers={"Authorization": f"Bearer {stream.key}"},
        )
        assert response.status_code == 201, response.content
        await pc.setRemoteDescription(RTCSessionDescription(response.content.decode(), "answer"))
        session = await sync_to_async(PublisherSession.objects.get)(stream=stream)
        index = Path(settings.MEDIA_ROOT) / f"live-video/{stream.media_id}/{session.public_id}"
        deadline = time.monotonic() + 30
        while not list(index.glob("v0/seg*.m4s")):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        # its heartbeat looked stale to the rest of the system: recovered meanwhile
        await sync_to_async(PublisherSession.objects.filter(pk=session.pk).update)(
            last_seen_at=timezone.now() - timedelta(minutes=1)
        )
        assert await sync_to_async(publisher_session_recover)(public_id=session.public_id)
        # the worker learns it on its next heartbeat (every 5 s) and ends its session
        while (await sync_to_async(transport.worker_request)({"op": "ping"}, timeout=5))[
            "sessions"
        ]:
            assert time.monotonic() < deadline + 15, "the worker kept the session"
            await asyncio.sleep(0.5)
        await pc.close()
        await sync_to_async(connections.close_all)()
        return session.public_id, pc

    public_id, _pc = asyncio.run(publish())
    session = PublisherSession.objects.get(public_id=public_id)
    out = Path(settings.MEDIA_ROOT) / session.media_dir / "v0"
    files = sorted(p.name for p in out.iterdir())
    time.sleep(1.0)
    assert sorted(p.name for p in out.iterdir()) == files  # nothing written any more
    assert (session.status, session.end_reason) == (SessionStatus.ENDED, "worker_lost")
    assert (out / "live.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")
    index = (out / "index.m3u8").read_text()
    assert index.rstrip().endswith("#EXT-X-ENDLIST")
    # the worker's own end rewrote the replay from everything it had packaged, and
    # reports its figures just after leaving its session list
    deadline = time.monotonic() + 10
    while session.segment_count != index.count(".m4s") and time.monotonic() < deadline:
        time.sleep(0.2)
        session.refresh_from_db()
    assert session.segment_count == index.count(".m4s") >= 1
