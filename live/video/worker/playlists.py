"""One rendition's HLS files: LL-HLS parts, segments, the live and the full playlist.

The encoder publishes a part (one fMP4 fragment) when the first frame of the next part
arrives, and says whether that next part opens a new segment (an IDR, forced at every
segment boundary). The part file is written (temp name + rename), then ``live.m3u8`` is
rewritten with the part listed and a preload hint for the part now being filled. A
segment file is the concatenation of its parts, written when its last part is.
``index.m3u8`` lists every segment: appended while live, rewritten once as a VOD playlist
(``#EXT-X-ENDLIST``) at the end.

``recording_finalize`` rebuilds the same playlists from the files alone, for a session
whose worker died before it could end them.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from live.video.worker.fmp4 import parse_init, split_fragments

PLAYLIST = "index.m3u8"  #: every segment: EVENT while live, then the VOD replay
LIVE_PLAYLIST = "live.m3u8"  #: LL-HLS: the last LIVE_WINDOW segments, recent parts, a hint
INIT = "init.mp4"
#: segments in the live playlist: a short rewind window; players that reload it take
#: delta updates (``_HLS_skip``), which replace all but the last SKIP_TARGETS of them
LIVE_WINDOW = 30
#: the Skip Boundary (``CAN-SKIP-UNTIL``) in target durations: the spec's minimum, six
SKIP_TARGETS = 6
#: parts are listed for this many trailing segments (3 target durations, per the spec)
PART_SEGMENTS = 3
#: part files of older segments are deleted (the segment file holds the same bytes); a
#: part stays fetchable for 3 target durations after its tag left the playlist (spec)
KEEP_PART_SEGMENTS = 8
VERSION = 6
_SEGMENT = re.compile(r"^seg(\d{5,9})\.m4s$")
_PART = re.compile(r"^part(\d{5,9})\.(\d{1,2})\.m4s$")


def segment_name(msn: int) -> str:
    return f"seg{msn:05d}.m4s"


def part_name(msn: int, index: int) -> str:
    return f"part{msn:05d}.{index}.m4s"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _pdt(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Part:
    name: str
    duration: float
    independent: bool


@dataclass
class Segment:
    msn: int
    start: float  #: media seconds of its first video sample
    wall: datetime  #: program date time of its first sample
    duration: float = 0.0
    parts: list[Part] = field(default_factory=list)

    @property
    def name(self) -> str:
        return segment_name(self.msn)


@dataclass(frozen=True)
class LowLatency:
    """Part layout of a rendition; ``parts_per_segment`` 0 means plain HLS (no parts)."""

    segment_seconds: float = 1.0
    parts_per_segment: int = 3

    @property
    def part_seconds(self) -> float:
        return self.segment_seconds / max(1, self.parts_per_segment)

    @property
    def part_target(self) -> float:
        """PART-TARGET: nominal part plus one 30 fps frame of timing jitter."""
        return math.ceil((self.part_seconds + 1 / 30) * 1000) / 1000

    @property
    def target_duration(self) -> int:
        return max(1, math.ceil(self.segment_seconds))

    @property
    def skip_until(self) -> int:
        """CAN-SKIP-UNTIL: the Skip Boundary of delta updates, six target durations."""
        return SKIP_TARGETS * self.target_duration


def _header(target: int, low_latency: LowLatency | None, *, sequence: int, kind: str) -> list[str]:
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{VERSION}", f"#EXT-X-TARGETDURATION:{target}"]
    if low_latency is not None:
        hold = round(3 * low_latency.part_target, 3)
        lines += [
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
            f"CAN-SKIP-UNTIL={low_latency.skip_until:.1f},CAN-SKIP-DATERANGES=YES,"
            f"PART-HOLD-BACK={hold:g}",
            f"#EXT-X-PART-INF:PART-TARGET={low_latency.part_target:g}",
        ]
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{sequence}")
    if kind:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{kind}")
    lines += ["#EXT-X-INDEPENDENT-SEGMENTS", f'#EXT-X-MAP:URI="{INIT}"']
    return lines


def _segment_lines(segment: Segment, *, with_parts: bool) -> list[str]:
    lines = [f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(segment.wall)}"]
    if with_parts:
        lines += [_part_line(p) for p in segment.parts]
    lines += [f"#EXTINF:{segment.duration:.5f},", segment.name]
    return lines


def _part_line(part: Part) -> str:
    independent = ",INDEPENDENT=YES" if part.independent else ""
    return f'#EXT-X-PART:DURATION={part.duration:.5f},URI="{part.name}"{independent}'


def write_vod(out_dir: Path, segments: list[Segment], *, segment_seconds: float) -> None:
    """``index.m3u8`` as the finished recording (VOD), and ``live.m3u8`` ended too."""
    target = max([math.ceil(segment_seconds), *(round(s.duration) for s in segments)])
    lines = _header(target, None, sequence=0, kind="VOD")
    for segment in segments:
        lines += _segment_lines(segment, with_parts=False)
    lines.append("#EXT-X-ENDLIST")
    _write_atomic(out_dir / PLAYLIST, ("\n".join(lines) + "\n").encode())
    window = segments[-LIVE_WINDOW:]
    live = _header(target, None, sequence=len(segments) - len(window), kind="")
    for segment in window:
        live += _segment_lines(segment, with_parts=False)
    live.append("#EXT-X-ENDLIST")
    _write_atomic(out_dir / LIVE_PLAYLIST, ("\n".join(live) + "\n").encode())


class MediaPlaylist:
    """One rendition's parts, segments and playlists, written as parts are published.

    Not thread-safe: the packager thread calls it.
    """

    def __init__(self, out_dir: Path, *, low_latency: LowLatency, started_at: datetime) -> None:
        self.out_dir = out_dir
        self.low_latency = low_latency
        self.started_at = started_at
        self.segments: list[Segment] = []
        self._open: Segment | None = None
        self._segment_data = bytearray()
        self._index_started = False
        self.ended = False

    def write_init(self, data: bytes) -> None:
        """The init segment, and a first live playlist (no part yet, a hint for the first)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.out_dir / INIT, data)
        self._write_live()

    def add_part(
        self, data: bytes, *, start: float, duration: float, next_starts_segment: bool
    ) -> None:
        """Publish a finished part; the next one (being filled) may open a new segment."""
        if self._open is None:
            self._open = Segment(
                msn=len(self.segments),
                start=start,
                wall=self.started_at + timedelta(seconds=start),
            )
        segment = self._open
        index = len(segment.parts)
        name = part_name(segment.msn, index)
        if self.low_latency.parts_per_segment:
            _write_atomic(self.out_dir / name, data)
        segment.parts.append(Part(name=name, duration=duration, independent=index == 0))
        self._segment_data += data
        if next_starts_segment:
            self._close_segment()
        if self.low_latency.parts_per_segment or next_starts_segment:
            self._write_live()

    def _close_segment(self) -> None:
        segment = self._open
        if segment is None:
            return
        self._open = None
        segment.duration = round(sum(p.duration for p in segment.parts), 5)
        _write_atomic(self.out_dir / segment.name, bytes(self._segment_data))
        self._segment_data.clear()
        self.segments.append(segment)
        self._append_index(segment)
        self._prune_parts()

    def _append_index(self, segment: Segment) -> None:
        lines: list[str] = []
        if not self._index_started:
            self._index_started = True
            lines = _header(self.low_latency.target_duration, None, sequence=0, kind="EVENT")
        lines += _segment_lines(segment, with_parts=False)
        with (self.out_dir / PLAYLIST).open("a") as index:
            index.write("\n".join(lines) + "\n")

    def _prune_parts(self) -> None:
        if not self.low_latency.parts_per_segment:
            return
        old = len(self.segments) - KEEP_PART_SEGMENTS
        if old >= 0:
            for part in self.segments[old].parts:
                (self.out_dir / part.name).unlink(missing_ok=True)

    def _write_live(self) -> None:
        layout = self.low_latency
        low_latency = bool(layout.parts_per_segment)
        window = self.segments[-LIVE_WINDOW:]
        lines = _header(
            layout.target_duration,
            layout if low_latency else None,
            sequence=len(self.segments) - len(window),
            kind="",
        )
        for i, segment in enumerate(window):
            with_parts = low_latency and i >= len(window) - PART_SEGMENTS
            lines += _segment_lines(segment, with_parts=with_parts)
        if low_latency:
            if self._open is not None:
                lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(self._open.wall)}")
                lines += [_part_line(p) for p in self._open.parts]
                hint = part_name(self._open.msn, len(self._open.parts))
            else:
                hint = part_name(len(self.segments), 0)
            lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{hint}"')
        _write_atomic(self.out_dir / LIVE_PLAYLIST, ("\n".join(lines) + "\n").encode())

    def close(self) -> tuple[int, float]:
        """Finish the last segment, then write the VOD playlists; (segments, seconds)."""
        if not self.ended:
            self.ended = True
            self._close_segment()
            if self.segments:
                write_vod(
                    self.out_dir, self.segments, segment_seconds=self.low_latency.segment_seconds
                )
        return len(self.segments), round(sum(s.duration for s in self.segments), 3)


