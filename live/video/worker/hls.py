"""Encode once per rendition (H.264 + AAC) and write LL-HLS in fragmented MP4.

Each decoded frame is scaled to every rendition of the ladder (the top one at most
``max_height``, an optional lower one) and encoded by that rendition's x264; an IDR is
forced at every segment boundary, on the same frames for every rendition, so players can
switch between renditions at any segment. Each rendition's mp4 muxer writes one fragment
per frame (``frag_every_frame``) into ``Fmp4Output``, which hands whole fragments to the
rendition's ``MediaPlaylist`` (parts, segments, playlists). The session directory holds
the multivariant playlists: ``live.m3u8`` (→ each rendition's LL-HLS ``live.m3u8``) and
``index.m3u8`` (→ each rendition's full ``index.m3u8``, the replay), plus the poster.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

from live.video.worker.fmp4 import (
    Sample,
    TrackRun,
    annexb_to_avcc,
    avc_codec,
    build_fragment,
    parse_init,
)
from live.video.worker.playlists import (
    INIT,
    LIVE_PLAYLIST,
    PLAYLIST,
    LowLatency,
    MediaPlaylist,
)

POSTER = "poster.jpg"
VIDEO_TIME_BASE = Fraction(1, 90000)
AUDIO_RATE = 48000
AUDIO_BITRATE = 96_000
AAC_PRIMING_SAMPLES = 1024
#: A poster is taken this far into the stream (past any black first frames), then refreshed.
POSTER_FIRST_AT = 1.0
POSTER_EVERY = 30.0

__all__ = [
    "INIT",
    "LIVE_PLAYLIST",
    "PLAYLIST",
    "POSTER",
    "HlsPackager",
    "RecordingStats",
    "Rendition",
    "rendition_ladder",
]


@dataclass(frozen=True)
class Rendition:
    max_height: int = 720
    max_bitrate: str = "2500k"
    preset: str = "veryfast"

    @property
    def bitrate(self) -> int:
        value = self.max_bitrate.lower()
        return int(float(value[:-1]) * 1000) if value.endswith("k") else int(value)


def rendition_ladder(max_height: int, low_height: int) -> list[Rendition]:
    """The top rendition, and a lower one when ``low_height`` is set and below the top."""
    ladder = [Rendition(max_height=max_height)]
    if 0 < low_height < max_height:
        # ~0.1 bit per pixel per frame at 30 fps, the top's rate scaled by area
        rate = max(300, round(2500 * (low_height / 720) ** 2))
        ladder.append(Rendition(max_height=low_height, max_bitrate=f"{rate}k"))
    return ladder


@dataclass(frozen=True)
class RecordingStats:
    segment_count: int
    duration_seconds: float
    video_frames: int
    audio_frames: int


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


class InitCapture(io.RawIOBase):
    """The mp4 muxer's output: only its header (``ftyp`` + ``moov``) is kept, as the init."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        self.data += chunk
        return len(chunk)


