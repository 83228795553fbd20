"""HTTP edges of live video: WHIP ingest (RFC 9725), HLS files, playback info.

WHIP speaks ``application/sdp``, not JSON, and authenticates with the stream key as a
bearer token, so these are plain Django views (no session auth, no CSRF). Errors still
use the shared JSON error shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie

from hub.kernel.errors import DomainError, NotFound, error_body
from hub.kernel.ids import opaque_token
from live.video import selectors, transport
from live.video.blocking import playlist_state, playlist_wait
from live.video.delta import SkipInvalid, playlist_delta, skip_directive
from live.video.errors import (
    MediaWorkerUnavailable,
    OfferInvalid,
    RequestInvalid,
    SeatsFull,
    UnsupportedMediaType,
)
from live.video.sdp import OfferRejected, check_offer
from live.video.services.sessions import (
    publisher_session_attach,
    publisher_session_end,
    publisher_session_open,
)
from live.video.services.streams import stream_ensure, stream_keep_replays, stream_rotate_key
from live.video.worker.playlists import LIVE_PLAYLIST

SDP_TYPE = "application/sdp"
#: Time the web process waits for a media worker to answer an offer (ICE gathering).
OFFER_TIMEOUT_SECONDS = 15.0
MAX_OFFER_BYTES = 64 * 1024
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Location, Link, ETag",
}
#: the session directory: multivariant playlists, the poster (and TS segments of
#: recordings made before fMP4); a rendition directory ``v<n>/``: its LL-HLS files
_FILE_NAME = re.compile(
    r"^(?:(?:index|live)\.m3u8|poster\.jpg|seg\d{5}\.ts"
    r"|(?P<rendition>v\d/)(?:(?:index|live)\.m3u8|init\.mp4|seg\d{5,9}\.m4s"
    r"|(?P<part>part(?P<msn>\d{5,9})\.(?P<idx>\d{1,2})\.m4s)))$"
)
_OPAQUE = re.compile(r"^[A-Za-z0-9_-]{8,32}$")


def _cors(response: HttpResponse, methods: str) -> HttpResponse:
    for name, value in _CORS.items():
        response[name] = value
    response["Access-Control-Allow-Methods"] = methods
    response["Access-Control-Allow-Headers"] = "Authorization, Content-Type, If-Match"
    response["Access-Control-Max-Age"] = "600"
    return response


def _error(error: DomainError, methods: str) -> HttpResponse:
    response = JsonResponse(error_body(error), status=error.http_status)
    if error.http_status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="whip"'
    return _cors(response, methods)


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _domain_errors(methods: str) -> Callable[..., Any]:
    def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        def wrapped(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            if request.method == "OPTIONS":
                return _cors(HttpResponse(status=204), methods)
            try:
                return view(request, **kwargs)
            except DomainError as error:
                return _error(error, methods)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return csrf_exempt(wrapped)

    return wrap


@_domain_errors("POST, OPTIONS")
def whip_publish(request: HttpRequest, show_code: str) -> HttpResponse:
    """POST an SDP offer with the stream key → 201, the SDP answer and the session URL."""
    if request.method != "POST":
        return _cors(HttpResponse(status=405, headers={"Allow": "POST, OPTIONS"}), "POST, OPTIONS")
    offer = _read_offer(request)
    session = publisher_session_open(show_code=show_code, stream_key=_bearer(request))
    try:
        reply = transport.worker_request(
            {
                "op": "offer",
                "session": session.public_id,
                "media_dir": session.media_dir,
                "sdp": offer,
            },
            timeout=OFFER_TIMEOUT_SECONDS,
        )
    except MediaWorkerUnavailable:
        publisher_session_end(public_id=session.public_id, reason="worker_unavailable")
        raise
    if not reply.get("ok"):
        publisher_session_end(public_id=session.public_id, reason=str(reply.get("code")))
        if reply.get("code") == "offer_invalid":
            raise OfferInvalid(str(reply.get("message")))
        raise MediaWorkerUnavailable(str(reply.get("message", "media worker error")))
    publisher_session_attach(public_id=session.public_id, worker_id=str(reply["worker"]))
    location = reverse("live_video:whip-session", kwargs={"session_id": session.public_id})
    response = HttpResponse(reply["sdp"], status=201, content_type=SDP_TYPE)
    response["Location"] = location
    response["ETag"] = f'"{session.public_id}"'
    return _cors(response, "POST, OPTIONS")


@_domain_errors("DELETE, PATCH, OPTIONS")
def whip_session(request: HttpRequest, session_id: str) -> HttpResponse:
    """DELETE ends the publication; PATCH (trickle ICE) is not supported (405)."""
    methods = "DELETE, PATCH, OPTIONS"
    if request.method == "PATCH":
        # RFC 9725 §4.3.1: a server without trickle ICE answers PATCH with 405.
        return _cors(HttpResponse(status=405, headers={"Allow": "DELETE, OPTIONS"}), methods)
    if request.method != "DELETE":
        return _cors(HttpResponse(status=405, headers={"Allow": "DELETE, OPTIONS"}), methods)
    session = selectors.session_for_key(public_id=session_id, stream_key=_bearer(request))
    if session.worker_id and session.status in ("connecting", "live"):
        # A worker that is gone cannot stop anything: the session ends here instead.
        with contextlib.suppress(MediaWorkerUnavailable):
            transport.worker_request(
                {"op": "stop", "session": session.public_id, "reason": "deleted"},
                timeout=10.0,
                worker_id=session.worker_id,
            )
    publisher_session_end(public_id=session.public_id, reason="deleted")
    return _cors(HttpResponse(status=200), methods)


def _read_offer(request: HttpRequest) -> str:
    if request.content_type != SDP_TYPE:
        raise UnsupportedMediaType(f"the offer must be sent as {SDP_TYPE}")
    if len(request.body) > MAX_OFFER_BYTES:
        raise OfferInvalid("the offer is too large")
    try:
        offer = request.body.decode()
        check_offer(offer)
    except UnicodeDecodeError as exc:
        raise OfferInvalid("the offer is not UTF-8 text") from exc
    except OfferRejected as exc:
        raise OfferInvalid(str(exc)) from exc
    return offer


@_domain_errors("POST, OPTIONS")
def whep_seat(request: HttpRequest, show_code: str) -> HttpResponse:
    """WHEP: a host or moderator (signed in) takes a low-latency WebRTC seat.

    Each seat costs the media worker one encode, so seats are capped per show
    (``LIVEHUB_VIDEO_WHEP_SEATS``); everyone else watches HLS.
    """
    methods = "POST, OPTIONS"
    if request.method != "POST":
        return _cors(HttpResponse(status=405, headers={"Allow": methods}), methods)
    session = selectors.live_session_for_seat(show_code=show_code, user=request.user)
    offer = _read_offer(request)
    seat = opaque_token(12)
    reply = transport.worker_request(
        {"op": "whep", "session": session.public_id, "seat": seat, "sdp": offer},
        timeout=OFFER_TIMEOUT_SECONDS,
        worker_id=session.worker_id,
    )
    if not reply.get("ok"):
        code, message = reply.get("code"), str(reply.get("message"))
        if code == "seats_full":
            raise SeatsFull(message, cap=reply.get("cap"))
        if code == "offer_invalid":
            raise OfferInvalid(message)
        raise MediaWorkerUnavailable(message)
    response = HttpResponse(reply["sdp"], status=201, content_type=SDP_TYPE)
    response["Location"] = reverse(
        "live_video:whep-seat-session", kwargs={"session_id": session.public_id, "seat": seat}
    )
    return _cors(response, methods)


@_domain_errors("DELETE, OPTIONS")
def whep_seat_session(request: HttpRequest, session_id: str, seat: str) -> HttpResponse:
    """DELETE gives the seat back."""
    methods = "DELETE, OPTIONS"
    if request.method != "DELETE":
        return _cors(HttpResponse(status=405, headers={"Allow": methods}), methods)
    session = selectors.session_by_id(public_id=session_id)
    selectors.live_session_for_seat(show_code=session.stream.show.code, user=request.user)
    transport.worker_request(
        {"op": "whep_stop", "session": session.public_id, "seat": seat},
        timeout=10.0,
        worker_id=session.worker_id,
    )
    return _cors(HttpResponse(status=200), methods)


@ensure_csrf_cookie
def show_ingest(request: HttpRequest, show_code: str) -> HttpResponse:
    """For the host console: the WHIP URL and stream key to paste into OBS (host only).

    Also sets the CSRF cookie the console needs to POST ``rotate_url``.
    """
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    try:
        show = selectors.ingest_info(show_code=show_code, user=request.user)
    except DomainError as error:
        return JsonResponse(error_body(error), status=error.http_status)
    return _ingest_response(request, show, stream_ensure(show=show))


def show_ingest_rotate(request: HttpRequest, show_code: str) -> HttpResponse:
    """POST: a new stream key (the old one gets 401 from now on); the host console's reset.

    Cookie-authenticated, so Django's CSRF check applies (send ``X-CSRFToken``).
    """
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    try:
        show = selectors.ingest_info(show_code=show_code, user=request.user)
    except DomainError as error:
        return JsonResponse(error_body(error), status=error.http_status)
    stream = stream_rotate_key(stream=stream_ensure(show=show), actor_id=request.user.pk)
    return _ingest_response(request, show, stream)


def show_keep_replays(request: HttpRequest, show_code: str) -> HttpResponse:
    """POST ``{"keep": true|false}``: keep the show's replays forever, or let them expire
    after ``LIVEHUB_VIDEO_RETENTION_DAYS`` (host only; CSRF as for ``rotate_url``)."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    try:
        show = selectors.ingest_info(show_code=show_code, user=request.user)
        keep = _keep_flag(request.body)
    except DomainError as error:
        return JsonResponse(error_body(error), status=error.http_status)
    stream = stream_keep_replays(
        stream=stream_ensure(show=show), keep=keep, actor_id=request.user.pk
    )
    return _ingest_response(request, show, stream)