def recording_finalize(
    out_dir: Path, *, started_at: datetime, segment_seconds: float
) -> tuple[int, float]:
    """Rebuild a rendition's VOD playlist from its files (its worker died while live).

    Every complete segment file is kept; the parts of the segment that was being filled
    become one last segment. Timing comes from the fragments' decode times.
    Returns (segments, seconds); idempotent.
    """
    init_path = out_dir / INIT
    if not init_path.is_file():
        return 0, 0.0
    init = init_path.read_bytes()
    files: dict[int, bytes] = {}
    parts: dict[int, dict[int, Path]] = {}
    for path in out_dir.iterdir():
        if match := _SEGMENT.match(path.name):
            files[int(match.group(1))] = path.read_bytes()
        elif match := _PART.match(path.name):
            parts.setdefault(int(match.group(1)), {})[int(match.group(2))] = path
    tail = max(files) + 1 if files else 0
    if tail in parts:  # the open segment: its published parts, in order, without gaps
        data = bytearray()
        for index in range(len(parts[tail])):
            if index not in parts[tail]:
                break
            data += parts[tail][index].read_bytes()
        if data:
            _write_atomic(out_dir / segment_name(tail), bytes(data))
            files[tail] = bytes(data)
    tracks = parse_init(init)
    segments: list[Segment] = []
    for msn in sorted(files):
        if segments and msn != segments[-1].msn + 1:
            break  # a hole: keep the continuous recording only
        video = [
            f
            for f in split_fragments(init, files[msn])
            if tracks.get(f.track_id) and tracks[f.track_id].kind == "video"
        ]
        if not video:
            break
        timescale = tracks[video[0].track_id].timescale
        start = video[0].base_time / timescale
        last = video[-1]
        interval = (
            (last.base_time - video[0].base_time) / timescale / (len(video) - 1)
            if len(video) > 1
            else 1 / 30
        )
        end = last.base_time / timescale + (last.duration / timescale or interval)
        if segments:
            segments[-1].duration = round(start - segments[-1].start, 5)
        segments.append(
            Segment(
                msn=msn,
                start=start,
                wall=started_at + timedelta(seconds=start),
                duration=round(end - start, 5),
            )
        )
    if segments:
        write_vod(out_dir, segments, segment_seconds=segment_seconds)
    return len(segments), round(sum(s.duration for s in segments), 3)
