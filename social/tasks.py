"""Celery entry points for social (thin: ids in, service call)."""

from __future__ import annotations

from celery import shared_task

from social import analytics_index


@shared_task(
    name="social.analytics_events_index",
    autoretry_for=(Exception,),
    max_retries=5,
    retry_backoff=True,
)
def analytics_events_index(event_ids: list[int]) -> int:
    return analytics_index.analytics_events_index(event_ids=event_ids)
