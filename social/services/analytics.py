"""Analytics events: one row per fact, mirrored to Elasticsearch when it is configured."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hub.kernel.effects import after_commit
from social.models import AnalyticsEvent


def analytics_event_record(**fields: Any) -> AnalyticsEvent:
    """Store an event in the caller's transaction; index it after commit (ES only)."""
    event = AnalyticsEvent.objects.create(**fields)
    if settings.ELASTICSEARCH_URL:
        from social.tasks import analytics_events_index

        event_id = event.pk
        after_commit(lambda: analytics_events_index.delay([event_id]))
    return event
