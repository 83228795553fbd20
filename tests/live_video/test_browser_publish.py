"""A browser tab publishes its camera by WHIP; another tab plays the LL-HLS with hls.js.

Headless Debian Chromium (no download) with a fake camera and microphone: the host's
studio page (the real one, signed in) calls getUserMedia and publishes by WHIP to the
media worker process; a viewer tab loads hls.js in low-latency mode on the show's
multivariant playlist and must play: ``currentTime`` advances and the playlist's media
sequence and parts move on. hls.js's own live-latency estimate is reported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from live.video.models import PublisherSession, Stream
from live.video.states import SessionStatus

CHROMIUM = os.environ.get("LIVEHUB_CHROMIUM", "/usr/bin/chromium")
HLS_JS = Path(settings.BASE_DIR) / "frontend_pwa/node_modules/hls.js/dist/hls.min.js"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    # host ICE candidates as IP addresses, not mDNS names, so aiortc can reach them
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


@pytest.fixture
def chromium() -> Iterator[Any]:
    missing = "" if Path(CHROMIUM).exists() or shutil.which("chromium") else CHROMIUM
    missing = missing or ("" if HLS_JS.exists() else str(HLS_JS))
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} missing")
        pytest.skip(f"{missing} missing")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop in this thread
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


PLAYER = """async (url) => {
  const video = document.createElement("video");
  video.muted = true;
  document.body.appendChild(video);
  const hls = new Hls({lowLatencyMode: true});
  window.player = {video, hls, errors: [], loads: []};
  hls.on(Hls.Events.ERROR, (_e, data) => {
    if (data.fatal) window.player.errors.push(data.details);
  });
  // each media playlist load: its URL (delivery directives), whether it was a delta
  // update (skipped segments) and whether hls.js could merge it into its copy
  hls.on(Hls.Events.LEVEL_LOADED, (_e, data) => {
    window.player.loads.push({url: data.networkDetails?.responseURL ?? "",
      skipped: data.details.skippedSegments, failed: !!data.details.deltaUpdateFailed});
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  video.play().catch(() => {});
}"""


def test_a_browser_publishes_by_whip_and_another_plays_ll_hls(
    chromium: Any, live_server: LiveServer, media_worker: subprocess.Popen[bytes], stream: Stream
) -> None:
    host = Client()
    host.force_login(stream.show.host)
    context = chromium.new_context()
    context.add_cookies(
        [{"name": "sessionid", "value": host.cookies["sessionid"].value, "url": live_server.url}]
    )
    studio = context.new_page()
    studio.goto(f"{live_server.url}/api/live/video/shows/{stream.show.code}/studio")
    studio.click("#start")
    studio.wait_for_function(
        "() => document.getElementById('stop').disabled === false", timeout=30_000
    )

    session = PublisherSession.objects.get(stream=stream)
    deadline = time.monotonic() + 30
    while session.status != SessionStatus.LIVE and time.monotonic() < deadline:
        time.sleep(0.2)
        session.refresh_from_db()
    assert session.status == SessionStatus.LIVE
    playback = Client().get(f"/api/live/video/shows/{stream.show.code}").json()["live"]
    deadline = time.monotonic() + 30
    while playback["playlist_url"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
        playback = Client().get(f"/api/live/video/shows/{stream.show.code}").json()["live"]
    assert playback["playlist_url"].endswith("/live.m3u8")

    viewer = chromium.new_context().new_page()
    viewer.goto(f"{live_server.url}/healthz")
    viewer.add_script_tag(path=str(HLS_JS))
    viewer.evaluate(PLAYER, live_server.url + playback["playlist_url"])
    viewer.wait_for_function("() => window.player.video.currentTime > 2", timeout=45_000)
    state = viewer.evaluate(
        """() => ({time: window.player.video.currentTime, errors: window.player.errors,
                   latency: window.player.hls.latency, target: window.player.hls.targetLatency,
                   low: window.player.hls.lowLatencyMode, width: window.player.video.videoWidth,
                   parts: window.player.hls.levels[window.player.hls.currentLevel]
                          ?.details?.partList?.length ?? 0})"""
    )
    media = playback["playlist_url"].replace("live.m3u8", "v0/live.m3u8")
    fetch = "(url) => fetch(url).then((r) => r.text())"  # (an async view: fetch, not Client)
    first = viewer.evaluate(fetch, media)
    time.sleep(2)
    later = viewer.evaluate("() => window.player.video.currentTime")
    second = viewer.evaluate(fetch, media)
    # Once the playlist is longer than the Skip Boundary (6 s), hls.js reloads it as
    # delta updates (_HLS_skip, advertised by CAN-SKIP-UNTIL) and merges them.
    viewer.wait_for_function(
        "() => window.player.loads.some((load) => load.skipped > 0)", timeout=45_000
    )
    deltas_at = viewer.evaluate("() => window.player.video.currentTime")
    time.sleep(2)
    player = viewer.evaluate(
        "() => ({time: window.player.video.currentTime, loads: window.player.loads,"
        " errors: window.player.errors})"
    )

    studio.click("#stop")
    session.refresh_from_db()
    deadline = time.monotonic() + 15
    while session.segment_count == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        session.refresh_from_db()
    context.close()

    print(f"hls.js in the browser: {state}")
    assert state["errors"] == []
    assert state["low"] is True and state["parts"] > 0
    assert state["width"] > 0
    assert later > state["time"] + 1.0  # it keeps playing
    assert first != second and "#EXT-X-PART:" in second  # the playlist advances
    deltas = [load for load in player["loads"] if load["skipped"] > 0]
    print(f"hls.js playlist loads: {len(player['loads'])}, delta updates: {len(deltas)}")
    assert all("_HLS_skip=v2" in load["url"] for load in deltas)  # CAN-SKIP-DATERANGES
    assert not any(load["failed"] for load in player["loads"])  # every delta merged
    assert player["errors"] == []
    assert player["time"] > deltas_at + 1.0  # still playing on delta updates
    assert state["latency"] < 6.0  # hls.js's own estimate, on a shared, loaded machine
    assert (session.status, session.end_reason) == (SessionStatus.ENDED, "deleted")
    assert session.segment_count >= 2
