"""LL-HLS Playlist Delta Updates: ``_HLS_skip`` on the live playlists the worker writes.

The playlists are written by the worker's real ``MediaPlaylist`` (parts of placeholder
bytes: nothing here parses media), then read through the HLS view. ffprobe cannot read a
delta update, so each one is checked line by line, and merged the way a player merges
it into its previous copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from live.video.worker.playlists import LowLatency, MediaPlaylist

BASE = "/api/live/video/hls/MEDIAid01/SESSIONid01/"
PLAYLIST = BASE + "v0/live.m3u8"
STARTED = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def playlist(db: None, media_dirs: Path) -> MediaPlaylist:
    out = Path(settings.MEDIA_ROOT) / "live-video" / "MEDIAid01" / "SESSIONid01" / "v0"
    media = MediaPlaylist(out, low_latency=LowLatency(1.0, 3), started_at=STARTED)
    media.write_init(b"init")
    return media


def _publish(media: MediaPlaylist, segments: int, *, open_parts: int = 1) -> None:
    """``segments`` whole 1 s segments of 3 parts, then ``open_parts`` of the next."""
    start = sum(s.duration for s in media.segments)
    for i in range(segments * 3 + open_parts):
        media.add_part(b"part", start=start + i / 3, duration=1 / 3, next_starts_segment=i % 3 == 2)


def _get(query: str = "", url: str = PLAYLIST) -> str:
    response = Client().get(url + query)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    return response.content.decode()


def _segment_start(text: str, msn: int) -> int:
    """Offset of the first line (its program date time) of segment ``msn``."""
    return text.index(f"#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:{msn:02d}.000Z\n")


def test_the_live_playlist_advertises_delta_updates_of_six_target_durations(
    playlist: MediaPlaylist,
) -> None:
    _publish(playlist, 2)
    assert _get().splitlines()[:6] == [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        "#EXT-X-TARGETDURATION:1",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.0,"
        "CAN-SKIP-DATERANGES=YES,PART-HOLD-BACK=1.101",
        "#EXT-X-PART-INF:PART-TARGET=0.367",
        "#EXT-X-MEDIA-SEQUENCE:0",
    ]


def test_a_delta_update_replaces_the_segments_older_than_the_skip_boundary(
    playlist: MediaPlaylist,
) -> None:
    _publish(playlist, 34)  # the 30-segment window has slid: it starts at segment 4
    full = _get()
    delta = _get("?_HLS_skip=YES")

    # 30 segments of 1 s: the 24 that end 6 s or more before the last one's end go
    head = full[: _segment_start(full, 4)]
    assert head.endswith(
        '#EXT-X-MEDIA-SEQUENCE:4\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI="init.mp4"\n'
    )
    assert delta == (
        head.replace("#EXT-X-VERSION:6\n", "#EXT-X-VERSION:9\n")
        + "#EXT-X-SKIP:SKIPPED-SEGMENTS=24\n"
        + full[_segment_start(full, 28) :]
    )
    lines = delta.splitlines()
    assert [line for line in lines if not line.startswith("#")] == [
        f"seg{msn:05d}.m4s" for msn in range(28, 34)
    ]
    assert lines[-2:] == [
        '#EXT-X-PART:DURATION=0.33333,URI="part00034.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part00034.1.m4s"',
    ]
    assert len(delta) < len(full) / 2


def test_a_v2_delta_update_also_lists_no_recently_removed_date_ranges(
    playlist: MediaPlaylist,
) -> None:
    _publish(playlist, 10)
    full = _get()
    delta = _get("?_HLS_skip=v2")
    assert delta == (
        full[: _segment_start(full, 0)].replace("#EXT-X-VERSION:6\n", "#EXT-X-VERSION:10\n")
        + '#EXT-X-SKIP:SKIPPED-SEGMENTS=4,RECENTLY-REMOVED-DATERANGES=""\n'
        + full[_segment_start(full, 4) :]
    )


def test_a_player_merging_the_delta_into_its_copy_gets_the_full_playlist(
    playlist: MediaPlaylist,
) -> None:
    _publish(playlist, 33)
    previous = _segments(_get())
    _publish(playlist, 1)  # the open segment completes, one part of the next
    full = _get()
    delta = _get("?_HLS_msn=34&_HLS_part=0&_HLS_skip=YES")

    sequence, skipped, listed = _delta_parts(delta)
    merged = {msn: previous[msn] for msn in range(sequence, sequence + skipped)}
    merged.update(listed)
    assert (sequence, skipped) == (4, 24)
    assert merged == _segments(full)


def test_a_blocking_reload_with_skip_answers_a_delta_and_caches_it(
    playlist: MediaPlaylist,
) -> None:
    _publish(playlist, 12)
    response = Client().get(PLAYLIST + "?_HLS_msn=12&_HLS_part=0&_HLS_skip=YES")
    assert response.status_code == 200
    assert "#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n" in response.content.decode()
    assert response["Cache-Control"] == "public, max-age=6"


def test_a_short_playlist_answers_a_delta_that_skips_nothing(playlist: MediaPlaylist) -> None:
    _publish(playlist, 3)
    full = _get()
    assert _get("?_HLS_skip=YES") == (
        full[: _segment_start(full, 0)].replace("#EXT-X-VERSION:6\n", "#EXT-X-VERSION:9\n")
        + "#EXT-X-SKIP:SKIPPED-SEGMENTS=0\n"
        + full[_segment_start(full, 0) :]
    )


def test_skip_is_ignored_where_no_delta_is_offered(playlist: MediaPlaylist) -> None:
    _publish(playlist, 12)
    session = Path(settings.MEDIA_ROOT) / "live-video" / "MEDIAid01" / "SESSIONid01"
    (session / "live.m3u8").write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/live.m3u8\n")
    # the multivariant playlist and the EVENT index are served whole
    assert _get("?_HLS_skip=YES", BASE + "live.m3u8") == (session / "live.m3u8").read_text()
    index = _get("?_HLS_skip=v2", BASE + "v0/index.m3u8")
    assert index == (session / "v0/index.m3u8").read_text() and "EXT-X-SKIP" not in index
    # an ended playlist (no more CAN-SKIP-UNTIL, #EXT-X-ENDLIST) is served whole
    playlist.close()
    ended = _get("?_HLS_skip=YES")
    assert ended == (session / "v0/live.m3u8").read_text()
    assert ended.rstrip().endswith("#EXT-X-ENDLIST") and "EXT-X-SKIP" not in ended


@pytest.mark.parametrize("value", ["yes", "NO", "", "v3", "YES,v2"])
def test_a_bad_skip_value_is_400_with_a_message(playlist: MediaPlaylist, value: str) -> None:
    _publish(playlist, 2)
    response = Client().get(PLAYLIST + f"?_HLS_skip={value}")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad_delivery_directive",
        "message": "_HLS_skip must be YES or v2",
        "details": {},
    }


def _segments(text: str) -> dict[int, list[str]]:
    """Each complete segment's lines (without parts: they move on) by media sequence."""
    _sequence, skipped, listed = _delta_parts(text)
    assert skipped == 0
    return listed


def _delta_parts(text: str) -> tuple[int, int, dict[int, list[str]]]:
    """(media sequence, skipped segments, listed segments' lines without parts)."""
    sequence = skipped = 0
    segments: dict[int, list[str]] = {}
    lines: list[str] = []
    started = False
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":")[1])
        elif line.startswith("#EXT-X-SKIP:"):
            skipped = int(line.split("SKIPPED-SEGMENTS=")[1].split(",")[0])
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            started, lines = True, [line]
        elif started and line.startswith("#EXTINF:"):
            lines.append(line)
        elif started and not line.startswith("#"):
            segments[sequence + skipped + len(segments)] = [*lines, line]
    return sequence, skipped, segments
