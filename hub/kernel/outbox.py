"""Publish messages in the writer's transaction; deliver them after commit.

Handlers are registered per topic by the apps that consume them (explicit registry,
no signals). A handler must be idempotent: the relay delivers at least once.

Two kinds of handler:

- ``register_outbox_handler(topic, fn)``: ``fn(payload)`` once per message, in id order
  (messages that failed before come after the fresh ones).
- ``register_outbox_batch_handler(topic, fn)``: ``fn([payload, ...])`` once per relay
  round with every pending message of the topic in that round (id order). A consumer
  that coalesces (sales-channel sync marks each SKU once however many changes) does its
  work in a few queries instead of a few per message.

A message is marked dispatched only when every handler of its topic succeeded. The
per-message handlers of one message share a savepoint, each batch handler call has its
own, so a failure (even a database error) rolls back only those writes and leaves the
messages pending for the next relay.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hub.kernel.effects import after_commit
from hub.kernel.models import OutboxMessage

logger = logging.getLogger(__name__)

OutboxHandler = Callable[[dict[str, Any]], None]
OutboxBatchHandler = Callable[[list[dict[str, Any]]], None]
_handlers: dict[str, list[OutboxHandler]] = defaultdict(list)
_batch_handlers: dict[str, list[OutboxBatchHandler]] = defaultdict(list)

RELAY_BATCH = 200
#: messages per transaction of the relay (see ``outbox_relay``)
RELAY_CHUNK = 10


def register_outbox_handler(topic: str, handler: OutboxHandler) -> None:
    if handler not in _handlers[topic]:
        _handlers[topic].append(handler)


def register_outbox_batch_handler(topic: str, handler: OutboxBatchHandler) -> None:
    """Receive all pending payloads of ``topic`` of one relay round in one call."""
    if handler not in _batch_handlers[topic]:
        _batch_handlers[topic].append(handler)


def outbox_handlers(topic: str) -> list[OutboxHandler]:
    return list(_handlers.get(topic, ()))


def outbox_batch_handlers(topic: str) -> list[OutboxBatchHandler]:
    return list(_batch_handlers.get(topic, ()))


def outbox_publish(*, topic: str, payload: dict[str, Any]) -> OutboxMessage:
    """Store a message with the current write; schedule its delivery after commit."""
    message = OutboxMessage.objects.create(topic=topic, payload=payload)
    after_commit(_schedule_relay)
    return message


#: Leading and trailing edge: the first commit of a quiet period is relayed at once; the
#: commits that follow within the window share one relay at its end. A burst of writes
#: schedules at most two relays per window, and a lone write waits for no window.
RELAY_DEBOUNCE_SECONDS = 0.2
_last_relay_scheduled = 0.0
_trailing_until = 0.0
_schedule_lock = threading.Lock()


def _schedule_relay() -> None:
    global _last_relay_scheduled, _trailing_until
    from hub.kernel.tasks import outbox_relay

    now = time.monotonic()
    with _schedule_lock:
        if now - _last_relay_scheduled >= RELAY_DEBOUNCE_SECONDS:
            _last_relay_scheduled = now
            countdown = 0.0
        elif now >= _trailing_until:
            # One relay at the end of this window delivers everything committed meanwhile.
            countdown = _last_relay_scheduled + RELAY_DEBOUNCE_SECONDS - now
            _trailing_until = _last_relay_scheduled + RELAY_DEBOUNCE_SECONDS
        else:
            return
    if countdown > 0:
        outbox_relay.apply_async(countdown=countdown)
    else:
        outbox_relay.delay()


def _run(handlers: list[Callable[[Any], None]], argument: Any, topic: str) -> Exception | None:
    """Call ``handlers`` in one savepoint: a failure undoes only their writes."""
    if not handlers:
        return None
    try:
        with transaction.atomic():
            for handler in handlers:
                handler(argument)
    except Exception as exc:  # a failing handler must not block the others
        logger.exception("outbox handler failed", extra={"topic": topic})
        return exc
    return None


def outbox_relay(*, limit: int = RELAY_BATCH, chunk: int = RELAY_CHUNK) -> int:
    """Deliver up to ``limit`` pending messages in order; returns how many were delivered.

    Works in rounds of ``chunk`` messages, each in its own transaction: what a round's
    handlers wrote becomes visible when that round commits, so a message waits for at
    most one round of the others' handlers, not for the whole ``limit``.
    """
    delivered = 0
    while delivered < limit:
        want = min(chunk, limit - delivered)
        done, seen = _relay_round(want)
        delivered += done
        if seen < want or done == 0:
            break  # nothing more pending now (or only messages that keep failing)
    return delivered


def _relay_round(limit: int) -> tuple[int, int]:
    """One transaction: lock up to ``limit`` pending messages, deliver, mark them."""
    with transaction.atomic():
        pending = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True)
            # Messages that failed before go after fresh ones: a poisoned message
            # never holds up the rest.
            .order_by("attempts", "id")[:limit]
        )
        failed: dict[int, Exception] = {}
        by_topic: dict[str, list[OutboxMessage]] = defaultdict(list)
        for message in pending:
            by_topic[message.topic].append(message)
            error = _run(outbox_handlers(message.topic), message.payload, message.topic)
            if error is not None:
                failed[message.pk] = error
        for topic, messages in by_topic.items():
            payloads = [m.payload for m in messages]
            for batch_handler in outbox_batch_handlers(topic):
                error = _run([batch_handler], payloads, topic)
                if error is not None:
                    for m in messages:
                        failed.setdefault(m.pk, error)
        delivered = [m for m in pending if m.pk not in failed]
        for message in pending:
            if message.pk in failed:
                OutboxMessage.objects.filter(pk=message.pk).update(
                    attempts=message.attempts + 1, last_error=repr(failed[message.pk])[:2000]
                )
        if delivered:  # one statement for the whole round
            OutboxMessage.objects.filter(pk__in=[m.pk for m in delivered]).update(
                dispatched_at=timezone.now(), attempts=F("attempts") + 1
            )
    return len(delivered), len(pending)
