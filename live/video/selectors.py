"""Reads of live video: session lookup by key, playback info with replay markers."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import reverse

from hub.kernel.errors import Conflict, NotFound, PermissionDenied
from live.models import Show
from live.selectors import can_host, can_moderate
from live.video.errors import StreamKeyInvalid
from live.video.models import PublisherSession, TimelineMarker
from live.video.states import SessionStatus
from live.video.worker.hls import LIVE_PLAYLIST, PLAYLIST, POSTER


def session_by_id(*, public_id: str) -> PublisherSession:
    session = (
        PublisherSession.objects.select_related("stream__show").filter(public_id=public_id).first()
    )
    if session is None:
        raise NotFound(f"publisher session not found (id={public_id})")
    return session


def session_for_key(*, public_id: str, stream_key: str) -> PublisherSession:
    """The session behind a WHIP Location, if ``stream_key`` is its stream's key."""
    session = PublisherSession.objects.select_related("stream").filter(public_id=public_id).first()
    if session is None:
        raise NotFound(f"publisher session not found (id={public_id})")
    if not stream_key or not hmac.compare_digest(session.stream.key, stream_key):
        raise StreamKeyInvalid("wrong or missing stream key")
    return session


def live_session_for_seat(*, show_code: str, user: Any) -> PublisherSession:
    """The live session a host or moderator may take a low-latency (WHEP) seat on."""
    show = Show.objects.filter(code=show_code).first()
    if show is None:
        raise NotFound(f"show not found (code={show_code})")
    if not can_moderate(user, show):
        raise PermissionDenied("only the show's host and moderators get low-latency seats")
    session = (
        PublisherSession.objects.select_related("stream")
        .filter(stream__show=show, status=SessionStatus.LIVE)
        .first()
    )
    if session is None:
        raise Conflict("the show is not live")
    return session


def ingest_info(*, show_code: str, user: Any) -> Show:
    """The show whose ingest settings (WHIP URL, stream key) ``user`` may see."""
    show = Show.objects.filter(code=show_code).first()
    if show is None:
        raise NotFound(f"show not found (code={show_code})")
    if not can_host(user, show):
        raise PermissionDenied("only the show's host sees its stream key")
    return show


def _hls_url(session: PublisherSession, name: str) -> str:
    return reverse(
        "live_video:hls",
        kwargs={"media_id": session.stream.media_id, "session_id": session.public_id, "name": name},
    )


def session_playback(session: PublisherSession) -> dict[str, Any]:
    out_dir = Path(settings.MEDIA_ROOT) / session.media_dir
    name = LIVE_PLAYLIST if session.status == SessionStatus.LIVE else PLAYLIST
    return {
        "session": session.public_id,
        "status": session.status,
        "playlist_url": _hls_url(session, name) if (out_dir / name).exists() else None,
        "poster_url": _hls_url(session, POSTER) if (out_dir / POSTER).exists() else None,
        "media_started_at": session.media_started_at.isoformat()
        if session.media_started_at
        else None,
        "duration_seconds": session.duration_seconds,
    }


def show_playback(*, show_code: str) -> dict[str, Any]:
    """The live session (if any) and the replays of a show, newest first."""
    show = Show.objects.filter(code=show_code).first()
    if show is None:
        raise NotFound(f"show not found (code={show_code})")
    sessions = list(
        PublisherSession.objects.select_related("stream")
        .filter(stream__show=show, status__in=(SessionStatus.LIVE, SessionStatus.ENDED))
        .order_by("-created_at")
    )
    live = next((s for s in sessions if s.status == SessionStatus.LIVE), None)
    markers: dict[int, list[dict[str, Any]]] = {}
    for marker in TimelineMarker.objects.filter(session__in=sessions):
        markers.setdefault(marker.session_id, []).append(
            {"kind": marker.kind, "at": marker.media_time_seconds, "payload": marker.payload}
        )
    replays = [
        {**session_playback(s), "markers": markers.get(s.pk, [])}
        for s in sessions
        if s.status == SessionStatus.ENDED and s.segment_count > 0 and s.media_pruned_at is None
    ]
    return {
        "show": show.code,
        "live": session_playback(live) if live else None,
        "replays": replays,
    }
