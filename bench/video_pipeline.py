"""Live video pipeline cost: CPU per live stream, glass-to-glass latency, extra viewers.

A synthetic aiortc publisher (moving pattern stamped with its capture time, plus a
tone) sends WebRTC to a child process running the media worker's real ``IngestSession``
(aiortc receive + decode once → H.264/AAC encode once → HLS). The child's own CPU time
(all threads, ``getrusage``) over a steady window gives the cores one live stream costs.
A player-style checker polls the playlist, reads each new segment's first frame stamp
and reports glass-to-glass latency. An extra HLS viewer costs only static file reads
(measured by serving a real segment and playlist through the HLS view); the naive
baseline, aiortc fan-out, costs one more VP8 encode per viewer (measured in the same
run by adding aiortc's own encoder to the child's frame path).

    .venv/bin/python bench/video_pipeline.py [--quick]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- child: the media worker's ingest session -------------------------------------------
async def child_main(out_dir: Path, fanout: int, max_height: int) -> None:
    import av
    from aiortc.codecs import get_encoder
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    from live.video.worker.hls import RecordingStats, Rendition
    from live.video.worker.session import IngestSession

    async def on_live(_started: Any) -> None:
        return None

    async def on_end(_reason: str, _stats: RecordingStats) -> None:
        return None

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    offer = json.loads(await reader.readline())
    session = IngestSession(
        public_id="bench",
        out_dir=out_dir,
        rendition=Rendition(max_height=max_height),
        segment_seconds=1.0,
        ice_servers=[],
        on_live=on_live,
        on_end=on_end,
    )
    fanout_cpu = [0.0]
    if fanout:
        vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000)
        encoders = [get_encoder(vp8) for _ in range(fanout)]
        offer_frame = session.packager.offer_frame

        def tapped(frame: av.frame.Frame, media_time: float) -> None:
            if isinstance(frame, av.VideoFrame):
                started = time.thread_time()
                for encoder in encoders:  # what aiortc does once per watching peer
                    encoder.encode(frame)
                fanout_cpu[0] += time.thread_time() - started
            offer_frame(frame, media_time)

        session.packager.offer_frame = tapped  # type: ignore[method-assign]
    answer = await session.answer(offer["sdp"])
    print(json.dumps({"sdp": answer}), flush=True)
    marks: dict[str, float] = {}
    while True:
        line = (await reader.readline()).decode().strip()
        if line in ("", "stop"):
            break
        marks[line] = _cpu_seconds()
        print(
            json.dumps({"mark": line, "cpu": marks[line], "fanout_cpu": fanout_cpu[0]}), flush=True
        )
    await session.end("bench")


# --- parent: publisher, player-style checker --------------------------------------------
async def run_phase(
    *, width: int, height: int, seconds: float, fanout: int, warmup: float
) -> dict[str, Any]:
    import av
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from live.video.synthetic import PatternVideoTrack, ToneAudioTrack, read_stamp

    out_dir = Path(tempfile.mkdtemp(prefix="lhv-bench-"))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--child",
        str(out_dir),
        str(fanout),
        str(height),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(PatternVideoTrack(width, height))
    pc.addTrack(ToneAudioTrack())
    await pc.setLocalDescription(await pc.createOffer())
    child.stdin.write(json.dumps({"sdp": pc.localDescription.sdp}).encode() + b"\n")
    answer = json.loads(await child.stdout.readline())
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    fanout_cpu: list[float] = []

    async def mark(name: str) -> float:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(name.encode() + b"\n")
        reply = json.loads(await child.stdout.readline())
        fanout_cpu.append(float(reply["fanout_cpu"]))
        return float(reply["cpu"])

    playlist = out_dir / "index.m3u8"
    seen: set[str] = set()
    latencies: list[float] = []
    start = time.monotonic()
    cpu0 = wall0 = None
    while time.monotonic() - start < warmup + seconds:
        if cpu0 is None and time.monotonic() - start >= warmup:
            cpu0, wall0 = await mark("start"), time.monotonic()
        text = playlist.read_text() if playlist.exists() else ""
        for name in [ln for ln in text.splitlines() if ln.endswith(".ts")]:
            if name in seen:
                continue
            seen.add(name)
            now = time.time()
            with av.open(str(out_dir / name)) as container:
                _counter, captured_ms = read_stamp(next(container.decode(video=0)))
            if cpu0 is not None:
                latencies.append(now - captured_ms / 1000)
        await asyncio.sleep(0.05)
    cpu1, wall1 = await mark("end"), time.monotonic()
    child.stdin.write(b"stop\n")
    await child.stdin.drain()
    await child.wait()
    await pc.close()
    assert cpu0 is not None and wall0 is not None
    segment = next(iter(sorted(out_dir.glob("seg*.ts"))), None)
    # Frame rate the worker actually packaged (the publisher may fall behind under load).
    frames, media_seconds = 0, 0.0
    for path in sorted(out_dir.glob("seg*.ts"))[1:-1]:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            packets = [p for p in container.demux(stream) if p.pts is not None]
            frames += len(packets)
            if packets and packets[-1].time_base is not None:
                media_seconds += float((packets[-1].pts - packets[0].pts) * packets[-1].time_base)
    return {
        "fps": frames / media_seconds if media_seconds else 0.0,
        "cores": (cpu1 - cpu0) / (wall1 - wall0),
        "fanout_cores": (fanout_cpu[-1] - fanout_cpu[0]) / (wall1 - wall0),
        "latencies": latencies,
        "segments": len(seen),
        "out_dir": out_dir,
        "segment": segment,
    }


def hls_viewer_cost(out_dir: Path, segment: Path, rounds: int) -> float:
    """CPU seconds per second one HLS viewer costs the origin: 1 playlist + 1 segment/s."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    media_root = out_dir / "origin"  # a copy served as MEDIA_ROOT, inside the phase's dir
    os.environ["MEDIA_ROOT"] = str(media_root)
    import django

    django.setup()
    from django.test import RequestFactory

    from live.video.api.views import hls_file

    media_id, session_id = "benchmedia01", "benchsession"
    target = media_root / "live-video" / media_id / session_id
    target.mkdir(parents=True, exist_ok=True)
    for path in (out_dir / "index.m3u8", segment):
        (target / path.name).write_bytes(path.read_bytes())
    factory = RequestFactory()
    cpu0 = _cpu_seconds()
    for _ in range(rounds):
        for name in ("index.m3u8", segment.name):
            response = hls_file(factory.get("/"), media_id, session_id, name)
            b"".join(response)  # type: ignore[arg-type]
    return (_cpu_seconds() - cpu0) / rounds


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        out_dir, fanout, height = Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        asyncio.run(child_main(out_dir, fanout, height))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short phases, under a minute")
    args = parser.parse_args()
    seconds, warmup = (8.0, 3.0) if args.quick else (30.0, 4.0)
    load = os.getloadavg()[0]

    p480 = asyncio.run(run_phase(width=854, height=480, seconds=seconds, fanout=0, warmup=warmup))
    p720 = asyncio.run(run_phase(width=1280, height=720, seconds=seconds, fanout=0, warmup=warmup))
    fan = asyncio.run(run_phase(width=854, height=480, seconds=seconds, fanout=1, warmup=warmup))
    latencies = sorted(p480["latencies"] + p720["latencies"])
    viewer = hls_viewer_cost(p480["out_dir"], p480["segment"], rounds=200)
    for phase in (p480, p720, fan):
        shutil.rmtree(phase["out_dir"], ignore_errors=True)
    result = {
        "bench": "video_pipeline",
        "cpu_cores_720p": round(p720["cores"], 3),
        "cpu_cores_480p": round(p480["cores"], 3),
        "latency_p50_s": round(statistics.median(latencies), 3),
        "latency_p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 3),
        "extra_viewer_cpu_cores": round(viewer, 5),
        # The VP8 encode aiortc runs per watching peer, timed on its own thread.
        "baseline_extra_viewer_cpu_cores": round(fan["fanout_cores"], 3),
        "fps_480p": round(p480["fps"], 1),
        "fps_720p": round(p720["fps"], 1),
        "segments_measured": len(latencies),
        "window_s": seconds,
        "loadavg_1m_at_start": round(load, 2),
        "cpu_count": os.cpu_count(),
    }
    print(
        f"480p30: {result['cpu_cores_480p']} cores; 720p30: {result['cpu_cores_720p']} cores; "
        f"latency p50 {result['latency_p50_s']} s p95 {result['latency_p95_s']} s; "
        f"extra HLS viewer {result['extra_viewer_cpu_cores']} cores vs aiortc fan-out "
        f"{result['baseline_extra_viewer_cpu_cores']} cores",
        flush=True,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
