"""Celery entry points for OMS services."""

from __future__ import annotations

from celery import shared_task

from oms.services import holds


@shared_task(name="oms.hold_expire_due")
def hold_expire_due() -> int:
    return holds.hold_expire_due()
