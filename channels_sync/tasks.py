"""Celery entry points of sales-channel sync (thin: ids in, one service call)."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from channels_sync.models import Connection
from channels_sync.services import order_push, reconcile, stock_push, webhooks


@shared_task(name="channels_sync.webhook_process")
def webhook_process(delivery_id: int) -> str:
    return webhooks.webhook_process(delivery_id=delivery_id)


FOLLOW_UP_KEY = "livehub:sync-push-follow-up"


def _follow_up() -> None:
    """Schedule one push for the next due change (not-yet-due rows, backoffs, probes).

    The cache key keeps it to one follow-up in flight, however many pushes ran; beat
    (every 2 s) covers longer waits and a lost follow-up.
    """
    wait = stock_push.next_due_in_seconds()
    if wait is None or wait >= 10:
        return
    if cache.add(FOLLOW_UP_KEY, 1, timeout=int(wait) + 5):
        stock_push_due_later.apply_async(countdown=max(wait, 0.05))


@shared_task(name="channels_sync.stock_push_due")
def stock_push_due() -> int:
    report = stock_push.stock_push_due()
    _follow_up()
    return report.pushed


@shared_task(name="channels_sync.stock_push_due_later")
def stock_push_due_later() -> int:
    cache.delete(FOLLOW_UP_KEY)
    report = stock_push.stock_push_due()
    _follow_up()
    return report.pushed


@shared_task(name="channels_sync.order_push_due")
def order_push_due() -> int:
    return order_push.order_push_due()


@shared_task(name="channels_sync.orders_reconcile")
def orders_reconcile() -> int:
    repaired = 0
    for connection in Connection.objects.filter(enabled=True).select_related("sales_channel"):
        report = reconcile.orders_reconcile(connection=connection)
        repaired += report.get("created", 0) + report.get("updated", 0)
    return repaired
