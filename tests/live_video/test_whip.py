"""WHIP edges without media: auth, conflicts, CORS, validation, HLS file serving."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from hub.kernel.models import AuditEvent
from live.video.models import PublisherSession, Stream
from live.video.services.sessions import publisher_session_open
from live.video.states import SessionStatus

OFFER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\n"
    "a=sendonly\r\n"
)


def _url(stream: Stream) -> str:
    return f"/api/live/video/whip/shows/{stream.show.code}"


def _post(
    client: Client, url: str, key: str | None, body: str = OFFER, ctype: str = "application/sdp"
) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return client.post(url, data=body, content_type=ctype, headers=headers)


def test_whip_refuses_a_missing_key_with_401_and_opens_nothing(stream: Stream) -> None:
    response = _post(Client(), _url(stream), None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="whip"'
    assert response.json()["error"]["code"] == "stream_key_invalid"
    assert PublisherSession.objects.count() == 0


def test_whip_refuses_a_wrong_key_with_401_and_opens_nothing(stream: Stream) -> None:
    response = _post(Client(), _url(stream), stream.key + "x")
    assert response.status_code == 401
    assert PublisherSession.objects.count() == 0


def test_whip_refuses_a_second_publisher_with_409(stream: Stream) -> None:
    first = publisher_session_open(show_code=stream.show.code, stream_key=stream.key)
    response = _post(Client(), _url(stream), stream.key)
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "publisher_busy",
        "message": "another publisher is live on this show",
        "details": {"session": first.public_id},
    }
    assert list(PublisherSession.objects.values_list("public_id", "status")) == [
        (first.public_id, SessionStatus.CONNECTING)
    ]


def test_a_session_whose_worker_stopped_heartbeating_frees_the_slot(stream: Stream) -> None:
    stale = publisher_session_open(show_code=stream.show.code, stream_key=stream.key)
    PublisherSession.objects.filter(pk=stale.pk).update(
        last_seen_at=timezone.now() - timedelta(minutes=1)
    )
    fresh = publisher_session_open(show_code=stream.show.code, stream_key=stream.key)
    stale.refresh_from_db()
    assert (stale.status, stale.end_reason) == (SessionStatus.FAILED, "worker_lost")
    assert fresh.status == SessionStatus.CONNECTING
    assert AuditEvent.objects.filter(kind="video.session_ended").count() == 1


def test_whip_without_a_media_worker_answers_503_and_frees_the_slot(
    stream: Stream, media_dirs: Path
) -> None:
    response = _post(Client(), _url(stream), stream.key)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "media_worker_unavailable"
    session = PublisherSession.objects.get()
    assert (session.status, session.end_reason) == (SessionStatus.FAILED, "worker_unavailable")


@pytest.mark.parametrize(
    ("body", "ctype", "status", "code"),
    [
        (OFFER, "application/json", 415, "unsupported_media_type"),
        ("hello", "application/sdp", 400, "offer_invalid"),
        (OFFER.replace("m=video", "m=audio"), "application/sdp", 400, "offer_invalid"),
        (OFFER.replace("VP8", "AV1"), "application/sdp", 400, "offer_invalid"),
    ],
)
def test_whip_rejects_bad_offers_before_claiming_the_slot(
    stream: Stream, body: str, ctype: str, status: int, code: str
) -> None:
    response = _post(Client(), _url(stream), stream.key, body=body, ctype=ctype)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert PublisherSession.objects.count() == 0


def test_whip_for_an_unknown_show_is_404(stream: Stream) -> None:
    response = _post(Client(), "/api/live/video/whip/shows/nope", stream.key)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_whip_preflight_lets_other_origins_publish_and_read_location(stream: Stream) -> None:
    response = Client().options(
        _url(stream),
        HTTP_ORIGIN="https://studio.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "Authorization, Content-Type, If-Match"
    assert "Location" in response["Access-Control-Expose-Headers"].split(", ")


def test_whip_session_delete_needs_the_stream_key(stream: Stream) -> None:
    session = publisher_session_open(show_code=stream.show.code, stream_key=stream.key)
    url = f"/api/live/video/whip/sessions/{session.public_id}"
    client = Client()
    assert client.delete(url, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    session.refresh_from_db()
    assert session.status == SessionStatus.CONNECTING
    assert client.patch(url, HTTP_AUTHORIZATION=f"Bearer {stream.key}").status_code == 405
    assert client.delete(url, HTTP_AUTHORIZATION=f"Bearer {stream.key}").status_code == 200
    session.refresh_from_db()
    assert (session.status, session.end_reason) == (SessionStatus.ENDED, "deleted")
    # DELETE is idempotent: ending an ended session changes nothing.
    assert client.delete(url, HTTP_AUTHORIZATION=f"Bearer {stream.key}").status_code == 200
    assert (
        client.delete(
            "/api/live/video/whip/sessions/nope", HTTP_AUTHORIZATION=f"Bearer {stream.key}"
        ).status_code
        == 404
    )


def test_hls_files_carry_cdn_cache_headers(stream: Stream, media_dirs: Path) -> None:
    out = Path(settings.MEDIA_ROOT) / "live-video" / stream.media_id / "SESSIONabcdef"
    out.mkdir(parents=True)
    (out / "index.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n")
    (out / "seg00000.ts").write_bytes(b"\x47" * 188)
    base = f"/api/live/video/hls/{stream.media_id}/SESSIONabcdef/"
    client = Client()
    live = client.get(base + "index.m3u8")
    assert (live.status_code, live["Cache-Control"]) == (200, "public, max-age=1")
    assert live["Content-Type"] == "application/vnd.apple.mpegurl"
    segment = client.get(base + "seg00000.ts")
    assert segment["Cache-Control"] == "public, max-age=31536000, immutable"
    (out / "index.m3u8").write_text("#EXTM3U\n#EXT-X-ENDLIST\n")
    assert client.get(base + "index.m3u8")["Cache-Control"] == "public, max-age=86400"
    for name in ("..%2F..%2Fsecret", "seg1.ts", "other.txt", "seg00001.ts"):
        assert client.get(base + name).status_code == 404


def test_the_host_console_shows_the_whip_url_and_stream_key(stream: Stream) -> None:
    client = Client()
    client.force_login(stream.show.host)
    response = client.get(f"/api/live/video/shows/{stream.show.code}/ingest")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    whip = f"http://testserver/api/live/video/whip/shows/{stream.show.code}"
    code = stream.show.code
    assert response.json() == {
        "whip_url": whip,
        "stream_key": stream.key,
        "obs": {"service": "WHIP", "server": whip, "bearer_token": stream.key},
        "studio_url": f"/api/live/video/shows/{code}/studio",
        "playback_url": f"/api/live/video/shows/{code}",
        "rotate_url": f"/api/live/video/shows/{code}/ingest/rotate",
        "keep_replays": False,
        "keep_replays_url": f"/api/live/video/shows/{code}/ingest/keep-replays",
    }


def test_the_host_rotates_the_stream_key_and_the_old_one_stops_working(stream: Stream) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(stream.show.host)
    url = f"/api/live/video/shows/{stream.show.code}/ingest/rotate"
    assert client.post(url).status_code == 403  # no CSRF token: nothing changes
    assert Stream.objects.get(pk=stream.pk).key == stream.key
    client.get(f"/api/live/video/shows/{stream.show.code}/ingest")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(url, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    new_key = response.json()["stream_key"]
    assert new_key != stream.key and Stream.objects.get(pk=stream.pk).key == new_key
    assert _post(Client(), _url(stream), stream.key).status_code == 401
    other = Client(enforce_csrf_checks=True)
    assert other.post(url).status_code == 403
    assert Stream.objects.get(pk=stream.pk).key == new_key


def test_the_host_keeps_the_shows_replays_forever_and_back(stream: Stream, shopper: Any) -> None:
    url = f"/api/live/video/shows/{stream.show.code}/ingest/keep-replays"
    host = Client()
    host.force_login(stream.show.host)
    keep = host.post(url, data={"keep": True}, content_type="application/json")
    assert (keep.status_code, keep.json()["keep_replays"]) == (200, True)
    assert host.post(url, data={"keep": True}, content_type="application/json").status_code == 200
    assert Stream.objects.get(pk=stream.pk).keep_replays is True
    for body in ("{", '{"keep": "yes"}', "[]", ""):
        refused = host.post(url, data=body, content_type="application/json")
        assert refused.status_code == 400, body
        assert refused.json()["error"]["code"] == "invalid_request"
    assert host.get(url).status_code == 405
    viewer = Client()
    viewer.force_login(shopper)
    assert (
        viewer.post(url, data={"keep": False}, content_type="application/json").status_code == 403
    )
    expire = host.post(url, data={"keep": False}, content_type="application/json")
    assert expire.json()["keep_replays"] is False
    kinds = AuditEvent.objects.filter(
        aggregate_type="live_video.stream", aggregate_id=str(stream.pk)
    )
    assert list(kinds.order_by("id").values_list("kind", flat=True))[-2:] == [
        "video.replays_kept",
        "video.replays_expire",
    ]


def test_only_the_host_sees_the_stream_key(stream: Stream, shopper: Any) -> None:
    client = Client()
    assert client.get(f"/api/live/video/shows/{stream.show.code}/ingest").status_code == 403
    client.force_login(shopper)
    response = client.get(f"/api/live/video/shows/{stream.show.code}/ingest")
    assert response.status_code == 403
    assert stream.key not in response.content.decode()


def test_whep_needs_a_live_show(stream: Stream) -> None:
    client = Client()
    client.force_login(stream.show.host)
    response = client.post(
        f"/api/live/video/whep/shows/{stream.show.code}", data=OFFER, content_type="application/sdp"
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "the show is not live"


def test_the_studio_page_publishes_by_whip_in_the_hosts_language(stream: Stream) -> None:
    client = Client()
    client.force_login(stream.show.host)
    url = f"/api/live/video/shows/{stream.show.code}/studio"
    page = client.get(url, headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "开始直播" in page
    assert f'"{stream.key}"' in page
    english = client.get(url, headers={"Accept-Language": "en"}).content.decode()
    assert "Start broadcast" in english
    client.logout()
    assert client.get(url).status_code == 403
