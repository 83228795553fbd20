"""Fragmented MP4 (CMAF-style) boxes: write one fragment per LL-HLS part, read them back.

The init segment (``ftyp`` + ``moov``) comes from ffmpeg's mp4 muxer, which knows every
codec's sample entry; the fragments are written here, one ``moof`` + ``mdat`` per part,
from the encoded packets, because only here are the exact part boundaries and sample
durations known (ffmpeg's own per-frame fragmenting guesses the duration of a track's
last sample and shifts later decode times). ``fragment_info``/``split_fragments`` read
fragments back (decode time, durations, sync flag) to rebuild the playlists of a
recording whose worker died. Nothing here needs PyAV.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

_HEADER = struct.Struct(">I4s")
_SAMPLE = struct.Struct(">IIIi")
#: trun flags: data offset, then per sample duration, size, flags, composition offset
_TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800
#: sample_flags: depends on nothing (a sync sample) / depends on others, not a sync sample
SYNC_FLAGS = 0x02000000
NON_SYNC_FLAGS = 0x01010000
#: ISO/IEC 14496-12 sample_flags: sample_is_non_sync_sample
_NON_SYNC = 0x00010000


@dataclass(frozen=True)
class Track:
    track_id: int
    kind: str  #: "video" or "audio" (from the handler box)
    timescale: int
    default_duration: int = 0
    default_flags: int = 0


@dataclass(frozen=True)
class Fragment:
    """One ``moof`` + ``mdat`` pair, with what the playlist writer needs from it."""

    track_id: int
    base_time: int  #: decode time of the first sample, in the track's timescale
    duration: int  #: sum of its samples' durations, same timescale
    sync: bool  #: the first sample is a sync (IDR) sample
    data: bytes


def iter_boxes(
    data: bytes, start: int = 0, end: int | None = None
) -> Iterator[tuple[str, int, int]]:
    """(type, payload start, box end) of each box in ``data[start:end]``."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, raw = _HEADER.unpack_from(data, pos)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield raw.decode("latin-1"), pos + header, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: str) -> tuple[int, int] | None:
    for name, body, box_end in iter_boxes(data, start, end):
        if name == kind:
            return body, box_end
    return None


def parse_init(init: bytes) -> dict[int, Track]:
    """The tracks of an init segment (``ftyp`` + ``moov``), by track id."""
    moov = next((b for b in iter_boxes(init) if b[0] == "moov"), None)
    if moov is None:
        raise ValueError("no moov box")
    tracks: dict[int, Track] = {}
    defaults: dict[int, tuple[int, int]] = {}
    for name, body, end in iter_boxes(init, moov[1], moov[2]):
        if name == "mvex":
            for sub, sbody, _send in iter_boxes(init, body, end):
                if sub == "trex":
                    track_id, _desc, duration, _size, flags = struct.unpack_from(
                        ">IIIII", init, sbody + 4
                    )
                    defaults[track_id] = (duration, flags)
        if name != "trak":
            continue
        tkhd = _child(init, body, end, "tkhd")
        mdia = _child(init, body, end, "mdia")
        if tkhd is None or mdia is None:
            continue
        version = init[tkhd[0]]
        track_id = struct.unpack_from(">I", init, tkhd[0] + (20 if version == 1 else 12))[0]
        mdhd = _child(init, mdia[0], mdia[1], "mdhd")
        hdlr = _child(init, mdia[0], mdia[1], "hdlr")
        if mdhd is None or hdlr is None:
            continue
        mversion = init[mdhd[0]]
        timescale = struct.unpack_from(">I", init, mdhd[0] + (20 if mversion == 1 else 12))[0]
        handler = init[hdlr[0] + 8 : hdlr[0] + 12].decode("latin-1")
        kind = {"vide": "video", "soun": "audio"}.get(handler, handler)
        tracks[track_id] = Track(track_id=track_id, kind=kind, timescale=timescale)
    for track_id, (duration, flags) in defaults.items():
        if track_id in tracks:
            track = tracks[track_id]
            tracks[track_id] = Track(track.track_id, track.kind, track.timescale, duration, flags)
    return tracks


