"""Celery entry points for live-room services (thin: ids in, one service call)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

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
