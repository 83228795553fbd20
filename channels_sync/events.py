"""What sales-channel sync hears from the outbox, and how it schedules its workers.

``stock.changed`` (a batch handler: all changes of a relay round at once) marks each SKU
dirty per connection (coalesced); ``order.status_changed``
queues fulfilment/cancellation pushes. Both handlers are idempotent (the relay delivers
at least once) and only write rows; the HTTP calls run in Celery tasks after commit.
"""

from __future__ import annotations

import time
from typing import Any

from channels_sync.services.order_push import order_push_record
from channels_sync.services.stock_push import DEBOUNCE_SECONDS, stock_changes_mark
from hub.kernel.effects import after_commit
from hub.kernel.outbox import register_outbox_batch_handler, register_outbox_handler

_last_scheduled: dict[str, float] = {}


def _debounced(name: str, window: float) -> bool:
    now = time.monotonic()
    if now - _last_scheduled.get(name, 0.0) < window:
        return False
    _last_scheduled[name] = now
    return True


def schedule_stock_push() -> None:
    from channels_sync.tasks import stock_push_due

    if _debounced("stock", DEBOUNCE_SECONDS):
        stock_push_due.apply_async(countdown=DEBOUNCE_SECONDS)


def schedule_order_push() -> None:
    from channels_sync.tasks import order_push_due

    if _debounced("order", 0.1):
        order_push_due.apply_async(countdown=0.1)


def schedule_webhook(delivery_id: int) -> None:
    from channels_sync.tasks import webhook_process

    webhook_process.delay(delivery_id)


def _stock_changed(payloads: list[dict[str, Any]]) -> None:
    """All ``stock.changed`` of one relay round: each (variant, location) marked once."""
    changes = [(int(p["variant_id"]), int(p["location_id"])) for p in payloads]
    if stock_changes_mark(changes=changes):
        after_commit(schedule_stock_push)


def _order_status_changed(payload: dict[str, Any]) -> None:
    if order_push_record(order_number=str(payload["order"]), to_status=str(payload["to"])):
        after_commit(schedule_order_push)


def register_outbox_handlers() -> None:
    register_outbox_batch_handler("stock.changed", _stock_changed)
    register_outbox_handler("order.status_changed", _order_status_changed)
