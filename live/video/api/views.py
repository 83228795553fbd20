"""HTTP edges of live video: WHIP ingest (RFC 9725), HLS files, playback info.

WHIP speaks ``application/sdp``, not JSON, and authenticates with the stream key as a
bearer token, so these are plain Django views (no session auth, no CSRF). Errors still
use the shared JSON error shape.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from hub.kernel.errors import DomainError, NotFound, error_body
from hub.kernel.ids import opaque_token
from live.video import selectors, transport
from live.video.errors import (
    MediaWorkerUnavailable,
    OfferInvalid,
    SeatsFull,
    UnsupportedMediaType,
)
from live.video.sdp import OfferRejected, check_offer
from live.video.services.sessions import (
    publisher_session_attach,
    publisher_session_end,
    publisher_session_open,
)
from live.video.services.streams import stream_ensure

SDP_TYPE = "application/sdp"
#: Time the web process waits for a media worker to answer an offer (ICE gathering).
OFFER_TIMEOUT_SECONDS = 15.0
MAX_OFFER_BYTES = 64 * 1024
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Location, Link, ETag",
}
_FILE_NAME = re.compile(r"^(index\.m3u8|live\.m3u8|seg\d{5}\.ts|poster\.jpg)$")
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


def show_ingest(request: HttpRequest, show_code: str) -> HttpResponse:
    """For the host console: the WHIP URL and stream key to paste into OBS."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    try:
        show = selectors.ingest_info(show_code=show_code, user=request.user)
    except DomainError as error:
        return JsonResponse(error_body(error), status=error.http_status)
    stream = stream_ensure(show=show)
    whip = request.build_absolute_uri(reverse("live_video:whip", kwargs={"show_code": show.code}))
    response = JsonResponse({"whip_url": whip, "stream_key": stream.key})
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


def hls_file(request: HttpRequest, media_id: str, session_id: str, name: str) -> HttpResponseBase:
    """Serve HLS with cache headers a CDN can use.

    Segments never change once listed (``immutable``, a year); the live playlist changes
    every segment (1 s); a finished playlist (``#EXT-X-ENDLIST``) is a VOD and caches
    long; the poster refreshes every 30 s.
    """
    if not (_OPAQUE.match(media_id) and _OPAQUE.match(session_id) and _FILE_NAME.match(name)):
        return JsonResponse(error_body(NotFound("no such media file")), status=404)
    path = Path(settings.MEDIA_ROOT) / "live-video" / media_id / session_id / name
    if not path.is_file():
        return JsonResponse(error_body(NotFound("no such media file")), status=404)
    if name.endswith(".m3u8"):
        body = path.read_bytes()
        response: HttpResponseBase = HttpResponse(
            body, content_type="application/vnd.apple.mpegurl"
        )
        ended = b"#EXT-X-ENDLIST" in body
        response["Cache-Control"] = "public, max-age=86400" if ended else "public, max-age=1"
    elif name.endswith(".ts"):
        response = FileResponse(path.open("rb"), content_type="video/mp2t")
        response["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response = FileResponse(path.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = "public, max-age=30"
    response["Access-Control-Allow-Origin"] = "*"
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