def _keep_flag(body: bytes) -> bool:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        raise RequestInvalid("the body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("keep"), bool):
        raise RequestInvalid('send {"keep": true} or {"keep": false}')
    return bool(payload["keep"])


def _ingest_response(request: HttpRequest, show: Any, stream: Any) -> HttpResponse:
    whip = request.build_absolute_uri(reverse("live_video:whip", kwargs={"show_code": show.code}))
    response = JsonResponse(
        {
            "whip_url": whip,
            "stream_key": stream.key,
            # OBS 30+: Settings → Stream → Service "WHIP", Server, Bearer Token
            "obs": {"service": "WHIP", "server": whip, "bearer_token": stream.key},
            "studio_url": reverse("live_video:studio", kwargs={"show_code": show.code}),
            "playback_url": reverse("live_video:show", kwargs={"show_code": show.code}),
            "rotate_url": reverse("live_video:ingest-rotate", kwargs={"show_code": show.code}),
            "keep_replays": stream.keep_replays,
            "keep_replays_url": reverse(
                "live_video:ingest-keep-replays", kwargs={"show_code": show.code}
            ),
        }
    )
    response["Cache-Control"] = "private, no-store"
    return response


def studio(request: HttpRequest, show_code: str) -> HttpResponse:
    """The host's browser studio: publish the camera by WHIP; shows the OBS settings."""
    try:
        show = selectors.ingest_info(show_code=show_code, user=request.user)
    except DomainError as error:
        return JsonResponse(error_body(error), status=error.http_status)
    stream = stream_ensure(show=show)
    whip = request.build_absolute_uri(reverse("live_video:whip", kwargs={"show_code": show.code}))
    response = render(
        request,
        "live_video/studio.html",
        {
            "show": show,
            "whip_url": whip,
            "stream_key": stream.key,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


async def hls_file(
    request: HttpRequest, media_id: str, session_id: str, name: str
) -> HttpResponseBase:
    """Serve HLS with cache headers a CDN can use, and LL-HLS blocking reloads.

    Segments, parts and init segments never change once listed (``immutable``, a year);
    a rendition's live playlist changes with every part (1 s max-age, or held until the
    part asked for by ``_HLS_msn``/``_HLS_part`` exists; ``_HLS_skip`` answers with a
    delta update, ``live.video.delta``); a finished playlist
    (``#EXT-X-ENDLIST``) is a VOD and caches long; the multivariant playlists are
    written once; the poster refreshes every 30 s. An async view: a held request waits
    on the event loop (``live.video.blocking``), never in a worker thread.
    """
    if not (_OPAQUE.match(media_id) and _OPAQUE.match(session_id)):
        return _not_found()
    match = _FILE_NAME.match(name)
    if match is None:
        return _not_found()
    session_dir = Path(settings.MEDIA_ROOT) / "live-video" / media_id / session_id
    path = session_dir / name
    if match.group("part"):
        response = await _part_file(request, path, int(match.group("msn")), int(match.group("idx")))
    elif name.endswith(".m3u8"):
        response = await _playlist(request, path, rendition=bool(match.group("rendition")))
    elif not path.is_file():
        return _not_found()
    else:
        body = await asyncio.to_thread(path.read_bytes)
        if name.endswith(".jpg"):
            response = HttpResponse(body, content_type="image/jpeg")
            response["Cache-Control"] = "public, max-age=30"
        else:
            ctype = "video/mp2t" if name.endswith(".ts") else "video/mp4"
            response = HttpResponse(body, content_type=ctype)
            response["Cache-Control"] = _IMMUTABLE
    response["Access-Control-Allow-Origin"] = "*"
    return response


_IMMUTABLE = "public, max-age=31536000, immutable"


def _not_found(message: str = "no such media file") -> HttpResponse:
    response = JsonResponse(error_body(NotFound(message)), status=404)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _bad_request(message: str) -> HttpResponse:
    response = JsonResponse(
        {"error": {"code": "bad_delivery_directive", "message": message, "details": {}}},
        status=400,
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _directive(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise ValueError(f"{name} must be a non-negative integer")
    return int(raw)


async def _playlist(request: HttpRequest, path: Path, *, rendition: bool) -> HttpResponse:
    try:
        msn = _directive(request, "_HLS_msn")
        part = _directive(request, "_HLS_part")
    except ValueError as exc:
        return _bad_request(str(exc))
    if part is not None and msn is None:
        return _bad_request("_HLS_part needs _HLS_msn")
    try:
        skip = skip_directive(request.GET.get("_HLS_skip"))
    except SkipInvalid as exc:
        return _bad_request(str(exc))
    state = playlist_state(path)
    if state is None:
        return _not_found()
    live = rendition and path.name == LIVE_PLAYLIST
    blocking = msn is not None and live
    if blocking and msn is not None and not state.has(msn, part):
        if msn > state.last_msn + 2:
            return _bad_request("_HLS_msn is more than two segments ahead of the playlist")
        state = await playlist_wait(path, msn=msn, part=part, timeout=_hold_seconds())
        if state is None:
            refused = JsonResponse(
                {
                    "error": {
                        "code": "part_not_ready",
                        "message": "the requested part did not appear in time",
                        "details": {"msn": msn, "part": part},
                    }
                },
                status=503,
            )
            refused["Retry-After"] = "1"
            refused["Access-Control-Allow-Origin"] = "*"
            return refused
    delta = playlist_delta(state.body, skip) if skip is not None and live else None
    response = HttpResponse(
        state.body if delta is None else delta, content_type="application/vnd.apple.mpegurl"
    )
    if state.ended:
        response["Cache-Control"] = "public, max-age=86400"
    elif b"#EXT-X-STREAM-INF" in state.body:
        response["Cache-Control"] = "public, max-age=60"  # written once, at the first frame
    elif blocking:
        # the answer to one delivery directive never gets older: caches may keep it
        response["Cache-Control"] = "public, max-age=6"
    else:
        response["Cache-Control"] = "public, max-age=1"
    return response


def _hold_seconds() -> float:
    """Hold a blocking request at most three target durations (then 503, per the spec)."""
    return 3 * max(1.0, settings.LIVEHUB_VIDEO_SEGMENT_SECONDS)


async def _part_file(request: HttpRequest, path: Path, msn: int, index: int) -> HttpResponse:
    """A part, held like a blocking reload when a preload hint asked for it early."""
    if not path.is_file():
        playlist = path.parent / LIVE_PLAYLIST
        state = playlist_state(playlist)
        if state is None or state.ended or msn > state.last_msn + 2:
            return _not_found()
        if not state.has(msn, index):
            await playlist_wait(playlist, msn=msn, part=index, timeout=_hold_seconds())
        if not path.is_file():
            return _not_found()
    response = HttpResponse(await asyncio.to_thread(path.read_bytes), content_type="video/mp4")
    response["Cache-Control"] = _IMMUTABLE
    return response


def show_video(request: HttpRequest, show_code: str) -> HttpResponse:
    """Playback info of a show: live playlist or replay, poster, shoppable markers."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    try:
        info = selectors.show_playback(show_code=show_code)
    except DomainError as error:
        return JsonResponse(error_body(error), status=error.http_status)
    response = JsonResponse(info)
    response["Cache-Control"] = "public, max-age=2"
    response["Access-Control-Allow-Origin"] = "*"
    return response