def avc_codec(init: bytes) -> str:
    """The RFC 6381 codec string of the H.264 track (``avc1.PPCCLL``) from its ``avcC``."""
    at = init.find(b"avcC")
    if at < 0:
        return "avc1.64001f"
    profile, compat, level = init[at + 5], init[at + 6], init[at + 7]
    return f"avc1.{profile:02x}{compat:02x}{level:02x}"


def _traf_info(
    moof: bytes, body: int, end: int, tracks: dict[int, Track]
) -> tuple[int, int, int, bool]:
    """(track id, base decode time, summed duration, first sample is sync) of a ``traf``."""
    tfhd = _child(moof, body, end, "tfhd")
    if tfhd is None:
        raise ValueError("traf without tfhd")
    flags = int.from_bytes(moof[tfhd[0] + 1 : tfhd[0] + 4], "big")
    track_id = struct.unpack_from(">I", moof, tfhd[0] + 4)[0]
    track = tracks.get(track_id) or Track(track_id, "unknown", 90000)
    pos = tfhd[0] + 8
    if flags & 0x01:
        pos += 8  # base data offset
    if flags & 0x02:
        pos += 4  # sample description index
    default_duration, default_flags = track.default_duration, track.default_flags
    if flags & 0x08:
        default_duration = struct.unpack_from(">I", moof, pos)[0]
        pos += 4
    if flags & 0x10:
        pos += 4  # default sample size
    if flags & 0x20:
        default_flags = struct.unpack_from(">I", moof, pos)[0]
    base_time = 0
    tfdt = _child(moof, body, end, "tfdt")
    if tfdt is not None:
        if moof[tfdt[0]] == 1:
            base_time = struct.unpack_from(">Q", moof, tfdt[0] + 4)[0]
        else:
            base_time = struct.unpack_from(">I", moof, tfdt[0] + 4)[0]
    duration, first_flags = 0, default_flags
    trun = _child(moof, body, end, "trun")
    if trun is not None:
        tflags = int.from_bytes(moof[trun[0] + 1 : trun[0] + 4], "big")
        count = struct.unpack_from(">I", moof, trun[0] + 4)[0]
        pos = trun[0] + 8
        if tflags & 0x01:
            pos += 4  # data offset
        if tflags & 0x04:
            first_flags = struct.unpack_from(">I", moof, pos)[0]
            pos += 4
        for i in range(count):
            if tflags & 0x100:
                duration += struct.unpack_from(">I", moof, pos)[0]
                pos += 4
            else:
                duration += default_duration
            if tflags & 0x200:
                pos += 4
            if tflags & 0x400:
                if i == 0 and not tflags & 0x04:
                    first_flags = struct.unpack_from(">I", moof, pos)[0]
                pos += 4
            if tflags & 0x800:
                pos += 4
    return track_id, base_time, duration, not first_flags & _NON_SYNC


def fragment_info(moof: bytes, tracks: dict[int, Track], data: bytes) -> Fragment:
    """Track, decode time, duration and sync flag of a ``moof``.

    A ``moof`` may carry a ``traf`` per track; the video one, when present, describes it.
    """
    trafs = [
        _traf_info(moof, body, end, tracks)
        for name, body, end in iter_boxes(moof, 8, len(moof))
        if name == "traf"
    ]
    if not trafs:
        raise ValueError("moof without traf")
    video = [t for t in trafs if tracks.get(t[0]) and tracks[t[0]].kind == "video"]
    track_id, base_time, duration, sync = (video or trafs)[0]
    return Fragment(track_id=track_id, base_time=base_time, duration=duration, sync=sync, data=data)


@dataclass(frozen=True)
class Sample:
    data: bytes
    duration: int  #: in the track's timescale
    sync: bool
    composition_offset: int = 0


