"""LL-HLS delivery directives: blocking playlist reloads and hinted parts, held on the loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from live.video import blocking

HEAD = (
    "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n"
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.101\n"
    "#EXT-X-PART-INF:PART-TARGET=0.367\n#EXT-X-MEDIA-SEQUENCE:0\n"
    '#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI="init.mp4"\n'
)
SEGMENT0 = (
    '#EXT-X-PART:DURATION=0.33333,URI="part00000.0.m4s",INDEPENDENT=YES\n'
    '#EXT-X-PART:DURATION=0.33333,URI="part00000.1.m4s"\n'
    '#EXT-X-PART:DURATION=0.33333,URI="part00000.2.m4s"\n'
    "#EXTINF:1.00000,\nseg00000.m4s\n"
)


def _playlist(parts_of_1: int, *, ended: bool = False) -> str:
    text = HEAD + SEGMENT0
    for i in range(parts_of_1):
        independent = ",INDEPENDENT=YES" if i == 0 else ""
        text += f'#EXT-X-PART:DURATION=0.33333,URI="part00001.{i}.m4s"{independent}\n'
    if ended:
        return text + "#EXT-X-ENDLIST\n"
    return text + f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part00001.{parts_of_1}.m4s"\n'


@pytest.fixture
def rendition(db: None, media_dirs: Path) -> Iterator[Path]:
    path = Path(settings.MEDIA_ROOT) / "live-video" / "MEDIAid01" / "SESSIONid01" / "v0"
    path.mkdir(parents=True)
    (path / "live.m3u8").write_text(_playlist(1))
    yield path


BASE = "/api/live/video/hls/MEDIAid01/SESSIONid01/v0/"


def _later(seconds: float, *writes: tuple[Path, str]) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        for path, text in writes:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text)
            tmp.replace(path)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_blocking_reload_is_held_until_the_part_is_listed(rendition: Path) -> None:
    client = Client()
    assert client.get(BASE + "live.m3u8").status_code == 200  # warm: imports, URL conf
    writer = _later(0.4, (rendition / "live.m3u8", _playlist(2)))
    started = time.monotonic()
    response = client.get(BASE + "live.m3u8?_HLS_msn=1&_HLS_part=1")
    waited = time.monotonic() - started
    writer.join()
    assert response.status_code == 200
    assert 'URI="part00001.1.m4s"' in response.content.decode()
    assert 0.35 <= waited < 2.9  # the part came, not the 3 s cap
    assert response["Cache-Control"] == "public, max-age=6"
    assert response["Access-Control-Allow-Origin"] == "*"


def test_a_reload_the_playlist_already_satisfies_answers_at_once(rendition: Path) -> None:
    client = Client()
    assert client.get(BASE + "live.m3u8").status_code == 200  # warm: imports, URL conf
    started = time.monotonic()
    response = client.get(BASE + "live.m3u8?_HLS_msn=0")
    assert response.status_code == 200
    assert time.monotonic() - started < 1.0
    assert response.content.decode() == _playlist(1)


def test_a_part_that_never_comes_gets_503_after_three_target_durations(rendition: Path) -> None:
    client = Client()
    assert client.get(BASE + "live.m3u8").status_code == 200  # warm: imports, URL conf
    started = time.monotonic()
    response = client.get(BASE + "live.m3u8?_HLS_msn=1&_HLS_part=2")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "part_not_ready"
    assert 2.9 <= time.monotonic() - started < 6.0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?_HLS_part=1", "_HLS_part needs _HLS_msn"),
        ("?_HLS_msn=-1", "_HLS_msn must be a non-negative integer"),
        ("?_HLS_msn=1&_HLS_part=x", "_HLS_part must be a non-negative integer"),
        ("?_HLS_msn=4", "_HLS_msn is more than two segments ahead of the playlist"),
    ],
)
def test_bad_delivery_directives_are_400(rendition: Path, query: str, message: str) -> None:
    response = Client().get(BASE + "live.m3u8" + query)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message


def test_an_ended_playlist_answers_any_directive_at_once(rendition: Path) -> None:
    (rendition / "live.m3u8").write_text(_playlist(1, ended=True))
    response = Client().get(BASE + "live.m3u8?_HLS_msn=2&_HLS_part=0")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=86400"


def test_a_hinted_part_is_held_until_written(rendition: Path) -> None:
    writer = _later(
        0.3,
        (rendition / "part00001.1.m4s", "fragment"),
        (rendition / "live.m3u8", _playlist(2)),
    )
    response = Client().get(BASE + "part00001.1.m4s")
    writer.join()
    assert response.status_code == 200
    assert response.content == b"fragment"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    # a part far ahead of the playlist, or of an ended one, is not held
    assert Client().get(BASE + "part00009.0.m4s").status_code == 404
    (rendition / "live.m3u8").write_text(_playlist(2, ended=True))
    assert Client().get(BASE + "part00001.2.m4s").status_code == 404


def test_waiters_on_one_playlist_share_one_watcher(tmp_path: Path) -> None:
    path = tmp_path / "live.m3u8"
    path.write_text(_playlist(1))

    async def scenario() -> tuple[list[bool], int]:
        waits = [
            asyncio.ensure_future(blocking.playlist_wait(path, msn=1, part=1, timeout=3))
            for _ in range(200)
        ]
        await asyncio.sleep(0.1)
        watchers = len(blocking._watches[asyncio.get_running_loop()])
        tmp = tmp_path / ".tmp"
        tmp.write_text(_playlist(2))
        tmp.replace(path)
        states = await asyncio.gather(*waits)
        return [s is not None and s.parts == 2 for s in states], watchers

    answered, watchers = asyncio.run(scenario())
    assert answered == [True] * 200
    assert watchers == 1
