"""End to end: an aiortc publisher → WHIP → media worker process → HLS → replay."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.test import Client

from live.video.models import PublisherSession, Stream, TimelineMarker
from live.video.services.markers import marker_record
from live.video.states import SessionStatus
from live.video.synthetic import PatternVideoTrack, ToneAudioTrack, read_stamp

PUBLISH_SECONDS = 4.5


def _segments(playlist: str) -> list[tuple[float, str]]:
    """(duration, uri) of each segment; tags may sit between #EXTINF and its URI."""
    found: list[tuple[float, str]] = []
    duration: float | None = None
    for line in playlist.splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line.split(":")[1].rstrip(","))
        elif line and not line.startswith("#") and duration is not None:
            found.append((duration, line))
            duration = None
    return found


async def _publish(client: Client, stream: Stream, observations: dict[str, Any]) -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(PatternVideoTrack(640, 360))
    pc.addTrack(ToneAudioTrack())
    await pc.setLocalDescription(await pc.createOffer())
    auth = {"Authorization": f"Bearer {stream.key}"}
    url = f"/api/live/video/whip/shows/{stream.show.code}"
    response = await sync_to_async(client.post)(
        url, data=pc.localDescription.sdp, content_type="application/sdp", headers=auth
    )
    observations["post"] = response
    assert response.status_code == 201, response.content
    await pc.setRemoteDescription(RTCSessionDescription(response.content.decode(), "answer"))
    session = await sync_to_async(PublisherSession.objects.get)(stream=stream)
    out_dir = Path(settings.MEDIA_ROOT) / await sync_to_async(lambda: session.media_dir)()
    # A player's view: poll the playlist, note when each segment first appears, read it.
    seen: dict[str, float] = {}
    latencies: list[float] = []
    playlist_url = f"/api/live/video/hls/{stream.media_id}/{session.public_id}/live.m3u8"
    deadline = time.monotonic() + PUBLISH_SECONDS
    while time.monotonic() < deadline:
        got = await sync_to_async(client.get)(playlist_url)
        if got.status_code == 200:
            observations.setdefault("live_cache", got["Cache-Control"])
            for _duration, name in _segments(got.content.decode()):
                if name in seen:
                    continue
                seen[name] = time.time()
                with av.open(str(out_dir / name)) as container:
                    frame = next(container.decode(video=0))
                    _counter, captured_ms = read_stamp(frame)
                latencies.append(seen[name] - captured_ms / 1000)
        if len(seen) >= 2 and "second_post" not in observations:
            observations["second_post"] = await sync_to_async(client.post)(
                url, data=pc.localDescription.sdp, content_type="application/sdp", headers=auth
            )
            observations["marker"] = await sync_to_async(marker_record)(
                show_id=stream.show_id, kind="pin", payload={"label": "A12"}
            )
        await asyncio.sleep(0.1)
    observations["seen"], observations["latencies"] = seen, latencies
    observations["delete"] = await sync_to_async(client.delete)(response["Location"], headers=auth)
    await pc.close()
    await sync_to_async(connections.close_all)()  # the helper thread's connection