@dataclass(frozen=True)
class TrackRun:
    """The samples of one track inside a fragment, from ``base_time`` (track timescale)."""

    track_id: int
    base_time: int
    samples: list[Sample]


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags), *payload)


def build_fragment(sequence: int, runs: list[TrackRun]) -> bytes:
    """One ``moof`` (a ``traf`` per non-empty track run) and its ``mdat``."""
    runs = [run for run in runs if run.samples]

    def moof(offsets: list[int]) -> bytes:
        trafs = []
        for run, offset in zip(runs, offsets, strict=True):
            entries = b"".join(
                _SAMPLE.pack(
                    s.duration,
                    len(s.data),
                    SYNC_FLAGS if s.sync else NON_SYNC_FLAGS,
                    s.composition_offset,
                )
                for s in run.samples
            )
            trafs.append(
                _box(
                    b"traf",
                    _full_box(b"tfhd", 0, 0x020000, struct.pack(">I", run.track_id)),
                    _full_box(b"tfdt", 1, 0, struct.pack(">Q", run.base_time)),
                    _full_box(
                        b"trun",
                        1,
                        _TRUN_FLAGS,
                        struct.pack(">Ii", len(run.samples), offset),
                        entries,
                    ),
                )
            )
        return _box(b"moof", _full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)), *trafs)

    sizes = [sum(len(s.data) for s in run.samples) for run in runs]
    head = len(moof([0] * len(runs))) + 8  # the offsets do not change the moof's size
    offsets = [head + sum(sizes[:i]) for i in range(len(runs))]
    mdat = _box(b"mdat", *(s.data for run in runs for s in run.samples))
    return moof(offsets) + mdat


def annexb_to_avcc(data: bytes) -> bytes:
    """H.264 from start-code framing (what x264 emits) to 4-byte length prefixes (mp4)."""
    starts: list[tuple[int, int]] = []  # (start code position, payload position)
    at = data.find(b"\x00\x00\x01")
    while at >= 0:
        begin = at - 1 if at > 0 and data[at - 1] == 0 else at
        starts.append((begin, at + 3))
        at = data.find(b"\x00\x00\x01", at + 3)
    if not starts:
        return data  # already length-prefixed
    out = bytearray()
    for k, (_begin, payload) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(data)
        out += struct.pack(">I", end - payload) + data[payload:end]
    return bytes(out)


class BoxSplitter:
    """Accumulates muxer output; yields the init segment once, then whole fragments."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._moof: bytes | None = None
        self._init = bytearray()
        self.init: bytes | None = None
        self.tracks: dict[int, Track] = {}

    def feed(self, chunk: bytes) -> Iterator[Fragment]:
        self._buffer += chunk
        while len(self._buffer) >= 8:
            size, raw = _HEADER.unpack_from(self._buffer, 0)
            if size == 1:
                if len(self._buffer) < 16:
                    return
                size = struct.unpack_from(">Q", self._buffer, 8)[0]
            if size < 8 or len(self._buffer) < size:
                return
            box = bytes(self._buffer[:size])
            del self._buffer[:size]
            kind = raw.decode("latin-1")
            if self.init is None:
                self._init += box
                if kind == "moov":
                    self.init = bytes(self._init)
                    self.tracks = parse_init(self.init)
            elif kind == "moof":
                self._moof = box
            elif kind == "mdat" and self._moof is not None:
                moof, self._moof = self._moof, None
                yield fragment_info(moof, self.tracks, moof + box)
            # anything else (mfra, free, sidx) carries nothing a player needs here


def split_fragments(init: bytes, data: bytes) -> list[Fragment]:
    """The fragments of a finished segment file (used when rebuilding a recording)."""
    tracks = parse_init(init)
    out: list[Fragment] = []
    moof: tuple[int, int] | None = None
    for name, body, end in iter_boxes(data):
        start = body - 8
        if name == "moof":
            moof = (start, end)
        elif name == "mdat" and moof is not None:
            out.append(fragment_info(data[moof[0] : moof[1]], tracks, data[moof[0] : end]))
            moof = None
    return out
