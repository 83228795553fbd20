"""LL-HLS Playlist Delta Updates (RFC 8216bis §6.2.5.1), made from the live playlist.

The media worker writes one ``live.m3u8`` per rendition and advertises
``CAN-SKIP-UNTIL`` (the Skip Boundary, six target durations) in it. A player that holds
a recent copy reloads it with ``_HLS_skip=YES`` (or ``v2``): the web process answers
with the same playlist in which every segment further than the Skip Boundary from the
end of the last segment, with its tags, is replaced by one
``#EXT-X-SKIP:SKIPPED-SEGMENTS=N``. ``EXT-X-MEDIA-SEQUENCE`` keeps its value (the first
skipped segment's number), so the player merges the rest into its copy by number. Tags
that are not a skipped segment's own (a later segment's ``EXT-X-MAP``, date ranges) stay.

The playlists carry no ``EXT-X-DATERANGE``, so ``v2`` (also skip old date ranges) is the
same delta with an empty ``RECENTLY-REMOVED-DATERANGES``. A playlist that does not
advertise ``CAN-SKIP-UNTIL`` or has ended is served whole (the spec says to ignore the
directive then). A delta is a pure function of the playlist bytes, cached per version
of the file, so every player waiting on one playlist shares one rendering.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from functools import lru_cache


class Skip(enum.Enum):
    """Values of the ``_HLS_skip`` delivery directive."""

    YES = "YES"  #: skip old media segments
    V2 = "v2"  #: also skip old date ranges (needs ``CAN-SKIP-DATERANGES=YES``)


#: the compatibility version a delta declares at least (§8: EXT-X-SKIP 9; one that may
#: replace date ranges 10)
_DELTA_VERSION = {Skip.YES: 9, Skip.V2: 10}
_SKIP_UNTIL = re.compile(r"^#EXT-X-SERVER-CONTROL:.*\bCAN-SKIP-UNTIL=([0-9.]+)")
_VERSION = re.compile(r"^#EXT-X-VERSION:(\d+)$")
#: tags that belong to one media segment (or one of its parts): replaced with it
_SEGMENT_TAGS = (
    "#EXTINF:",
    "#EXT-X-PROGRAM-DATE-TIME:",
    "#EXT-X-PART:",
    "#EXT-X-BYTERANGE:",
    "#EXT-X-DISCONTINUITY",
    "#EXT-X-GAP",
    "#EXT-X-BITRATE:",
)
#: tags that apply to every later segment: the last skipped one is kept
_STICKY_TAGS = ("#EXT-X-MAP:", "#EXT-X-KEY:")


class SkipInvalid(ValueError):
    """A malformed ``_HLS_skip`` value (answered with 400)."""


def skip_directive(raw: str | None) -> Skip | None:
    """Parse ``_HLS_skip``: ``YES``, ``v2`` or absent (case matters, per the spec)."""
    if raw is None:
        return None
    try:
        return Skip(raw)
    except ValueError as exc:
        raise SkipInvalid("_HLS_skip must be YES or v2") from exc


@dataclass
class _Segment:
    lines: list[str] = field(default_factory=list)
    duration: float = 0.0


def _split(lines: list[str]) -> tuple[list[str], list[_Segment], list[str]]:
    """(header, complete segments, tail: the open segment's parts and the hint)."""
    header: list[str] = []
    segments: list[_Segment] = []
    current = _Segment()
    started = False
    for line in lines:
        if not started and not (line.startswith(_SEGMENT_TAGS) or _is_uri(line)):
            header.append(line)
            continue
        started = True
        current.lines.append(line)
        if line.startswith("#EXTINF:"):
            current.duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif _is_uri(line):
            segments.append(current)
            current = _Segment()
    return header, segments, current.lines


def _is_uri(line: str) -> bool:
    return bool(line) and not line.startswith("#")


def _skipped_count(segments: list[_Segment], skip_until: float) -> int:
    """Segments that end at least ``skip_until`` before the end of the last one."""
    remaining = sum(s.duration for s in segments)
    count = 0
    for segment in segments:
        remaining -= segment.duration
        if remaining < skip_until - 1e-6:
            break
        count += 1
    return count


@lru_cache(maxsize=64)
def playlist_delta(body: bytes, skip: Skip) -> bytes | None:
    """The Playlist Delta Update of a live media playlist; ``None``: serve it whole.

    ``None`` when the playlist does not offer deltas (no ``CAN-SKIP-UNTIL``) or has
    ended (``#EXT-X-ENDLIST``). Otherwise the playlist with its old segments replaced by
    ``#EXT-X-SKIP`` (``SKIPPED-SEGMENTS=0`` when none is old enough: a delta all the
    same, as the spec asks), at compatibility version 9 (10 for ``v2``).
    """
    text = body.decode()
    lines = text.splitlines()
    skip_until = next((float(m.group(1)) for m in map(_SKIP_UNTIL.match, lines) if m), None)
    if skip_until is None or "#EXT-X-ENDLIST" in lines:
        return None
    header, segments, tail = _split(lines)
    count = _skipped_count(segments, skip_until)
    tag = f"#EXT-X-SKIP:SKIPPED-SEGMENTS={count}"
    if skip is Skip.V2:
        tag += ',RECENTLY-REMOVED-DATERANGES=""'
    kept: list[str] = []  # tags among the skipped lines that are not theirs alone
    sticky: dict[str, str] = {}
    for segment in segments[:count]:
        for line in segment.lines:
            if line.startswith(_STICKY_TAGS):
                sticky[line.split(":", 1)[0]] = line
            elif not (line.startswith(_SEGMENT_TAGS) or _is_uri(line)):
                kept.append(line)
    out = [_versioned(line, _DELTA_VERSION[skip]) for line in header]
    if not any(_VERSION.match(line) for line in header):
        out.insert(1, f"#EXT-X-VERSION:{_DELTA_VERSION[skip]}")
    out += [tag, *sticky.values(), *kept]
    for segment in segments[count:]:
        out += segment.lines
    out += tail
    return ("\n".join(out) + "\n").encode()


def _versioned(line: str, minimum: int) -> str:
    match = _VERSION.match(line)
    if match is None or int(match.group(1)) >= minimum:
        return line
    return f"#EXT-X-VERSION:{minimum}"