def test_whip_publish_produces_live_hls_then_a_replay_with_markers(
    media_worker: subprocess.Popen[bytes], stream: Stream
) -> None:
    client = Client()
    observations: dict[str, Any] = {}
    asyncio.run(_publish(client, stream, observations))

    post = observations["post"]
    assert post["Content-Type"] == "application/sdp"
    assert post["Access-Control-Expose-Headers"] == "Location, Link, ETag"
    session = PublisherSession.objects.get(stream=stream)
    assert post["Location"] == f"/api/live/video/whip/sessions/{session.public_id}"
    assert observations["second_post"].status_code == 409
    assert observations["second_post"].json()["error"]["code"] == "publisher_busy"
    assert observations["live_cache"] == "public, max-age=1"
    # The live playlist advanced while publishing.
    assert len(observations["seen"]) >= 3
    assert observations["delete"].status_code == 200

    session.refresh_from_db()
    deadline = time.monotonic() + 15
    while session.segment_count == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        session.refresh_from_db()
    assert session.status == SessionStatus.ENDED
    assert session.end_reason == "deleted"
    assert session.media_started_at is not None

    out_dir = Path(settings.MEDIA_ROOT) / session.media_dir
    playlist = (out_dir / "index.m3u8").read_text()
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST")
    assert (out_dir / "live.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")
    assert "#EXT-X-TARGETDURATION:1" in playlist
    segments = _segments(playlist)
    assert session.segment_count == len(segments) >= 4
    # 1 s segments (forced IDR at each boundary); only the last may be short.
    for duration, _name in segments[:-1]:
        assert 0.9 <= duration <= 1.1
    # Every segment starts with a keyframe, decodes, and frames continue across segments.
    counters: list[int] = []
    for _duration, name in segments:
        with av.open(str(out_dir / name)) as container:
            assert {s.type for s in container.streams} == {"video", "audio"}
            assert container.streams.video[0].codec_context.name == "h264"
            assert container.streams.audio[0].codec_context.name == "aac"
            frames = list(container.decode(video=0))
            assert frames[0].key_frame
            counters.extend(read_stamp(f)[0] for f in frames)
    assert counters == sorted(counters)
    assert len(set(counters)) == len(counters)
    gaps = [b - a for a, b in itertools.pairwise(counters)]
    assert max(gaps) <= 3  # a dropped frame or two under load, never a lost segment

    # The replay plays from the finished playlist as one VOD (ffprobe, as a player would).
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            str(out_dir / "index.m3u8"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert abs(float(probe.stdout.strip()) - session.duration_seconds) < 1.0
    with av.open(str(out_dir / "poster.jpg")) as poster:
        assert poster.streams.video[0].codec_context.name == "mjpeg"

    # Glass-to-glass: segment available to a player minus the frame's capture time.
    latencies = observations["latencies"]
    assert statistics.median(latencies) <= 4.0, latencies

    marker = observations["marker"]
    assert marker is not None
    assert 0.0 <= marker.media_time_seconds <= session.duration_seconds
    info = client.get(f"/api/live/video/shows/{stream.show.code}").json()
    assert info["live"] is None
    assert info["replays"] == [
        {
            "session": session.public_id,
            "status": "ended",
            "playlist_url": f"/api/live/video/hls/{stream.media_id}/{session.public_id}/index.m3u8",
            "poster_url": f"/api/live/video/hls/{stream.media_id}/{session.public_id}/poster.jpg",
            "media_started_at": session.media_started_at.isoformat(),
            "duration_seconds": session.duration_seconds,
            "markers": [
                {"kind": "pin", "at": marker.media_time_seconds, "payload": {"label": "A12"}}
            ],
        }
    ]
    vod = client.get(info["replays"][0]["playlist_url"])
    assert vod["Cache-Control"] == "public, max-age=86400"
    segment = client.get(info["replays"][0]["playlist_url"].replace("index.m3u8", segments[0][1]))
    assert segment["Cache-Control"] == "public, max-age=31536000, immutable"
    assert segment["Content-Type"] == "video/mp2t"
    assert TimelineMarker.objects.count() == 1


async def _take_seat(client: Client, stream: Stream, out: dict[str, Any]) -> None:
    """A moderator's WHEP seat: recvonly offer → 201 → frames arrive over WebRTC."""
    viewer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    viewer.addTransceiver("video", direction="recvonly")
    viewer.addTransceiver("audio", direction="recvonly")
    got_video: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    readers: list[asyncio.Future[None]] = []

    @viewer.on("track")
    def on_track(track: Any) -> None:
        async def first_frame() -> None:
            frame = await track.recv()
            if not got_video.done():
                got_video.set_result(frame)

        if track.kind == "video":
            readers.append(asyncio.ensure_future(first_frame()))

    await viewer.setLocalDescription(await viewer.createOffer())
    url = f"/api/live/video/whep/shows/{stream.show.code}"
    sdp = viewer.localDescription.sdp
    out["anonymous"] = await sync_to_async(Client().post)(
        url, data=sdp, content_type="application/sdp"
    )
    seat = await sync_to_async(client.post)(url, data=sdp, content_type="application/sdp")
    out["seat"] = seat
    assert seat.status_code == 201, seat.content
    await viewer.setRemoteDescription(RTCSessionDescription(seat.content.decode(), "answer"))
    frame = await asyncio.wait_for(got_video, timeout=10)
    out["seat_frame"] = (frame.width, frame.height)
    out["second_seat"] = await sync_to_async(client.post)(
        url, data=sdp, content_type="application/sdp"
    )
    out["seat_delete"] = await sync_to_async(client.delete)(seat["Location"])
    await viewer.close()


@pytest.mark.parametrize("codec", ["video/H264"])
def test_whip_accepts_h264_publishers_and_seats_watch_over_whep(
    media_worker: subprocess.Popen[bytes], stream: Stream, codec: str
) -> None:
    seats: dict[str, Any] = {}

    async def publish() -> tuple[int, int]:
        from aiortc.rtcrtpsender import RTCRtpSender

        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        transceiver = pc.addTransceiver(PatternVideoTrack(320, 240), direction="sendonly")
        capabilities = RTCRtpSender.getCapabilities("video").codecs
        transceiver.setCodecPreferences([c for c in capabilities if c.mimeType == codec])
        await pc.setLocalDescription(await pc.createOffer())
        client = Client()
        auth = {"Authorization": f"Bearer {stream.key}"}
        response = await sync_to_async(client.post)(
            f"/api/live/video/whip/shows/{stream.show.code}",
            data=pc.localDescription.sdp,
            content_type="application/sdp",
            headers=auth,
        )
        assert response.status_code == 201, response.content
        assert "H264/90000" in response.content.decode()
        await pc.setRemoteDescription(RTCSessionDescription(response.content.decode(), "answer"))
        await asyncio.sleep(1.0)
        host_client = Client()
        await sync_to_async(host_client.force_login)(stream.show.host)
        await _take_seat(host_client, stream, seats)
        deleted = await sync_to_async(client.delete)(response["Location"], headers=auth)
        await pc.close()
        await sync_to_async(connections.close_all)()
        return response.status_code, deleted.status_code

    assert asyncio.run(publish()) == (201, 200)
    session = PublisherSession.objects.get(stream=stream)
    deadline = time.monotonic() + 15
    while session.segment_count == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        session.refresh_from_db()
    assert session.status == SessionStatus.ENDED
    assert session.segment_count >= 1
    assert seats["anonymous"].status_code == 403
    assert seats["seat"]["Location"].startswith(f"/api/live/video/whep/seats/{session.public_id}/")
    assert seats["seat_frame"] == (320, 240)
    assert seats["second_seat"].status_code == 503
    assert seats["second_seat"].json()["error"] == {
        "code": "seats_full",
        "message": "all 1 low-latency seats are taken",
        "details": {"cap": 1},
    }
    assert seats["seat_delete"].status_code == 200
