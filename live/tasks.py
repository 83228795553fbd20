"""Celery entry points for live-room services (thin: ids in, one service call)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from celery import shared_task

from live.comment_log import comment_log
from live.services import drops


@shared_task(name="live.drop_claims_drain")
def drop_claims_drain(drop_id: int) -> int:
    return drops.drop_claims_drain(drop_id=drop_id)


@shared_task(name="live.drop_claims_release")
def drop_claims_release() -> int:
    return drops.drop_claims_release()


@shared_task(name="live.drop_close_due")
def drop_close_due() -> int:
    return drops.drop_close_due()


@shared_task(name="live.drops_reconcile_open")
def drops_reconcile_open() -> list[dict[str, Any]]:
    """Also drains Redis claim streams a crashed process left behind."""
    return [r.as_dict() for r in drops.drops_reconcile_open()]


@shared_task(name="live.comments_flush")
def comments_flush() -> int:
    """Stores comments left in the Redis stream when no web process has the room open."""
    return int(async_to_sync(comment_log().flush)(consumer="beat"))
