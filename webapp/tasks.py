"""Celery edges of web push: deliver one notice; the show-reminder sweep (beat)."""

from __future__ import annotations

from celery import shared_task

from webapp.push import services


@shared_task(name="webapp.push_notice_deliver")
def push_notice_deliver(notice_id: int) -> int:
    return services.push_notice_deliver(notice_id=notice_id)


@shared_task(name="webapp.push_show_reminders_due")
def push_show_reminders_due() -> int:
    return services.push_show_reminders_due()
