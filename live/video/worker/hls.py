"""Encode once (H.264 + AAC) and write HLS: 1 s segments, forced IDR at each boundary.

The ffmpeg HLS muxer (through PyAV) writes MPEG-TS segments to a temporary name and
renames them when complete, then rewrites ``index.m3u8``: a reader never sees a partial
segment. The playlist is an EVENT playlist while live (players start at the live edge)
and gets ``#EXT-X-ENDLIST`` on close, which makes the same file the VOD replay.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

PLAYLIST = "index.m3u8"  #: every segment: EVENT while live, then the VOD replay
LIVE_PLAYLIST = "live.m3u8"  #: the last LIVE_WINDOW segments, what live players poll
LIVE_WINDOW = 6
POSTER = "poster.jpg"
SEGMENT_PATTERN = "seg%05d.ts"
VIDEO_TIME_BASE = Fraction(1, 90000)
AUDIO_RATE = 48000
#: A poster is taken this far into the stream (past any black first frames), then refreshed.
POSTER_FIRST_AT = 1.0
POSTER_EVERY = 30.0
_EXTINF = re.compile(r"^#EXTINF:([0-9.]+),", re.MULTILINE)


@dataclass(frozen=True)
class Rendition:
    max_height: int = 720
    max_bitrate: str = "2500k"
    preset: str = "veryfast"


@dataclass(frozen=True)
class RecordingStats:
    segment_count: int
    duration_seconds: float
    video_frames: int
    audio_frames: int


def playlist_stats(playlist: Path) -> tuple[int, float]:
    """(segments, total seconds) listed in a media playlist."""
    if not playlist.exists():
        return 0, 0.0
    durations = [float(d) for d in _EXTINF.findall(playlist.read_text())]
    return len(durations), round(sum(durations), 3)


def write_live_window(out_dir: Path, window: int = LIVE_WINDOW) -> None:
    """Rewrite ``live.m3u8`` as the sliding window over the last segments of ``index.m3u8``.

    Long shows keep the polled playlist small; ``#EXT-X-MEDIA-SEQUENCE`` counts the
    segments that slid out, so players keep continuity across refreshes.
    """
    lines = (out_dir / PLAYLIST).read_text().splitlines()
    header: list[str] = []
    entries: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.startswith(("#EXT-X-VERSION", "#EXT-X-TARGETDURATION")) and not entries:
            header.append(line)
        elif line.startswith(("#EXTINF", "#EXT-X-PROGRAM-DATE-TIME", "#EXT-X-DISCONTINUITY")):
            current.append(line)
        elif line and not line.startswith("#") and current:
            entries.append([*current, line])
            current = []
    kept = entries[-window:]
    out = ["#EXTM3U", *header, f"#EXT-X-MEDIA-SEQUENCE:{len(entries) - len(kept)}"]
    out.append("#EXT-X-INDEPENDENT-SEGMENTS")
    out.extend(line for entry in kept for line in entry)
    if "#EXT-X-ENDLIST" in lines:
        out.append("#EXT-X-ENDLIST")
    tmp = out_dir / f".{LIVE_PLAYLIST}.tmp"
    tmp.write_text("\n".join(out) + "\n")
    os.replace(tmp, out_dir / LIVE_PLAYLIST)


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


class HlsPackager:
    """Takes decoded frames with their media time (seconds) and writes one HLS rendition.

    Not thread-safe: one thread feeds it (see ``worker.session.PackagerThread``).
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        segment_seconds: float = 1.0,
        rendition: Rendition | None = None,
        on_first_video: Callable[[], None] | None = None,
    ) -> None:
        self.out_dir = out_dir
        self.segment_seconds = segment_seconds
        self.rendition = rendition or Rendition()
        self.on_first_video = on_first_video
        self._container: av.container.OutputContainer | None = None
        self._video: av.VideoStream | None = None
        self._audio: av.AudioStream | None = None
        self._size = (0, 0)
        self._last_video_pts = -1
        self._last_audio_pts = -1
        self._next_key_at = 0.0
        self._next_poster_at = POSTER_FIRST_AT
        self.video_frames = 0
        self._playlist_mtime = 0
        self.audio_frames = 0

    # --- opening ------------------------------------------------------------------------
    def _open(self, frame: av.VideoFrame) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        height = min(frame.height, self.rendition.max_height)
        width = frame.width * height / frame.height
        self._size = (_even(width), _even(height))
        gop = str(math.ceil(self.segment_seconds * 30) * 2)  # backstop; IDRs are forced
        container = av.open(
            str(self.out_dir / PLAYLIST),
            mode="w",
            format="hls",
            options={
                "hls_time": f"{self.segment_seconds:g}",
                "hls_list_size": "0",
                "hls_playlist_type": "event",
                "hls_segment_type": "mpegts",
                "hls_flags": "independent_segments+program_date_time+temp_file",
                "hls_segment_filename": str(self.out_dir / SEGMENT_PATTERN),
            },
        )
        video = container.add_stream(
            "libx264",
            rate=30,
            options={
                "preset": self.rendition.preset,
                "tune": "zerolatency",
                "g": gop,
                "sc_threshold": "0",
                "bf": "0",
                "crf": "23",
                "maxrate": self.rendition.max_bitrate,
                "bufsize": self.rendition.max_bitrate,
            },
        )
        video.width, video.height = self._size
        video.pix_fmt = "yuv420p"
        video.codec_context.time_base = VIDEO_TIME_BASE
        audio = container.add_stream("aac", rate=AUDIO_RATE)
        audio.layout = "stereo"
        audio.bit_rate = 96_000
        self._container, self._video, self._audio = container, video, audio

    # --- feeding ------------------------------------------------------------------------
    def push_video(self, frame: av.VideoFrame, media_time: float) -> None:
        first = self._container is None
        if first:
            self._open(frame)
        assert self._container is not None and self._video is not None
        pts = round(media_time / VIDEO_TIME_BASE)
        if pts <= self._last_video_pts:
            return  # out of order or duplicate timing: keep the output monotonic
        self._last_video_pts = pts
        width, height = self._size
        out = frame.reformat(width=width, height=height, format="yuv420p")
        out.pts = pts
        out.time_base = VIDEO_TIME_BASE
        if media_time >= self._next_key_at:
            out.pict_type = PictureType.I
            self._next_key_at = (
                math.floor(media_time / self.segment_seconds) + 1
            ) * self.segment_seconds
        for packet in self._video.encode(out):
            self._container.mux(packet)
            if packet.is_keyframe:
                self._refresh_live_window()
        self.video_frames += 1
        if media_time >= self._next_poster_at:
            self._next_poster_at = media_time + POSTER_EVERY
            self._write_poster(out)
        if first and self.on_first_video is not None:
            self.on_first_video()

    def push_audio(self, frame: av.AudioFrame, media_time: float) -> None:
        if self._container is None or self._audio is None or media_time < 0:
            return  # audio before the first video frame has no place on the timeline
        pts = round(media_time * AUDIO_RATE)
        if pts <= self._last_audio_pts:
            return
        self._last_audio_pts = pts + frame.samples - 1
        frame.pts = pts
        frame.time_base = Fraction(1, frame.sample_rate)
        for packet in self._audio.encode(frame):
            self._container.mux(packet)
        self.audio_frames += 1

    def _refresh_live_window(self) -> None:
        """After the muxer closed a segment (at a keyframe), follow with ``live.m3u8``."""
        try:
            mtime = (self.out_dir / PLAYLIST).stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime != self._playlist_mtime:
            self._playlist_mtime = mtime
            write_live_window(self.out_dir)

    def _write_poster(self, frame: av.VideoFrame) -> None:
        tmp = self.out_dir / f".{POSTER}.tmp"
        frame.to_image().save(tmp, format="JPEG", quality=82)
        os.replace(tmp, self.out_dir / POSTER)

    # --- closing ------------------------------------------------------------------------
    def close(self) -> RecordingStats:
        """Flush both encoders and finish the playlist with ``#EXT-X-ENDLIST``."""
        if self._container is not None:
            assert self._video is not None and self._audio is not None
            for packet in self._video.encode(None):
                self._container.mux(packet)
            for packet in self._audio.encode(None):
                self._container.mux(packet)
            self._container.close()
            self._container = None
            write_live_window(self.out_dir)
        segments, duration = playlist_stats(self.out_dir / PLAYLIST)
        return RecordingStats(
            segment_count=segments,
            duration_seconds=duration,
            video_frames=self.video_frames,
            audio_frames=self.audio_frames,
        )
