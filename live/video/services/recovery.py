"""Finish publications whose media worker died: end the playlists, keep the recording.

A worker that is killed (OOM, node loss, SIGKILL) cannot write ``#EXT-X-ENDLIST`` or
report the end, so its session would stay ``live`` and players would poll a playlist
that never ends. A session whose heartbeat is older than ``STALE_AFTER`` is taken as
orphaned: it is ended (``worker_lost``: ``ended`` if it had gone live, else ``failed``),
then every rendition's playlists are rebuilt from the segment files present (the parts
of the segment being filled become a last segment) as a VOD replay, and the recording's
figures are stored. Run by the media worker when it starts, by beat every 15 s
(``live_video.sessions_recover_orphans``) and, for the one session a new publisher
displaced, right after that publisher's open commits.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from live.video.locks import lock_session
from live.video.models import PublisherSession
from live.video.services.sessions import STALE_AFTER, publisher_session_end
from live.video.states import ACTIVE_STATUSES
from live.video.worker.playlists import LIVE_PLAYLIST, recording_finalize

logger = logging.getLogger(__name__)

WORKER_LOST = "worker_lost"
#: sessions ended as lost this recently are re-checked for an unfinished playlist
RECHECK_WITHIN = timedelta(days=1)


def _rendition_dirs(session: PublisherSession) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / session.media_dir
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name[:1] == "v")


def recording_is_open(session: PublisherSession) -> bool:
    """Whether a rendition's live playlist still lacks its ``#EXT-X-ENDLIST``."""
    for rendition in _rendition_dirs(session):
        playlist = rendition / LIVE_PLAYLIST
        if playlist.is_file() and b"#EXT-X-ENDLIST" not in playlist.read_bytes():
            return True
    return False


def publisher_session_recover(*, public_id: str) -> PublisherSession | None:
    """End an orphaned session and turn what its worker wrote into a replay.

    Returns ``None`` (and changes nothing) when the session's worker is still
    heartbeating, or when it ended normally. Idempotent.
    """
    now = timezone.now()
    with transaction.atomic():
        session = lock_session(public_id)
        if session is None:
            return None
        if session.status in ACTIVE_STATUSES:
            seen = session.last_seen_at or session.created_at
            if now - seen < STALE_AFTER:
                return None
        elif session.end_reason != WORKER_LOST:
            return None
    if session.status in ACTIVE_STATUSES:
        session = publisher_session_end(public_id=public_id, reason=WORKER_LOST)
    started = session.media_started_at or session.created_at
    figures = [
        recording_finalize(
            path, started_at=started, segment_seconds=settings.LIVEHUB_VIDEO_SEGMENT_SECONDS
        )
        for path in _rendition_dirs(session)
    ]
    segments, duration = figures[0] if figures else (0, 0.0)
    logger.info(
        "orphaned session finished",
        extra={"session": public_id, "segments": segments, "duration": duration},
    )
    return publisher_session_end(
        public_id=public_id,
        reason=WORKER_LOST,
        duration_seconds=duration,
        segment_count=segments,
    )


def sessions_recover_orphans() -> list[str]:
    """Recover every orphaned session; returns their ids."""
    now = timezone.now()
    stale = PublisherSession.objects.filter(
        status__in=ACTIVE_STATUSES, last_seen_at__lt=now - STALE_AFTER
    ).values_list("public_id", flat=True)
    lost = PublisherSession.objects.select_related("stream").filter(
        end_reason=WORKER_LOST, ended_at__gte=now - RECHECK_WITHIN
    )
    ids = list(stale) + [s.public_id for s in lost if recording_is_open(s)]
    return [
        public_id
        for public_id in dict.fromkeys(ids)
        if publisher_session_recover(public_id=public_id) is not None
    ]
