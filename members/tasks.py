"""Celery entry points for member services (thin)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from members import services


@shared_task(name="members.birthday_rewards_grant")
def birthday_rewards_grant() -> int:
    return services.birthday_rewards_grant(today=timezone.localdate())


@shared_task(name="members.points_expire_due")
def points_expire_due() -> int:
    return services.points_expire_due()
