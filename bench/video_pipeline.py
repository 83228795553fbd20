"""Live video pipeline cost: CPU per live stream, glass-to-glass latency, extra viewers.

A synthetic aiortc publisher (moving pattern stamped with its capture time, plus a
tone) sends WebRTC to a child process running the media worker's real ``IngestSession``
(aiortc receive + decode once → H.264/AAC encode once per rendition → LL-HLS fMP4).
The child's own CPU time (all threads, ``getrusage``) over a steady window, divided by
the media time it packaged meanwhile, gives the cores one live stream needs in real time
(480p, 720p, and the 720p + 480p ladder); ``realtime_*`` says whether the machine kept
up (media seconds per wall second). A player-style
checker polls the playlists every 20 ms, decodes each new part and segment and reads
the frame stamps: segment latency (1 s segments), part availability and LL-HLS
glass-to-glass (see ``Checker``). An extra viewer costs only file reads (measured by
serving real parts and playlists through the HLS view); the naive
baseline, aiortc fan-out, costs one more VP8 encode per viewer (measured in the same
run by adding aiortc's own encoder to the child's frame path).

    .venv/bin/python bench/video_pipeline.py [--quick]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import shutil
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
async def child_main(out_dir: Path, fanout: int, max_height: int, low_height: int) -> None:
    import av
    from aiortc.codecs import get_encoder
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    from live.video.worker.hls import RecordingStats, rendition_ladder
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
        renditions=rendition_ladder(max_height, low_height),
        segment_seconds=1.0,
        part_seconds=1 / 3,
        ice_servers=[],
        on_live=on_live,
        on_end=on_end,
    )
    answer = await session.answer(offer["sdp"])
    fanout_cpu = [0.0]
    if fanout and session.packager is not None:
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
    print(json.dumps({"sdp": answer}), flush=True)
    marks: dict[str, float] = {}
    while True:
        line = (await reader.readline()).decode().strip()
        if line in ("", "stop"):
            break
        marks[line] = _cpu_seconds()
        # media time packaged so far: CPU per second of *video*, even if a starved
        # machine runs the pipeline slower than real time
        pts = session.packager.packager._last_video_pts if session.packager else 0
        reply = {
            "mark": line,
            "cpu": marks[line],
            "fanout_cpu": fanout_cpu[0],
            "media": pts / 90000,
        }
        print(json.dumps(reply), flush=True)
    await session.end("bench")


# --- parent: publisher, player-style checker --------------------------------------------
class Checker:
    """Reads the top rendition as players would: segments (plain HLS) and parts (LL-HLS).

    Each time a playlist is read, the new segments and parts it lists are "available
    now". Capture times come from the frame stamps: the first frame of every segment (an
    IDR, so one frame decodes alone) gives capture time minus media time; every other
    frame's capture time is that plus its media time (exact: media time comes from the
    publisher's RTP timestamps), read from the fragments' decode times without decoding.

    Segment latency: a segment listed in ``index.m3u8`` minus the capture of its first
    frame (what a 1 s-segment player can fetch). Part availability: a part listed in
    ``live.m3u8`` minus the capture of its first frame. LL glass-to-glass: a low-latency
    player (hls.js ``lowLatencyMode``, Safari) plays PART-HOLD-BACK behind the newest
    listed part, so a frame shows PART-HOLD-BACK after the part that ends with it is
    listed: (listed - capture of the part's last frame) + PART-HOLD-BACK.
    """

    def __init__(self, out_dir: Path) -> None:
        self.dir = out_dir / "v0"
        self.segments: set[str] = set()
        self.parts: set[str] = set()
        self.init = b""
        self.offset: float | None = None  #: capture time minus media time (seconds)
        self.segment_latencies: list[float] = []
        self.part_available: list[float] = []
        self.ll_latencies: list[float] = []
        self.hold_back = 0.0

    def _span(self, data: bytes) -> tuple[float, float]:
        """(media time of the first frame, of the end) of a part or segment."""
        from live.video.worker.fmp4 import parse_init, split_fragments

        tracks = parse_init(self.init)
        video = [f for f in split_fragments(self.init, data) if tracks[f.track_id].kind == "video"]
        timescale = tracks[video[0].track_id].timescale
        end = video[-1].base_time + video[-1].duration
        return video[0].base_time / timescale, end / timescale

    def _anchor(self, data: bytes, start: float) -> None:
        import av

        from live.video.synthetic import read_stamp

        with av.open(io.BytesIO(self.init + data), mode="r") as container:
            first = next(container.decode(video=0))
        self.offset = read_stamp(first)[1] / 1000 - start

    def poll(self, measuring: bool) -> None:
        from live.video.synthetic import playlist_entries

        if not self.init:
            if not (self.dir / "init.mp4").is_file():
                return
            self.init = (self.dir / "init.mp4").read_bytes()
        listed = time.time()
        live = (self.dir / "live.m3u8").read_text()
        if not self.hold_back and "PART-HOLD-BACK=" in live:
            self.hold_back = float(live.split("PART-HOLD-BACK=")[1].split()[0].split(",")[0])
        for _msn, uri, _duration in playlist_entries(live)[1]:
            if uri in self.parts:
                continue
            self.parts.add(uri)
            try:
                data = (self.dir / uri).read_bytes()
            except FileNotFoundError:  # pruned already
                continue
            start, end = self._span(data)
            if uri.endswith(".0.m4s"):  # independent: its first frame decodes alone
                self._anchor(data, start)
            if measuring and self.offset is not None:
                self.part_available.append(listed - (start + self.offset))
                last_frame = end - 1 / 30
                self.ll_latencies.append(listed - (last_frame + self.offset) + self.hold_back)
        listed = time.time()
        index = self.dir / "index.m3u8"
        text = index.read_text() if index.exists() else ""
        for name in [ln for ln in text.splitlines() if ln.endswith(".m4s")]:
            if name in self.segments:
                continue
            self.segments.add(name)
            data = (self.dir / name).read_bytes()
            start, _end = self._span(data)
            self._anchor(data, start)
            if measuring and self.offset is not None:
                self.segment_latencies.append(listed - (start + self.offset))


async def run_phase(
    *, width: int, height: int, seconds: float, fanout: int, warmup: float, low_height: int = 0
) -> dict[str, Any]:
    import av
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from live.video.synthetic import PatternVideoTrack, ToneAudioTrack

    out_dir = Path(tempfile.mkdtemp(prefix="lhv-bench-"))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--child",
        str(out_dir),
        str(fanout),
        str(height),
        str(low_height),
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
    media: list[float] = []

    async def mark(name: str) -> float:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(name.encode() + b"\n")
        reply = json.loads(await child.stdout.readline())
        fanout_cpu.append(float(reply["fanout_cpu"]))
        media.append(float(reply["media"]))
        return float(reply["cpu"])

    checker = Checker(out_dir)
    start = time.monotonic()
    cpu0 = wall0 = None
    while time.monotonic() - start < warmup + seconds:
        if cpu0 is None and time.monotonic() - start >= warmup:
            cpu0, wall0 = await mark("start"), time.monotonic()
        checker.poll(measuring=cpu0 is not None)
        await asyncio.sleep(0.02)
    cpu1, wall1 = await mark("end"), time.monotonic()
    child.stdin.write(b"stop\n")
    await child.stdin.drain()
    await child.wait()
    await pc.close()
    assert cpu0 is not None and wall0 is not None
    segments = sorted((out_dir / "v0").glob("seg*.m4s"))
    # Frame rate the worker actually packaged (the publisher may fall behind under load).
    frames, media_seconds = 0, 0.0
    init = (out_dir / "v0" / "init.mp4").read_bytes()
    for path in segments[1:-1]:
        with av.open(io.BytesIO(init + path.read_bytes()), mode="r") as container:
            stream = container.streams.video[0]
            pts = [p.pts for p in container.demux(stream) if p.pts is not None]
            frames += len(pts)
            if pts and stream.time_base is not None:
                media_seconds += float((pts[-1] - pts[0]) * stream.time_base)
    return {
        "fps": frames / media_seconds if media_seconds else 0.0,
        # CPU seconds per second of video packaged: the cores one stream needs in real time
        "cores": (cpu1 - cpu0) / max(media[-1] - media[0], 1e-6),
        "realtime": (media[-1] - media[0]) / (wall1 - wall0),
        "fanout_cores": (fanout_cpu[-1] - fanout_cpu[0]) / max(media[-1] - media[0], 1e-6),
        "checker": checker,
        "out_dir": out_dir,
    }


def hls_viewer_cost(out_dir: Path, rounds: int) -> float:
    """CPU seconds per second one LL-HLS viewer costs the origin.

    Per second of video a low-latency player makes 3 blocking playlist reloads and 3
    part fetches (plain-HLS players: 1 playlist + 1 segment, cheaper). Served by the real
    view, without the network stack; the wait of a held reload costs no CPU (it sleeps
    on the event loop; one shared ``stat`` every 20 ms per playlist watches the file).
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    media_root = out_dir / "origin"  # a copy served as MEDIA_ROOT, inside the phase's dir
    os.environ["MEDIA_ROOT"] = str(media_root)
    import django

    django.setup()
    from django.test import RequestFactory

    from live.video.api.views import hls_file

    media_id, session_id = "benchmedia01", "benchsession"
    target = media_root / "live-video" / media_id / session_id / "v0"
    target.mkdir(parents=True, exist_ok=True)
    source = out_dir / "v0"
    playlist = (source / "live.m3u8").read_text()
    part = next(iter(sorted(source.glob("part*.m4s"))))
    (target / "live.m3u8").write_text(playlist)
    (target / part.name).write_bytes(part.read_bytes())
    factory = RequestFactory()

    async def serve() -> None:
        for _ in range(rounds):
            for _per_part in range(3):
                for name in ("v0/live.m3u8", f"v0/{part.name}"):
                    response = await hls_file(factory.get("/"), media_id, session_id, name)
                    assert response.status_code == 200, name

    cpu0 = _cpu_seconds()
    asyncio.run(serve())
    return (_cpu_seconds() - cpu0) / rounds


def packager_cost(width: int, height: int, low_height: int, seconds: float = 4.0) -> float:
    """CPU seconds per second of video of the packager alone (scale + x264 + AAC + fMP4 +
    playlists per rendition), frames pushed as fast as it takes them: a cross-check that
    a starved machine cannot skew by slowing the real-time publisher."""
    import av
    import numpy as np

    from live.video.synthetic import draw_stamp
    from live.video.worker.hls import HlsPackager, rendition_ladder

    out_dir = Path(tempfile.mkdtemp(prefix="lhv-pack-"))
    packager = HlsPackager(out_dir, renditions=rendition_ladder(720, low_height))
    ramp = np.tile((np.arange(width * 2) * 220 // (width * 2) + 16).astype(np.uint8), (height, 1))
    chroma = np.full((height // 2, width), 128, dtype=np.uint8)
    frames = []
    for i in range(60):
        luma = np.ascontiguousarray(ramp[:, (i * 8) % width : (i * 8) % width + width])
        draw_stamp(luma, i, 0)
        frames.append(av.VideoFrame.from_ndarray(np.vstack([luma, chroma]), format="yuv420p"))
    tone = (np.sin(np.arange(960) / 7) * 6000).astype(np.int16).reshape(1, -1)
    count = round(seconds * 30)
    started = _cpu_seconds()
    for i in range(count):
        packager.push_video(frames[i % 60], i / 30)
        for k in (0, 1):
            audio = av.AudioFrame.from_ndarray(tone.copy(), format="s16", layout="mono")
            audio.sample_rate = 48000
            packager.push_audio(audio, (3 * i + 2 * k) / 90)
    packager.close()
    cost = (_cpu_seconds() - started) / seconds
    shutil.rmtree(out_dir, ignore_errors=True)
    return cost


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[int(q * (len(ordered) - 1))], 3) if ordered else float("nan")


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        out_dir, fanout = Path(sys.argv[2]), int(sys.argv[3])
        height, low = int(sys.argv[4]), int(sys.argv[5])
        asyncio.run(child_main(out_dir, fanout, height, low))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short phases, under two minutes")
    args = parser.parse_args()
    seconds, warmup = (8.0, 3.0) if args.quick else (30.0, 4.0)
    load = os.getloadavg()[0]

    def phase(**kwargs: Any) -> dict[str, Any]:
        return asyncio.run(run_phase(seconds=seconds, warmup=warmup, **kwargs))

    p480 = phase(width=854, height=480, fanout=0)
    p720 = phase(width=1280, height=720, fanout=0)
    ladder = phase(width=1280, height=720, fanout=0, low_height=480)
    fan = phase(width=854, height=480, fanout=1)
    # Latency needs the pipeline to keep real time; on a starved machine a light stream
    # (240p, one rendition) still does, and shows what the design adds (parts, hold-back).
    light = phase(width=426, height=240, fanout=0)
    checkers = [p["checker"] for p in (p480, p720, ladder)]
    segment_latencies = [x for c in checkers for x in c.segment_latencies]
    available = [x for c in checkers for x in c.part_available]
    ll = [x for c in checkers for x in c.ll_latencies]
    viewer = hls_viewer_cost(p480["out_dir"], rounds=200)
    packager = {
        "480p": packager_cost(854, 480, 0),
        "720p": packager_cost(1280, 720, 0),
        "720p_plus_480p": packager_cost(1280, 720, 480),
    }
    lc = light["checker"]
    for done in (p480, p720, ladder, fan, light):
        shutil.rmtree(done["out_dir"], ignore_errors=True)
    result = {
        "bench": "video_pipeline",
        "cpu_cores_720p": round(p720["cores"], 3),
        "cpu_cores_480p": round(p480["cores"], 3),
        "cpu_cores_720p_plus_480p": round(ladder["cores"], 3),
        "latency_p50_s": _pct(segment_latencies, 0.5),
        "latency_p95_s": _pct(segment_latencies, 0.95),
        "ll_latency_p50_s": _pct(ll, 0.5),
        "ll_latency_p95_s": _pct(ll, 0.95),
        "ll_part_available_p50_s": _pct(available, 0.5),
        "ll_part_available_p95_s": _pct(available, 0.95),
        "ll_part_hold_back_s": checkers[0].hold_back,
        "light_240p_latency_p50_s": _pct(lc.segment_latencies, 0.5),
        "light_240p_ll_latency_p50_s": _pct(lc.ll_latencies, 0.5),
        "light_240p_ll_latency_p95_s": _pct(lc.ll_latencies, 0.95),
        "light_240p_ll_part_available_p50_s": _pct(lc.part_available, 0.5),
        "light_240p_realtime": round(light["realtime"], 2),
        "extra_viewer_cpu_cores": round(viewer, 5),
        # The VP8 encode aiortc runs per watching peer, timed on its own thread.
        "baseline_extra_viewer_cpu_cores": round(fan["fanout_cores"], 3),
        # the packager alone, offline (no WebRTC receive/decode): robust to a starved machine
        **{f"packager_cpu_cores_{k}": round(v, 3) for k, v in packager.items()},
        # media seconds packaged per wall second in each window (< 1: the machine was starved)
        "realtime_480p": round(p480["realtime"], 2),
        "realtime_720p": round(p720["realtime"], 2),
        "realtime_720p_plus_480p": round(ladder["realtime"], 2),
        "fps_480p": round(p480["fps"], 1),
        "fps_720p": round(p720["fps"], 1),
        "fps_720p_plus_480p": round(ladder["fps"], 1),
        "segments_measured": len(segment_latencies),
        "parts_measured": len(ll),
        "window_s": seconds,
        "loadavg_1m_at_start": round(load, 2),
        "cpu_count": os.cpu_count(),
    }
    print(
        f"480p30: {result['cpu_cores_480p']} cores; 720p30: {result['cpu_cores_720p']} cores; "
        f"720p+480p: {result['cpu_cores_720p_plus_480p']} cores; segment latency p50 "
        f"{result['latency_p50_s']} s p95 {result['latency_p95_s']} s; LL-HLS glass-to-glass "
        f"p50 {result['ll_latency_p50_s']} s p95 {result['ll_latency_p95_s']} s; extra viewer "
        f"{result['extra_viewer_cpu_cores']} cores vs aiortc fan-out "
        f"{result['baseline_extra_viewer_cpu_cores']} cores",
        flush=True,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
