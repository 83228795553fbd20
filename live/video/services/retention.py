"""Media retention: delete the files of recordings that are not (or no longer) replays.

A publication's HLS output is its replay, kept with every segment. Beat runs
``media_prune`` (``live_video.media_prune``, hourly), which deletes the session
directory (``MEDIA_ROOT/live-video/<media id>/<session>/``) of

* a session that ended without becoming a replay: ``failed`` (never went live), or
  ``ended`` without a single segment; only once it ended more than ``PRUNE_GRACE`` ago,
  the window in which recovery may still turn a lost worker's files into a replay;
* a replay that ended more than ``LIVEHUB_VIDEO_RETENTION_DAYS`` ago (``0``: kept
  forever), unless its host keeps the show's replays (``Stream.keep_replays``);
* an orphaned directory: one whose stream or session row no longer exists (a deleted
  show), untouched for ``ORPHAN_GRACE``.

A pruned session keeps its row, figures and markers; ``media_pruned_at`` is set (and
audited) in the same transaction that deleted its files, so it is no longer listed as a
replay and a second run skips it. Live and connecting sessions are never touched. Only
directories named like media and session ids are considered, and nothing outside
``MEDIA_ROOT/live-video`` is deleted.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from hub.kernel.audit import audit_record
from live.video.locks import lock_session
from live.video.models import PublisherSession, Stream
from live.video.services.recovery import RECHECK_WITHIN
from live.video.states import ACTIVE_STATUSES, SessionStatus

logger = logging.getLogger(__name__)

#: the media directory under MEDIA_ROOT (``PublisherSession.media_dir``)
MEDIA_DIR = "live-video"
#: a recording that is not a replay is kept this long after it ended: recovery
#: re-checks sessions lost this recently and may still make one a replay
PRUNE_GRACE = RECHECK_WITHIN
#: a directory without a row is deleted only if nothing in it changed for this long
ORPHAN_GRACE = timedelta(hours=1)
#: media ids and session ids are opaque tokens (``hub.kernel.ids.opaque_token``)
_ID = re.compile(r"^[A-Za-z0-9_-]{8,32}$")
_CHUNK = 500


@dataclass(frozen=True)
class MediaPruneReport:
    """What one run deleted."""

    sessions: tuple[str, ...]  #: public ids of the sessions whose media was deleted
    orphans: tuple[str, ...]  #: directories without a row, relative to MEDIA_ROOT
    bytes_freed: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessions": list(self.sessions),
            "orphans": list(self.orphans),
            "bytes_freed": self.bytes_freed,
        }


def media_prune(*, retention_days: int | None = None) -> MediaPruneReport:
    """Delete expired and unkept recordings and orphaned directories; idempotent.

    ``retention_days`` defaults to ``LIVEHUB_VIDEO_RETENTION_DAYS``.
    """
    days = settings.LIVEHUB_VIDEO_RETENTION_DAYS if retention_days is None else retention_days
    if days < 0:
        raise ValueError("retention_days must be 0 (keep forever) or more")
    now = timezone.now()
    root = Path(settings.MEDIA_ROOT) / MEDIA_DIR
    pruned: list[str] = []
    freed = 0
    for public_id in _candidates(now, days).values_list("public_id", flat=True):
        result = _session_prune(public_id, root=root, now=now, retention_days=days)
        if result is not None:
            pruned.append(public_id)
            freed += result
    orphans: list[str] = []
    for directory in _orphan_dirs(root, now=now):
        try:
            size = _remove_tree(directory, root=root)
        except OSError:
            logger.exception("orphaned video media not deleted", extra={"path": str(directory)})
            continue
        relative = str(directory.relative_to(Path(settings.MEDIA_ROOT)))
        logger.info("orphaned video media deleted", extra={"path": relative, "bytes": size})
        orphans.append(relative)
        freed += size
    report = MediaPruneReport(sessions=tuple(pruned), orphans=tuple(orphans), bytes_freed=freed)
    logger.info(
        "video media pruned",
        extra={"sessions": len(pruned), "orphans": len(orphans), "bytes_freed": freed},
    )
    return report


def _ended_before(moment: datetime) -> Q:
    return Q(ended_at__lt=moment) | Q(ended_at__isnull=True, created_at__lt=moment)


def _candidates(now: datetime, retention_days: int) -> QuerySet[PublisherSession]:
    not_replay = Q(status=SessionStatus.FAILED) | Q(status=SessionStatus.ENDED, segment_count=0)
    wanted = not_replay & _ended_before(now - PRUNE_GRACE)
    if retention_days:
        wanted |= Q(
            status=SessionStatus.ENDED,
            segment_count__gt=0,
            ended_at__lt=now - timedelta(days=retention_days),
            stream__keep_replays=False,
        )
    return PublisherSession.objects.filter(wanted, media_pruned_at__isnull=True).order_by("id")


def _prune_reason(session: PublisherSession, *, now: datetime, retention_days: int) -> str | None:
    """Why this session's media goes (checked again under the row lock), or ``None``."""
    if session.media_pruned_at is not None or session.status in ACTIVE_STATUSES:
        return None
    ended = session.ended_at or session.created_at
    replay = session.status == SessionStatus.ENDED and session.segment_count > 0
    if not replay:
        return "not_a_replay" if ended < now - PRUNE_GRACE else None
    if session.stream.keep_replays:
        return None
    if retention_days and ended < now - timedelta(days=retention_days):
        return "retention"
    return None


