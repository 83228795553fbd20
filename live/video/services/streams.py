"""Create and rotate the ingest identity (stream key, media id) of a show; keep its replays."""

from __future__ import annotations

from django.db import transaction

from hub.kernel.audit import audit_record
from hub.kernel.ids import opaque_token
from live.models import Show
from live.video.models import Stream


def stream_ensure(*, show: Show) -> Stream:
    """The show's stream, created with a fresh key on first use."""
    with transaction.atomic():
        stream, created = Stream.objects.get_or_create(
            show=show, defaults={"key": opaque_token(24), "media_id": opaque_token(12)}
        )
        if created:
            audit_record(
                kind="video.stream_created",
                aggregate_type="live_video.stream",
                aggregate_id=stream.pk,
                payload={"show_id": show.pk},
            )
    return stream


def stream_rotate_key(*, stream: Stream, actor_id: int | None) -> Stream:
    """Give the stream a new key; an encoder using the old one gets 401 from now on."""
    with transaction.atomic():
        stream = Stream.objects.select_for_update().get(pk=stream.pk)
        stream.key = opaque_token(24)
        stream.save(update_fields=["key"])
        audit_record(
            kind="video.stream_key_rotated",
            aggregate_type="live_video.stream",
            aggregate_id=stream.pk,
            payload={},
            actor_id=actor_id,
        )
    return stream


def stream_keep_replays(*, stream: Stream, keep: bool, actor_id: int | None) -> Stream:
    """Keep the show's replays forever (``keep``) or let them expire with the rest
    (``LIVEHUB_VIDEO_RETENTION_DAYS``); setting what is already set records nothing."""
    with transaction.atomic():
        stream = Stream.objects.select_for_update().get(pk=stream.pk)
        if stream.keep_replays != keep:
            stream.keep_replays = keep
            stream.save(update_fields=["keep_replays"])
            audit_record(
                kind="video.replays_kept" if keep else "video.replays_expire",
                aggregate_type="live_video.stream",
                aggregate_id=stream.pk,
                payload={"keep": keep},
                actor_id=actor_id,
            )
    return stream