class RenditionEncoder:
    """One rendition: scale, x264 (+ AAC) → one fMP4 fragment per part → MediaPlaylist.

    A part is cut at the first video frame past each part boundary of the segment grid
    and at every IDR (a new segment); it holds the audio encoded meanwhile.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        name: str,
        rendition: Rendition,
        source: tuple[int, int],
        low_latency: LowLatency,
        started_at: datetime,
        with_audio: bool,
    ) -> None:
        self.name = name
        self.rendition = rendition
        width, height = source
        out_height = min(height, rendition.max_height)
        self.size = (_even(width * out_height / height), _even(out_height))
        self.playlist = MediaPlaylist(
            out_dir / name, low_latency=low_latency, started_at=started_at
        )
        self.capture = InitCapture()
        container = av.open(
            self.capture,
            mode="w",
            format="mp4",
            options={"movflags": "empty_moov+default_base_moof+frag_custom"},
        )
        gop = str(math.ceil(low_latency.segment_seconds * 30) * 4)  # backstop; IDRs are forced
        video = container.add_stream(
            "libx264",
            rate=30,
            options={
                "preset": rendition.preset,
                "tune": "zerolatency",
                "g": gop,
                "sc_threshold": "0",
                "bf": "0",
                "crf": "23",
                "maxrate": rendition.max_bitrate,
                "bufsize": rendition.max_bitrate,
            },
        )
        video.width, video.height = self.size
        video.pix_fmt = "yuv420p"
        video.codec_context.time_base = VIDEO_TIME_BASE
        self.container, self.video = container, video
        self.audio: av.AudioStream | None = None
        if with_audio:
            audio = container.add_stream("aac", rate=AUDIO_RATE)
            audio.layout = "stereo"
            audio.bit_rate = AUDIO_BITRATE
            self.audio = audio
        container.start_encoding()  # writes ftyp + moov; no packet ever goes to the muxer
        init = bytes(self.capture.data)
        tracks = parse_init(init)
        self.codec = avc_codec(init)
        self._video_track = next(t for t in tracks.values() if t.kind == "video")
        self._audio_track = next((t for t in tracks.values() if t.kind == "audio"), None)
        self.playlist.write_init(init)
        self._part_ticks = round(
            low_latency.part_seconds / VIDEO_TIME_BASE if low_latency.parts_per_segment else 0
        )
        self._sequence = 0
        self._video: list[tuple[int, bytes, bool]] = []  # (pts, AVCC data, keyframe)
        self._audio: list[tuple[int, bytes, int]] = []  # (pts, data, duration)
        self._part_slot = -1
        self._interval = 3000  # running frame interval, 1/90000 s

    @property
    def bandwidth(self) -> int:
        """Peak bits per second for the multivariant playlist (VBV cap, audio, boxes)."""
        audio = AUDIO_BITRATE if self.audio is not None else 0
        return round((self.rendition.bitrate + audio) * 1.1 + 20_000)

    def encode_video(self, frame: av.VideoFrame, pts: int, keyframe: bool) -> av.VideoFrame:
        width, height = self.size
        out = frame.reformat(width=width, height=height, format="yuv420p")
        out.pts = pts
        out.time_base = VIDEO_TIME_BASE
        if keyframe:
            out.pict_type = PictureType.I
        for packet in self.video.encode(out):
            self._on_video(packet)
        return out

    def encode_audio(self, frame: av.AudioFrame, pts: int) -> None:
        if self.audio is None:
            return
        # AAC's priming frame is timed before 0; starting the audio one AAC frame later
        # keeps every decode time non-negative (fMP4 cannot carry a negative one).
        frame.pts = pts + AAC_PRIMING_SAMPLES
        frame.time_base = Fraction(1, frame.sample_rate)
        for packet in self.audio.encode(frame):
            self._on_audio(packet)

    def _on_video(self, packet: av.Packet) -> None:
        if packet.pts is None:
            return
        pts = int(packet.pts)
        slot = pts // self._part_ticks if self._part_ticks else self._part_slot
        if self._video:
            self._interval = max(1, min(pts - self._video[-1][0], 18000))
            if packet.is_keyframe or slot > self._part_slot:
                self._flush(end=pts, next_starts_segment=packet.is_keyframe)
        self._part_slot = slot
        self._video.append((pts, annexb_to_avcc(bytes(packet)), packet.is_keyframe))

    def _on_audio(self, packet: av.Packet) -> None:
        if packet.pts is None or packet.pts < 0:
            return
        self._audio.append((int(packet.pts), bytes(packet), int(packet.duration or 1024)))

    def _flush(self, *, end: int, next_starts_segment: bool) -> None:
        """Write the pending frames (and audio) as one part ending at ``end`` (1/90000)."""
        if not self._video:
            return
        video_track = self._video_track
        scale = video_track.timescale / VIDEO_TIME_BASE.denominator
        samples = [
            Sample(
                data=data,
                duration=round(
                    ((self._video[i + 1][0] if i + 1 < len(self._video) else end) - pts) * scale
                ),
                sync=key,
            )
            for i, (pts, data, key) in enumerate(self._video)
        ]
        runs = [TrackRun(video_track.track_id, round(self._video[0][0] * scale), samples)]
        if self._audio and self._audio_track is not None:
            track = self._audio_track
            ascale = track.timescale / AUDIO_RATE
            runs.append(
                TrackRun(
                    track.track_id,
                    round(self._audio[0][0] * ascale),
                    [
                        Sample(data=d, duration=round(n * ascale), sync=True)
                        for _p, d, n in self._audio
                    ],
                )
            )
        self._sequence += 1
        start = self._video[0][0] * VIDEO_TIME_BASE
        self.playlist.add_part(
            build_fragment(self._sequence, runs),
            start=float(start),
            duration=float((end - self._video[0][0]) * VIDEO_TIME_BASE),
            next_starts_segment=next_starts_segment,
        )
        self._video, self._audio = [], []

    def close(self) -> tuple[int, float]:
        for packet in self.video.encode(None):
            self._on_video(packet)
        if self.audio is not None:
            for packet in self.audio.encode(None):
                self._on_audio(packet)
        if self._video:
            self._flush(end=self._video[-1][0] + self._interval, next_starts_segment=True)
        self.container.close()
        return self.playlist.close()


def write_multivariant(out_dir: Path, renditions: list[RenditionEncoder]) -> None:
    """The session's ``live.m3u8`` and ``index.m3u8``: one EXT-X-STREAM-INF per rendition."""
    for name in (LIVE_PLAYLIST, PLAYLIST):
        lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
        for encoder in renditions:
            codecs = encoder.codec
            if encoder.audio is not None:
                codecs += ",mp4a.40.2"
            width, height = encoder.size
            lines += [
                f"#EXT-X-STREAM-INF:BANDWIDTH={encoder.bandwidth},"
                f'RESOLUTION={width}x{height},CODECS="{codecs}",FRAME-RATE=30.000',
                f"{encoder.name}/{name}",
            ]
        tmp = out_dir / f".{name}.tmp"
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, out_dir / name)


