"""Publisher sessions: one WHIP publication per show at a time, then its recording.

The web process opens a session (claiming the show's single publisher slot) before it
hands the SDP offer to a media worker; the worker reports media start, heartbeats and
the end. A session whose worker stopped heartbeating frees the slot on the next open.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from hub.kernel.audit import audit_record
from hub.kernel.effects import after_commit
from hub.kernel.errors import InvalidTransition, NotFound
from hub.kernel.ids import opaque_token
from live.models import Show
from live.video.errors import PublisherBusy, StreamKeyInvalid
from live.video.locks import lock_session
from live.video.models import PublisherSession, Stream
from live.video.states import ACTIVE_STATUSES, SESSION_TRANSITIONS, SessionStatus

#: A session not heartbeated for this long is taken to have lost its worker.
STALE_AFTER = timedelta(seconds=20)


def _transition(session: PublisherSession, target: str) -> None:
    if target not in SESSION_TRANSITIONS[session.status]:
        raise InvalidTransition("publisher session", session.status, target)
    session.status = target


def _audit(session: PublisherSession, kind: str, **payload: object) -> None:
    audit_record(
        kind=f"video.session_{kind}",
        aggregate_type="live_video.session",
        aggregate_id=session.public_id,
        payload={"stream_id": session.stream_id, "status": session.status, **payload},
    )


def publisher_session_open(*, show_code: str, stream_key: str) -> PublisherSession:
    """Claim the show's publisher slot for a new session (401 bad key, 409 busy)."""
    with transaction.atomic():
        show = Show.objects.filter(code=show_code).first()
        if show is None:
            raise NotFound(f"show not found (code={show_code})")
        stream = Stream.objects.select_for_update().filter(show=show).first()
        if stream is None:
            raise StreamKeyInvalid("this show has no stream key yet")
        if not stream_key or not hmac.compare_digest(stream.key, stream_key):
            raise StreamKeyInvalid("wrong or missing stream key")
        now = timezone.now()
        for active in PublisherSession.objects.filter(stream=stream, status__in=ACTIVE_STATUSES):
            seen = active.last_seen_at or active.created_at
            if now - seen < STALE_AFTER:
                raise PublisherBusy(
                    "another publisher is live on this show", session=active.public_id
                )
            _end(active, reason="worker_lost", now=now)
            after_commit(partial(_recover_later, active.public_id))
        session = PublisherSession(stream=stream, public_id=opaque_token(12), last_seen_at=now)
        try:
            with transaction.atomic():
                session.save()
        except IntegrityError as exc:  # a concurrent open won the slot
            raise PublisherBusy("another publisher is live on this show") from exc
        _audit(session, "opened")
    return session


def _recover_later(public_id: str) -> None:
    """Finish the displaced session's playlists in a Celery worker (file work)."""
    from live.video.tasks import publisher_session_recover

    publisher_session_recover.delay(public_id)


def _locked(public_id: str) -> PublisherSession:
    session = lock_session(public_id)
    if session is None:
        raise NotFound(f"publisher session not found (id={public_id})")
    return session


def publisher_session_attach(*, public_id: str, worker_id: str) -> PublisherSession:
    """Record which media worker answered the offer (it receives the stop)."""
    with transaction.atomic():
        session = _locked(public_id)
        session.worker_id = worker_id
        session.last_seen_at = timezone.now()
        session.save(update_fields=["worker_id", "last_seen_at"])
    return session


def publisher_session_mark_live(*, public_id: str, media_started_at: datetime) -> PublisherSession:
    """The first video frame reached the packager: media time 0 is ``media_started_at``."""
    with transaction.atomic():
        session = _locked(public_id)
        if session.status == SessionStatus.LIVE:
            return session
        _transition(session, SessionStatus.LIVE)
        session.media_started_at = media_started_at
        session.last_seen_at = timezone.now()
        session.save(update_fields=["status", "media_started_at", "last_seen_at"])
        _audit(session, "live")
    return session


def publisher_session_heartbeat(*, public_ids: list[str]) -> list[str]:
    """A worker says these sessions are still alive; returns those that still are.

    A session missing from the answer was ended elsewhere (its heartbeat went stale and
    it was recovered as orphaned): the worker stops it rather than write on.
    """
    with transaction.atomic():
        active = list(
            PublisherSession.objects.filter(
                public_id__in=public_ids, status__in=ACTIVE_STATUSES
            ).values_list("public_id", flat=True)
        )
        PublisherSession.objects.filter(public_id__in=active).update(last_seen_at=timezone.now())
    return active


def _end(session: PublisherSession, *, reason: str, now: datetime) -> None:
    target = SessionStatus.ENDED if session.status == SessionStatus.LIVE else SessionStatus.FAILED
    if session.status == SessionStatus.CONNECTING and reason == "deleted":
        target = SessionStatus.ENDED
    _transition(session, target)
    session.ended_at = now
    session.end_reason = reason
    session.save(update_fields=["status", "ended_at", "end_reason"])
    _audit(session, "ended", reason=reason)


def publisher_session_end(
    *,
    public_id: str,
    reason: str,
    duration_seconds: float | None = None,
    segment_count: int | None = None,
) -> PublisherSession:
    """End a session (idempotent): DELETE, lost connection, failed offer or worker exit.

    The worker calls it again with the recording's figures once the playlist is final.
    """
    with transaction.atomic():
        session = _locked(public_id)
        if session.status in ACTIVE_STATUSES:
            _end(session, reason=reason, now=timezone.now())
        fields = []
        if duration_seconds is not None:
            session.duration_seconds = duration_seconds
            fields.append("duration_seconds")
        if segment_count is not None:
            session.segment_count = segment_count
            fields.append("segment_count")
        if fields:
            session.save(update_fields=fields)
    return session
