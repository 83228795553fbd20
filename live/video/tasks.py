"""Celery entry points for live video (thin: ids in, one service call)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from live.video.services import recovery, retention


@shared_task(name="live_video.sessions_recover_orphans")
def sessions_recover_orphans() -> list[str]:
    return recovery.sessions_recover_orphans()


@shared_task(name="live_video.publisher_session_recover")
def publisher_session_recover(public_id: str) -> bool:
    return recovery.publisher_session_recover(public_id=public_id) is not None


@shared_task(name="live_video.media_prune")
def media_prune() -> dict[str, Any]:
    return retention.media_prune().as_dict()
