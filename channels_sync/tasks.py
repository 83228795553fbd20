"""Celery entry points of sales-channel sync (thin: ids in, one service call)."""

from __future__ import annotations

from celery import shared_task

from channels_sync.models import Connection
from channels_sync.services import order_push, reconcile, stock_push, webhooks


@shared_task(name="channels_sync.webhook_process")
def webhook_process(delivery_id: int) -> str:
    return webhooks.webhook_process(delivery_id=delivery_id)


@shared_task(name="channels_sync.stock_push_due")
def stock_push_due() -> int:
    report = stock_push.stock_push_due()
    wait = stock_push.next_due_in_seconds()
    if wait is not None and wait < 10:  # beat covers longer waits (backoffs)
        stock_push_due_later.apply_async(countdown=max(wait, 0.05))
    return report.pushed


@shared_task(name="channels_sync.stock_push_due_later")
def stock_push_due_later() -> int:
    return stock_push.stock_push_due().pushed


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
