"""Per-show ingest stream, publisher sessions (each one a recording) and timeline markers."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from live.video.states import ACTIVE_STATUSES, MarkerKind, SessionStatus


class Stream(models.Model):
    """The ingest identity of one show: the host's secret key and a public media id."""

    show = models.OneToOneField("live.Show", on_delete=models.CASCADE, related_name="video_stream")
    #: bearer token for WHIP (and OBS); secret, shown only to the host
    key = models.CharField(max_length=64, unique=True)
    #: opaque public directory name for HLS files: knowing it reveals nothing about the key
    media_id = models.CharField(max_length=32, unique=True)
    #: the host keeps this show's replays forever: media pruning skips them
    keep_replays = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"stream {self.media_id}"


class PublisherSession(models.Model):
    """One WHIP publication; its HLS output is the live stream and then the replay."""

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="sessions")
    public_id = models.CharField(max_length=32, unique=True)  #: in the WHIP Location URL
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.CONNECTING
    )
    worker_id = models.CharField(max_length=64, blank=True)  #: the media worker serving it
    created_at = models.DateTimeField(auto_now_add=True)
    #: wall-clock time of media time 0 (the first video frame): markers are offsets from it
    media_started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    #: refreshed by the worker every few seconds; a stale one frees the publisher slot
    last_seen_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=64, blank=True)
    duration_seconds = models.FloatField(default=0.0)
    segment_count = models.PositiveIntegerField(default=0)
    #: when its media files were deleted (``services.retention``): no longer a replay
    media_pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["stream"],
                condition=Q(status__in=list(ACTIVE_STATUSES)),
                name="one_active_publisher_per_stream",
            )
        ]

    def __str__(self) -> str:
        return f"session {self.public_id} ({self.status})"

    @property
    def media_dir(self) -> str:
        """Directory of this session's HLS output, relative to MEDIA_ROOT."""
        return f"live-video/{self.stream.media_id}/{self.public_id}"


class TimelineMarker(models.Model):
    """A room event (pin, drop, coupon) at its media time, for shoppable replays."""

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="markers")
    session = models.ForeignKey(PublisherSession, on_delete=models.CASCADE, related_name="markers")
    kind = models.CharField(max_length=16, choices=MarkerKind.choices)
    payload = models.JSONField(default=dict)
    media_time_seconds = models.FloatField()  #: offset into the session's recording
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["media_time_seconds", "id"]