class HlsPackager:
    """Takes decoded frames with their media time (seconds) and writes every rendition.

    Not thread-safe: one thread feeds it (see ``worker.session.PackagerThread``).
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        segment_seconds: float = 1.0,
        part_seconds: float = 1 / 3,
        rendition: Rendition | None = None,
        renditions: list[Rendition] | None = None,
        with_audio: bool = True,
        on_first_video: Callable[[], None] | None = None,
    ) -> None:
        self.out_dir = out_dir
        self.segment_seconds = segment_seconds
        parts = round(segment_seconds / part_seconds) if part_seconds > 0 else 0
        self.low_latency = LowLatency(segment_seconds=segment_seconds, parts_per_segment=parts)
        self.ladder = renditions or [rendition or Rendition()]
        self.with_audio = with_audio
        self.on_first_video = on_first_video
        self.encoders: list[RenditionEncoder] = []
        self._segment_ticks = round(segment_seconds / VIDEO_TIME_BASE)
        self._last_key_slot = -1
        self._last_video_pts = -1
        self._last_audio_pts = -1
        self._next_poster_at = POSTER_FIRST_AT
        self.started_at: datetime | None = None
        self.video_frames = 0
        self.audio_frames = 0

    def _open(self, frame: av.VideoFrame) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.started_at = datetime.now(UTC)
        self.encoders = [
            RenditionEncoder(
                self.out_dir,
                name=f"v{i}",
                rendition=rendition,
                source=(frame.width, frame.height),
                low_latency=self.low_latency,
                started_at=self.started_at,
                with_audio=self.with_audio,
            )
            for i, rendition in enumerate(self.ladder)
            if i == 0 or rendition.max_height < frame.height
        ]
        write_multivariant(self.out_dir, self.encoders)

    # --- feeding ------------------------------------------------------------------------
    def push_video(self, frame: av.VideoFrame, media_time: float) -> None:
        first = not self.encoders
        if first:
            self._open(frame)
        pts = round(media_time / VIDEO_TIME_BASE)
        if pts <= self._last_video_pts:
            return  # out of order or duplicate timing: keep the output monotonic
        self._last_video_pts = pts
        slot = pts // self._segment_ticks
        keyframe = slot > self._last_key_slot
        if keyframe:
            self._last_key_slot = slot
        top: av.VideoFrame | None = None
        for encoder in self.encoders:
            out = encoder.encode_video(frame, pts, keyframe)
            top = top or out
        self.video_frames += 1
        if media_time >= self._next_poster_at and top is not None:
            self._next_poster_at = media_time + POSTER_EVERY
            self._write_poster(top)
        if first and self.on_first_video is not None:
            self.on_first_video()

    def push_audio(self, frame: av.AudioFrame, media_time: float) -> None:
        if not self.encoders or not self.with_audio or media_time < 0:
            return  # audio before the first video frame has no place on the timeline
        pts = round(media_time * AUDIO_RATE)
        if pts <= self._last_audio_pts:
            return
        self._last_audio_pts = pts + frame.samples - 1
        for encoder in self.encoders:
            encoder.encode_audio(frame, pts)
        self.audio_frames += 1

    def _write_poster(self, frame: av.VideoFrame) -> None:
        tmp = self.out_dir / f".{POSTER}.tmp"
        frame.to_image().save(tmp, format="JPEG", quality=82)
        os.replace(tmp, self.out_dir / POSTER)

    # --- closing ------------------------------------------------------------------------
    def close(self) -> RecordingStats:
        """Flush the encoders and finish every rendition as a VOD (``#EXT-X-ENDLIST``)."""
        stats = [encoder.close() for encoder in self.encoders]
        segments, duration = stats[0] if stats else (0, 0.0)
        return RecordingStats(
            segment_count=segments,
            duration_seconds=duration,
            video_frames=self.video_frames,
            audio_frames=self.audio_frames,
        )
