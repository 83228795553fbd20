"""Media pruning: unkept and expired recordings and orphaned directories go, replays stay.

Recordings are real files on disk, written by the worker's ``MediaPlaylist`` (parts of
placeholder bytes), in session directories owned by real session rows.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from hub.celery import app
from hub.kernel.models import AuditEvent
from live.video import selectors, tasks
from live.video.models import PublisherSession, Stream
from live.video.services.retention import media_prune
from live.video.services.streams import stream_keep_replays
from live.video.states import SessionStatus
from live.video.worker.hls import POSTER
from live.video.worker.playlists import LowLatency, MediaPlaylist

DAY = timedelta(days=1)


def _session(
    stream: Stream, public_id: str, status: str, *, ended_ago: timedelta | None, segments: int
) -> PublisherSession:
    now = timezone.now()
    return PublisherSession.objects.create(
        stream=stream,
        public_id=public_id,
        status=status,
        ended_at=None if ended_ago is None else now - ended_ago,
        segment_count=segments,
        duration_seconds=float(segments),
    )


def _record(directory: Path, segments: int) -> None:
    """Write a recording as the worker does: init, parts, segments, playlists, poster."""
    for rendition in ("v0", "v1"):
        media = MediaPlaylist(
            directory / rendition,
            low_latency=LowLatency(1.0, 3),
            started_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
        media.write_init(b"i" * 700)
        for i in range(segments * 3):
            media.add_part(b"p" * 900, start=i / 3, duration=1 / 3, next_starts_segment=i % 3 == 2)
        media.close()
    (directory / POSTER).write_bytes(b"j" * 5000)


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _age(directory: Path, seconds: float) -> None:
    """Make every entry of ``directory`` look untouched for ``seconds``."""
    then = time.time() - seconds
    for path in [*directory.rglob("*"), directory]:
        os.utime(path, (then, then))


@pytest.fixture
def media(media_dirs: Path) -> Path:
    return Path(settings.MEDIA_ROOT)


def test_prune_deletes_unkept_and_expired_recordings_and_orphans_and_keeps_replays(
    stream: Stream, media: Path, settings: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    settings.LIVEHUB_VIDEO_RETENTION_DAYS = 30  # type: ignore[attr-defined]
    sessions = {
        # kept: a replay within retention, a live session, an unkept one still in its grace
        "replayRecent1": _session(stream, "replayRecent1", "ended", ended_ago=2 * DAY, segments=3),
        "liveNow00001": _session(stream, "liveNow00001", "live", ended_ago=None, segments=0),
        "failedFresh1": _session(
            stream, "failedFresh1", "failed", ended_ago=timedelta(hours=2), segments=0
        ),
        # pruned: an expired replay, a failed session, one that ended without a segment
        "replayOld001": _session(stream, "replayOld001", "ended", ended_ago=31 * DAY, segments=3),
        "failedOld001": _session(stream, "failedOld001", "failed", ended_ago=2 * DAY, segments=1),
        "emptyEnded01": _session(stream, "emptyEnded01", "ended", ended_ago=2 * DAY, segments=0),
    }
    for session in sessions.values():
        _record(media / session.media_dir, segments=max(1, session.segment_count))
    root = media / "live-video"
    # orphans: a session directory without a row, a whole stream directory without a stream
    stale_session = root / stream.media_id / "goneSession1"
    gone_stream = root / "goneStream01"
    _record(stale_session, 2)
    _record(gone_stream / "someSession1", 2)
    _age(stale_session, 2 * 3600)
    _age(gone_stream, 2 * 3600)
    # kept: an orphan written to in the last hour, names that are not media ids
    fresh_orphan = root / stream.media_id / "freshOrphan1"
    _record(fresh_orphan, 1)
    (root / "README.txt").write_text("not media")
    (root / stream.media_id / "x").mkdir()
    pruned_dirs = [
        media / sessions[s].media_dir for s in ("replayOld001", "failedOld001", "emptyEnded01")
    ] + [stale_session, gone_stream]
    expected_bytes = sum(_size(d) for d in pruned_dirs)
    kept_dirs = [
        media / sessions[s].media_dir for s in ("replayRecent1", "liveNow00001", "failedFresh1")
    ] + [fresh_orphan]
    kept_before = {str(d): _snapshot(d) for d in kept_dirs}
    audits_before = AuditEvent.objects.count()

    with caplog.at_level(logging.INFO, logger="live.video.services.retention"):
        report = media_prune()

    assert report.sessions == ("replayOld001", "failedOld001", "emptyEnded01")
    assert sorted(report.orphans) == sorted(
        [f"live-video/{stream.media_id}/goneSession1", "live-video/goneStream01"]
    )  # walk order follows the random media id
    assert report.bytes_freed == expected_bytes > 100_000
    assert [d.exists() for d in pruned_dirs] == [False] * 5
    assert {str(d): _snapshot(d) for d in kept_dirs} == kept_before
    assert (root / "README.txt").read_text() == "not media" and (
        root / stream.media_id / "x"
    ).is_dir()
    pruned_at = dict(PublisherSession.objects.values_list("public_id", "media_pruned_at"))
    assert sorted(k for k, v in pruned_at.items() if v is not None) == [
        "emptyEnded01",
        "failedOld001",
        "replayOld001",
    ]
    assert AuditEvent.objects.count() == audits_before + 3
    summary = [r for r in caplog.records if r.getMessage() == "video media pruned"]
    assert [(r.sessions, r.orphans, r.bytes_freed) for r in summary] == [  # type: ignore[attr-defined]
        (3, 2, expected_bytes)
    ]
    # the expired replay is no longer offered; the recent one still is
    replays = selectors.show_playback(show_code=stream.show.code)["replays"]
    assert [r["session"] for r in replays] == ["replayRecent1"]

    # a second run finds nothing and touches nothing
    after = _snapshot(media)
    again = media_prune()
    assert (again.sessions, again.orphans, again.bytes_freed) == ((), (), 0)
    assert _snapshot(media) == after
    assert AuditEvent.objects.count() == audits_before + 3


def test_retention_zero_keeps_replays_forever(stream: Stream, media: Path) -> None:
    old = _session(stream, "replayOld001", "ended", ended_ago=400 * DAY, segments=2)
    _record(media / old.media_dir, 2)
    before = _snapshot(media)

    report = media_prune(retention_days=0)

    assert (report.sessions, report.orphans, report.bytes_freed) == ((), (), 0)
    assert _snapshot(media) == before
    old.refresh_from_db()
    assert old.media_pruned_at is None


def test_a_kept_shows_replays_stay_past_retention_and_its_failed_takes_still_go(
    stream: Stream, media: Path
) -> None:
    stream_keep_replays(stream=stream, keep=True, actor_id=stream.show.host_id)
    replay = _session(stream, "replayKept01", "ended", ended_ago=400 * DAY, segments=2)
    failed = _session(stream, "failedKept01", "failed", ended_ago=2 * DAY, segments=0)
    for session in (replay, failed):
        _record(media / session.media_dir, 1)
    kept = _snapshot(media / replay.media_dir)

    report = media_prune(retention_days=30)

    assert report.sessions == (failed.public_id,)
    assert _snapshot(media / replay.media_dir) == kept
    assert not (media / failed.media_dir).exists()
    stream_keep_replays(stream=stream, keep=False, actor_id=stream.show.host_id)
    assert media_prune(retention_days=30).sessions == (replay.public_id,)
    assert not (media / replay.media_dir).exists()


def test_a_session_without_files_is_marked_with_nothing_freed(stream: Stream, media: Path) -> None:
    failed = _session(stream, "failedNoMedia", "failed", ended_ago=3 * DAY, segments=0)

    report = media_prune()

    assert (report.sessions, report.orphans, report.bytes_freed) == (("failedNoMedia",), (), 0)
    failed.refresh_from_db()
    assert failed.media_pruned_at is not None
    assert media_prune().sessions == ()


def test_a_negative_retention_is_refused_and_deletes_nothing(stream: Stream, media: Path) -> None:
    old = _session(stream, "failedOld001", "failed", ended_ago=3 * DAY, segments=0)
    _record(media / old.media_dir, 1)
    before = _snapshot(media)
    with pytest.raises(ValueError, match="retention_days must be 0"):
        media_prune(retention_days=-1)
    assert _snapshot(media) == before


def test_the_beat_task_prunes_hourly_and_reports_what_it_freed(
    stream: Stream, media: Path, settings: pytest.FixtureRequest
) -> None:
    settings.LIVEHUB_VIDEO_RETENTION_DAYS = 7  # type: ignore[attr-defined]
    old = _session(stream, "replayOld001", "ended", ended_ago=8 * DAY, segments=2)
    _record(media / old.media_dir, 2)
    size = _size(media / old.media_dir)

    assert tasks.media_prune() == {"sessions": ["replayOld001"], "orphans": [], "bytes_freed": size}
    assert tasks.media_prune() == {"sessions": [], "orphans": [], "bytes_freed": 0}
    assert app.conf.beat_schedule["video-prune-media"] == {
        "task": "live_video.media_prune",
        "schedule": 3600.0,
    }
    assert old.status == SessionStatus.ENDED
