"""Timeline markers and stream keys (services), without media."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from live.video.errors import StreamKeyInvalid
from live.video.models import PublisherSession, Stream, TimelineMarker
from live.video.services.markers import marker_record
from live.video.services.sessions import publisher_session_mark_live, publisher_session_open
from live.video.services.streams import stream_ensure, stream_rotate_key


def test_a_marker_is_stamped_with_the_media_time_of_the_live_session(stream: Stream) -> None:
    session = publisher_session_open(show_code=stream.show.code, stream_key=stream.key)
    publisher_session_mark_live(
        public_id=session.public_id, media_started_at=timezone.now() - timedelta(seconds=42)
    )
    marker = marker_record(show_id=stream.show_id, kind="drop", payload={"drop": 7})
    assert marker is not None
    assert marker.session_id == session.pk
    assert 42.0 <= marker.media_time_seconds < 43.0
    assert (marker.kind, marker.payload) == ("drop", {"drop": 7})


def test_no_marker_without_live_video(stream: Stream) -> None:
    publisher_session_open(show_code=stream.show.code, stream_key=stream.key)  # connecting
    assert marker_record(show_id=stream.show_id, kind="pin", payload={}) is None
    assert TimelineMarker.objects.count() == 0


def test_an_unknown_marker_kind_is_refused(stream: Stream) -> None:
    with pytest.raises(ValueError, match="unknown marker kind 'like'"):
        marker_record(show_id=stream.show_id, kind="like", payload={})
    assert TimelineMarker.objects.count() == 0


def test_stream_ensure_is_stable_and_rotation_invalidates_the_old_key(stream: Stream) -> None:
    assert stream_ensure(show=stream.show).key == stream.key
    old = stream.key
    rotated = stream_rotate_key(stream=stream, actor_id=stream.show.host_id)
    assert rotated.key != old
    assert len(rotated.key) == 32 and rotated.media_id == stream.media_id
    with pytest.raises(StreamKeyInvalid):
        publisher_session_open(show_code=stream.show.code, stream_key=old)
    assert PublisherSession.objects.count() == 0
