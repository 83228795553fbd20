"""End to end: an aiortc publisher → WHIP → media worker process → LL-HLS → replay."""

from __future__ import annotations

import asyncio
import itertools
import json
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
from live.video.synthetic import (
    PartDecoder,
    PatternVideoTrack,
    ToneAudioTrack,
    playlist_entries,
    read_stamp,
)

PUBLISH_SECONDS = 6.0


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


def _get(client: Client, url: str) -> Any:
    return sync_to_async(client.get)(url)


async def _watch_parts(
    client: Client, base: str, deadline: float, observations: dict[str, Any], show_id: int
) -> None:
    """A low-latency player: blocking reloads for the next part, each part decoded."""
    init = await _get(client, base + "v0/init.mp4")
    assert init.status_code == 200, init.content
    decoder = PartDecoder(init.content)
    seen: dict[str, float] = {}
    order: list[tuple[int, str]] = []
    latencies: list[float] = []
    waits: list[float] = []
    counters: list[int] = []
    sequences: list[int] = []
    directive = ""
    while time.monotonic() < deadline:
        asked = time.monotonic()
        got = await _get(client, base + "v0/live.m3u8" + directive)
        if directive:
            waits.append(time.monotonic() - asked)
        assert got.status_code == 200, got.content
        text = got.content.decode()
        sequence, parts, uris = playlist_entries(text)
        sequences.append(sequence)
        now = time.time()
        for msn, uri, _duration in parts:
            if uri in seen:
                continue
            seen[uri] = now
            order.append((msn, uri))
            part = await _get(client, base + "v0/" + uri)
            assert part.status_code == 200, uri
            observations.setdefault("part_headers", (part["Content-Type"], part["Cache-Control"]))
            frames = decoder.frames(part.content)
            assert frames, uri
            stamps = [read_stamp(f) for f in frames]
            counters.extend(c for c, _ms in stamps)
            latencies.append(now - stamps[0][1] / 1000)
        if len(order) >= 3 and "marker" not in observations:  # the host pins a product
            observations["marker"] = await sync_to_async(marker_record)(
                show_id=show_id, kind="pin", payload={"label": "A12"}
            )
        # Ask for the part after the last one listed: the open segment's next part.
        open_msn = sequence + len(uris)
        listed = sum(1 for msn, _uri, _d in parts if msn == open_msn)
        directive = f"?_HLS_msn={open_msn}&_HLS_part={listed}"
        observations["blocking_text"] = text
        observations["hint"] = text.rstrip().splitlines()[-1]
    observations.update(
        parts=order, part_latencies=latencies, waits=waits, counters=counters, sequences=sequences
    )


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
    base = f"/api/live/video/hls/{stream.media_id}/{session.public_id}/"
    start = time.monotonic()
    while (master := await _get(client, base + "live.m3u8")).status_code != 200:
        assert time.monotonic() - start < 15, "no playlist"
        await asyncio.sleep(0.1)
    observations["master"] = master.content.decode()
    observations["master_cache"] = master["Cache-Control"]
    plain = await _get(client, base + "v0/live.m3u8")
    observations["live_cache"] = plain["Cache-Control"]
    observations["bad_directives"] = [
        (await _get(client, base + "v0/live.m3u8" + q)).status_code
        for q in ("?_HLS_part=1", "?_HLS_msn=x", "?_HLS_msn=999")
    ]
    deadline = time.monotonic() + PUBLISH_SECONDS
    await _watch_parts(client, base, deadline, observations, stream.show_id)
    low = await _get(client, base + "v1/live.m3u8")
    observations["low_parts"] = playlist_entries(low.content.decode())[1]
    observations["second_post"] = await sync_to_async(client.post)(
        url, data=pc.localDescription.sdp, content_type="application/sdp", headers=auth
    )
    await asyncio.sleep(0.5)
    observations["delete"] = await sync_to_async(client.delete)(response["Location"], headers=auth)
    await pc.close()
    await sync_to_async(connections.close_all)()  # the helper thread's connection


def _decode_rendition(out_dir: Path) -> tuple[list[tuple[float, str]], list[av.VideoFrame]]:
    """Every segment of a finished rendition, decoded in order; each starts with an IDR."""
    segments = _segments((out_dir / "index.m3u8").read_text())
    decoder = PartDecoder((out_dir / "init.mp4").read_bytes())
    frames: list[av.VideoFrame] = []
    for _duration, name in segments:
        decoded = decoder.frames((out_dir / name).read_bytes())
        assert decoded[0].key_frame, name
        frames.extend(decoded)
    return segments, frames


