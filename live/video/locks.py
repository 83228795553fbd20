"""Row locks of live video: a stream before its publisher sessions."""

from __future__ import annotations

from live.video.models import PublisherSession


def lock_session(public_id: str) -> PublisherSession | None:
    """The publisher session with its stream, locked until commit; ``None`` if unknown."""
    return (
        PublisherSession.objects.select_for_update()
        .select_related("stream")
        .filter(public_id=public_id)
        .first()
    )
