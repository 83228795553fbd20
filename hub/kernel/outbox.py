"""Publish messages in the writer's transaction; deliver them after commit.

Handlers are registered per topic by the apps that consume them (explicit registry,
no signals). A handler must be idempotent: the relay delivers at least once.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from hub.kernel.effects import after_commit
from hub.kernel.models import OutboxMessage

logger = logging.getLogger(__name__)

OutboxHandler = Callable[[dict[str, Any]], None]
_handlers: dict[str, list[OutboxHandler]] = defaultdict(list)

RELAY_BATCH = 200


def register_outbox_handler(topic: str, handler: OutboxHandler) -> None:
    if handler not in _handlers[topic]:
        _handlers[topic].append(handler)


def outbox_handlers(topic: str) -> list[OutboxHandler]:
    return list(_handlers.get(topic, ()))


def outbox_publish(*, topic: str, payload: dict[str, Any]) -> OutboxMessage:
    """Store a message with the current write; schedule its delivery after commit."""
    message = OutboxMessage.objects.create(topic=topic, payload=payload)
    after_commit(_schedule_relay)
    return message


#: A relay scheduled in this process within the window also delivers messages committed
#: during it, so a burst of writes schedules one relay per window, not one per write.
RELAY_DEBOUNCE_SECONDS = 0.2
_last_relay_scheduled = 0.0


def _schedule_relay() -> None:
    global _last_relay_scheduled
    from hub.kernel.tasks import outbox_relay

    now = time.monotonic()
    if now - _last_relay_scheduled < RELAY_DEBOUNCE_SECONDS:
        return
    _last_relay_scheduled = now
    outbox_relay.apply_async(countdown=RELAY_DEBOUNCE_SECONDS)


def outbox_relay(*, limit: int = RELAY_BATCH) -> int:
    """Deliver pending messages in order; returns how many were delivered."""
    delivered = 0
    with transaction.atomic():
        pending = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True)
            .order_by("id")[:limit]
        )
        for message in pending:
            try:
                for handler in outbox_handlers(message.topic):
                    handler(message.payload)
            except Exception as exc:  # a failing handler must not block the others
                logger.exception("outbox handler failed", extra={"topic": message.topic})
                OutboxMessage.objects.filter(pk=message.pk).update(
                    attempts=message.attempts + 1, last_error=repr(exc)[:2000]
                )
                continue
            OutboxMessage.objects.filter(pk=message.pk).update(
                dispatched_at=timezone.now(), attempts=message.attempts + 1
            )
            delivered += 1
    return delivered
