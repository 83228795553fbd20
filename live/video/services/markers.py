"""Timeline markers: room events stamped with the media time of the live recording."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from live.video.models import PublisherSession, TimelineMarker
from live.video.states import MarkerKind, SessionStatus


def marker_record(*, show_id: int, kind: str, payload: dict[str, Any]) -> TimelineMarker | None:
    """Stamp a pin, drop or coupon event with the current media time of the show's stream.

    Returns ``None`` when the show is not publishing video: the event is not on any
    recording, so there is nothing to place on a replay timeline.
    """
    if kind not in MarkerKind.values:
        raise ValueError(f"unknown marker kind {kind!r}")
    with transaction.atomic():
        session = (
            PublisherSession.objects.filter(
                stream__show_id=show_id,
                status=SessionStatus.LIVE,
                media_started_at__isnull=False,
            )
            .order_by("-created_at")
            .first()
        )
        if session is None or session.media_started_at is None:
            return None
        offset = (timezone.now() - session.media_started_at).total_seconds()
        return TimelineMarker.objects.create(
            stream_id=session.stream_id,
            session=session,
            kind=kind,
            payload=payload,
            media_time_seconds=max(0.0, round(offset, 3)),
        )
