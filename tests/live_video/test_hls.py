"""The live sliding-window playlist derived from the full (EVENT/VOD) playlist."""

from __future__ import annotations

from pathlib import Path

from live.video.worker.hls import playlist_stats, write_live_window


def _index(n: int, ended: bool) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-TARGETDURATION:1", "#EXT-X-MEDIA-SEQUENCE:0"]
    lines += ["#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for i in range(n):
        lines += [
            "#EXTINF:1.000000,",
            f"#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:{i:02d}.000+0000",
            f"seg{i:05d}.ts",
        ]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def test_the_live_playlist_keeps_the_last_six_segments_with_their_sequence(
    tmp_path: Path,
) -> None:
    (tmp_path / "index.m3u8").write_text(_index(9, ended=False))
    write_live_window(tmp_path)
    live = (tmp_path / "live.m3u8").read_text().splitlines()
    assert live[:5] == [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        "#EXT-X-TARGETDURATION:1",
        "#EXT-X-MEDIA-SEQUENCE:3",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    assert [line for line in live if line.endswith(".ts")] == [
        f"seg{i:05d}.ts" for i in range(3, 9)
    ]
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:03.000+0000" in live
    assert "#EXT-X-ENDLIST" not in live
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" not in live
    assert playlist_stats(tmp_path / "live.m3u8") == (6, 6.0)


def test_a_short_or_finished_show_lists_everything_and_ends(tmp_path: Path) -> None:
    (tmp_path / "index.m3u8").write_text(_index(2, ended=True))
    write_live_window(tmp_path)
    live = (tmp_path / "live.m3u8").read_text().splitlines()
    assert "#EXT-X-MEDIA-SEQUENCE:0" in live
    assert live[-1] == "#EXT-X-ENDLIST"
    assert playlist_stats(tmp_path / "live.m3u8") == (2, 2.0)