def test_whip_publish_produces_ll_hls_in_two_renditions_then_a_replay_with_markers(
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

    # The multivariant playlist: both renditions, with what a player needs to pick one.
    master = observations["master"].splitlines()
    inf = [line for line in master if line.startswith("#EXT-X-STREAM-INF:")]
    assert [line for line in master if line.endswith(".m3u8")] == ["v0/live.m3u8", "v1/live.m3u8"]
    assert "RESOLUTION=640x360" in inf[0] and "RESOLUTION=426x240" in inf[1]
    for line in inf:
        assert 'CODECS="avc1.' in line and ',mp4a.40.2"' in line
        assert int(line.split("BANDWIDTH=")[1].split(",")[0]) > 0
    assert observations["master_cache"] == "public, max-age=60"
    assert observations["live_cache"] == "public, max-age=1"
    assert observations["bad_directives"] == [400, 400, 400]

    # LL-HLS: parts appeared through blocking reloads, in order, none skipped.
    text = observations["blocking_text"]
    assert (
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.0,"
        "CAN-SKIP-DATERANGES=YES,PART-HOLD-BACK=1.101"
    ) in text
    assert "#EXT-X-PART-INF:PART-TARGET=0.367" in text
    assert '#EXT-X-MAP:URI="init.mp4"' in text
    assert observations["hint"].startswith('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part')
    parts = observations["parts"]
    assert len(parts) >= 6
    expected = (parts[0][0], int(parts[0][1].split(".")[1]))
    for msn, uri in parts:
        index = int(uri.split(".")[1])
        if (msn, index) != expected:
            assert (msn, index) == (expected[0] + 1, 0), parts
        assert uri == f"part{msn:05d}.{index}.m4s"
        expected = (msn, index + 1)
    assert max(observations["waits"]) < 3.0  # held until the part existed, never the 3 s cap
    assert observations["part_headers"] == ("video/mp4", "public, max-age=31536000, immutable")
    counters = observations["counters"]
    assert counters == sorted(counters) and len(set(counters)) == len(counters)
    assert max(b - a for a, b in itertools.pairwise(counters)) <= 3
    assert observations["sequences"] == sorted(observations["sequences"])
    # Glass-to-glass to a part's availability (first frame of each part; the machine is
    # shared, so this is generous; bench/video_pipeline.py has the figures).
    assert statistics.median(observations["part_latencies"]) <= 3.0, observations
    # The lower rendition advanced too.
    assert len(observations["low_parts"]) >= 3
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
    replay_master = (out_dir / "index.m3u8").read_text()
    assert "v0/index.m3u8" in replay_master and "v1/index.m3u8" in replay_master
    for rendition in ("v0", "v1"):
        playlist = (out_dir / rendition / "index.m3u8").read_text()
        assert playlist.rstrip().endswith("#EXT-X-ENDLIST")
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist
        assert "#EXT-X-TARGETDURATION:1" in playlist
        live = (out_dir / rendition / "live.m3u8").read_text()
        assert live.rstrip().endswith("#EXT-X-ENDLIST") and "PRELOAD-HINT" not in live
    segments, frames = _decode_rendition(out_dir / "v0")
    low_segments, low_frames = _decode_rendition(out_dir / "v1")
    assert session.segment_count == len(segments) == len(low_segments) >= 4
    assert (frames[0].width, frames[0].height, low_frames[0].width) == (640, 360, 426)
    assert abs(len(frames) - len(low_frames)) <= 2
    # 1 s segments (forced IDR at each boundary, the same frames in both renditions).
    for (duration, _name), (low_duration, _low) in zip(segments, low_segments, strict=True):
        assert abs(duration - low_duration) < 0.05
    for duration, _name in segments[:-1]:
        assert 0.9 <= duration <= 1.1
    stamps = [read_stamp(f)[0] for f in frames]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert max(b - a for a, b in itertools.pairwise(stamps)) <= 3

    # The replay plays from the multivariant playlist as one VOD (ffprobe, as a player would).
    probe = subprocess.run(
        [
            *("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name"),
            *("-of", "json", str(out_dir / "index.m3u8")),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    probed = json.loads(probe.stdout)
    assert abs(float(probed["format"]["duration"]) - session.duration_seconds) < 1.0
    assert {s["codec_name"] for s in probed["streams"]} == {"h264", "aac"}
    with av.open(str(out_dir / "poster.jpg")) as poster:
        assert poster.streams.video[0].codec_context.name == "mjpeg"

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
    vod = client.get(info["replays"][0]["playlist_url"].replace("index.m3u8", "v0/index.m3u8"))
    assert vod["Cache-Control"] == "public, max-age=86400"
    segment = client.get(
        info["replays"][0]["playlist_url"].replace("index.m3u8", "v0/seg00000.m4s")
    )
    assert segment["Cache-Control"] == "public, max-age=31536000, immutable"
    assert segment["Content-Type"] == "video/mp4"
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