def _session_prune(public_id: str, *, root: Path, now: datetime, retention_days: int) -> int | None:
    """Delete one session's files and mark it; the bytes freed, ``None`` if it stays."""
    try:
        with transaction.atomic():
            session = lock_session(public_id)
            if session is None:
                return None
            reason = _prune_reason(session, now=now, retention_days=retention_days)
            if reason is None:
                return None
            size = _remove_tree(Path(settings.MEDIA_ROOT) / session.media_dir, root=root)
            session.media_pruned_at = now
            session.save(update_fields=["media_pruned_at"])
            audit_record(
                kind="video.session_media_pruned",
                aggregate_type="live_video.session",
                aggregate_id=public_id,
                payload={"reason": reason, "bytes_freed": size, "status": session.status},
            )
    except OSError:
        logger.exception("video media not deleted", extra={"session": public_id})
        return None
    logger.info(
        "video media deleted", extra={"session": public_id, "reason": reason, "bytes": size}
    )
    return size


def _remove_tree(directory: Path, *, root: Path) -> int:
    """Delete ``directory`` (inside ``root``); the bytes its files took (0: none there)."""
    if not directory.resolve().is_relative_to(root.resolve()) or directory == root:
        raise OSError(f"{directory} is not a media directory under {root}")
    if directory.is_symlink():
        directory.unlink()
        return 0
    if not directory.is_dir():
        return 0
    size = 0
    for base, _dirs, files in os.walk(directory):
        for name in files:
            size += os.lstat(os.path.join(base, name)).st_size
    shutil.rmtree(directory)
    return size


def _newest_change(directory: Path) -> float:
    newest = directory.lstat().st_mtime
    for base, dirs, files in os.walk(directory):
        for name in (*dirs, *files):
            newest = max(newest, os.lstat(os.path.join(base, name)).st_mtime)
    return newest


def _id_dirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if _ID.match(p.name) and p.is_dir())


def _existing(names: list[str], lookup: Any) -> set[str]:
    """Which of ``names`` ``lookup(chunk)`` (a values_list query) finds, in chunks."""
    found: set[str] = set()
    for start in range(0, len(names), _CHUNK):
        found.update(lookup(names[start : start + _CHUNK]))
    return found


def _orphan_dirs(root: Path, *, now: datetime) -> Iterable[Path]:
    """Media and session directories that no stream or session row owns (and are idle)."""
    if not root.is_dir():
        return []
    idle_before = (now - ORPHAN_GRACE).timestamp()
    streams = _id_dirs(root)
    known = _existing(
        [d.name for d in streams],
        lambda chunk: Stream.objects.filter(media_id__in=chunk).values_list("media_id", flat=True),
    )
    orphans: list[Path] = []
    for stream_dir in streams:
        if stream_dir.name not in known:
            candidates = [stream_dir]
        else:
            sessions = _id_dirs(stream_dir)
            owned = _existing(
                [d.name for d in sessions],
                lambda chunk, media_id=stream_dir.name: PublisherSession.objects.filter(
                    stream__media_id=media_id, public_id__in=chunk
                ).values_list("public_id", flat=True),
            )
            candidates = [d for d in sessions if d.name not in owned]
        orphans += [d for d in candidates if _newest_change(d) < idle_before]
    return orphans
