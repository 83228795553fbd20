"""The packager offline: LL-HLS parts and segments per rendition, VOD at the end, and the
recovery of a recording whose packager never closed (its worker was killed)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest

from live.video.synthetic import PartDecoder, draw_stamp, playlist_entries, read_stamp
from live.video.worker.fmp4 import annexb_to_avcc, split_fragments
from live.video.worker.hls import HlsPackager, rendition_ladder
from live.video.worker.playlists import recording_finalize

WIDTH, HEIGHT = 640, 360


def _feed(packager: HlsPackager, frames: int, snapshots: dict[int, str] | None = None) -> None:
    ramp = np.tile((np.arange(WIDTH * 2) * 220 // (WIDTH * 2) + 16).astype(np.uint8), (HEIGHT, 1))
    chroma = np.full((HEIGHT // 2, WIDTH), 128, dtype=np.uint8)
    tone = (np.sin(np.arange(960) / 7) * 6000).astype(np.int16).reshape(1, -1)
    for i in range(frames):
        luma = np.ascontiguousarray(ramp[:, (i * 8) % WIDTH : (i * 8) % WIDTH + WIDTH])
        draw_stamp(luma, i, 1_000_000 + i)
        packager.push_video(
            av.VideoFrame.from_ndarray(np.vstack([luma, chroma]), "yuv420p"), i / 30
        )
        for k in (0, 1):  # 2 x 20 ms of Opus-sized audio per 33 ms frame, a little ahead
            audio = av.AudioFrame.from_ndarray(tone.copy(), format="s16", layout="mono")
            audio.sample_rate = 48000
            packager.push_audio(audio, (2 * i + k) * 0.02)
        if snapshots is not None and i in snapshots:
            snapshots[i] = (packager.out_dir / "v0" / "live.m3u8").read_text()


@pytest.fixture
def packager(tmp_path: Path) -> HlsPackager:
    return HlsPackager(tmp_path / "out", renditions=rendition_ladder(720, 240))


def test_parts_segments_and_playlists_of_both_renditions(packager: HlsPackager) -> None:
    snapshots = {50: ""}
    _feed(packager, 100, snapshots)
    stats = packager.close()
    out = packager.out_dir

    # While live: the LL-HLS playlist lists parts of the open segment and hints the next.
    live = snapshots[50].splitlines()
    assert live[:7] == [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        "#EXT-X-TARGETDURATION:1",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.0,"
        "CAN-SKIP-DATERANGES=YES,PART-HOLD-BACK=1.101",
        "#EXT-X-PART-INF:PART-TARGET=0.367",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    sequence, parts, segments = playlist_entries(snapshots[50])
    # frame 50 is at 1.667 s: segment 0 done, parts 1.0 and 1.1 published, 1.2 filling
    assert (sequence, segments) == (0, ["seg00000.m4s"])
    assert [uri for _msn, uri, _d in parts] == [
        "part00000.0.m4s",
        "part00000.1.m4s",
        "part00000.2.m4s",
        "part00001.0.m4s",
        "part00001.1.m4s",
    ]
    assert all(abs(d - 1 / 3) < 0.002 for _msn, _uri, d in parts)
    assert live[-1] == '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part00001.2.m4s"'
    assert live.count('#EXT-X-PART:DURATION=0.33333,URI="part00000.0.m4s",INDEPENDENT=YES') == 1

    # At the end: VOD playlists, 1 s segments, the same cut in both renditions.
    assert (stats.segment_count, stats.duration_seconds, stats.video_frames) == (4, 3.333, 100)
    for rendition, size in (("v0", (640, 360)), ("v1", (426, 240))):
        index = (out / rendition / "index.m3u8").read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in index and index.rstrip().endswith("#EXT-X-ENDLIST")
        assert [line for line in index.splitlines() if line.startswith("#EXTINF")] == [
            "#EXTINF:1.00000,",
            "#EXTINF:1.00000,",
            "#EXTINF:1.00000,",
            "#EXTINF:0.33333,",
        ]
        init = (out / rendition / "init.mp4").read_bytes()
        decoder = PartDecoder(init)
        frames = []
        for msn in range(4):
            segment = (out / rendition / f"seg{msn:05d}.m4s").read_bytes()
            # a segment is exactly its parts, in order
            part_files = sorted((out / rendition).glob(f"part{msn:05d}.*.m4s"))
            assert segment == b"".join(p.read_bytes() for p in part_files)
            decoded = decoder.frames(segment)
            assert decoded[0].key_frame and not any(f.key_frame for f in decoded[1:])
            frames.extend(decoded)
        assert len(frames) == 100 and (frames[0].width, frames[0].height) == size
    stamps = [
        read_stamp(f)[0]
        for f in PartDecoder((out / "v0/init.mp4").read_bytes()).frames(
            b"".join((out / "v0" / f"seg{m:05d}.m4s").read_bytes() for m in range(4))
        )
    ]
    assert stamps == list(range(100))
    master = (out / "live.m3u8").read_text()
    assert "v0/live.m3u8" in master and "v1/live.m3u8" in master
    assert 'RESOLUTION=426x240,CODECS="avc1.' in master
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
    assert abs(float(probe.stdout) - 3.333) < 0.05


def test_each_part_is_one_fragment_with_exact_decode_times(packager: HlsPackager) -> None:
    _feed(packager, 40)
    packager.close()
    rendition = packager.out_dir / "v0"
    init = (rendition / "init.mp4").read_bytes()
    starts = []
    for name in ("part00000.1.m4s", "part00000.2.m4s", "part00001.0.m4s"):
        fragments = split_fragments(init, (rendition / name).read_bytes())
        assert len(fragments) == 1
        starts.append((fragments[0].base_time, fragments[0].duration, fragments[0].sync))
    assert starts == [(30000, 30000, False), (60000, 30000, False), (90000, 30000, True)]


def test_annexb_becomes_length_prefixed() -> None:
    nals = b"\x00\x00\x00\x01\x67\x64" + b"\x00\x00\x01\x68\xee" + b"\x00\x00\x01\x65\x88\x84"
    assert annexb_to_avcc(nals) == (
        b"\x00\x00\x00\x02\x67\x64" + b"\x00\x00\x00\x02\x68\xee" + b"\x00\x00\x00\x03\x65\x88\x84"
    )


def test_recovery_turns_an_unclosed_recording_into_a_vod(packager: HlsPackager) -> None:
    _feed(packager, 80)  # 2.667 s; the packager never closes, as if its worker was killed
    rendition = packager.out_dir / "v0"
    assert "#EXT-X-ENDLIST" not in (rendition / "live.m3u8").read_text()
    assert sorted(p.name for p in rendition.glob("seg*")) == ["seg00000.m4s", "seg00001.m4s"]
    started = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

    figures = recording_finalize(rendition, started_at=started, segment_seconds=1.0)

    # the published part of the open segment (2.0; 2.1 was still filling) is kept
    assert figures == (3, 2.333)
    index = (rendition / "index.m3u8").read_text().splitlines()
    assert index[-1] == "#EXT-X-ENDLIST" and "#EXT-X-PLAYLIST-TYPE:VOD" in index
    assert [line for line in index if line.startswith("#EXTINF")] == [
        "#EXTINF:1.00000,",
        "#EXTINF:1.00000,",
        "#EXTINF:0.33333,",
    ]
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:01.000Z" in index
    assert (rendition / "live.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")
    decoder = PartDecoder((rendition / "init.mp4").read_bytes())
    frames = [
        f for m in range(3) for f in decoder.frames((rendition / f"seg{m:05d}.m4s").read_bytes())
    ]
    assert [read_stamp(f)[0] for f in frames] == list(range(70))
    # running it again changes nothing
    before = (rendition / "index.m3u8").read_bytes()
    assert recording_finalize(rendition, started_at=started, segment_seconds=1.0) == figures
    assert (rendition / "index.m3u8").read_bytes() == before


def test_recovery_of_a_rendition_without_media_finds_nothing(tmp_path: Path) -> None:
    started = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert recording_finalize(tmp_path, started_at=started, segment_seconds=1.0) == (0, 0.0)
    assert list(tmp_path.iterdir()) == []
