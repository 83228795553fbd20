"""Dead letters: requeue everything parked for a connection (the health view's 'retry')."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from channels_sync.models import Connection, DeadLetter, OrderPush, WebhookDelivery
from channels_sync.services.breaker import breaker_probe_now
from channels_sync.services.stock_push import pending_mark
from channels_sync.states import DeliveryStatus, PushStatus
from hub.kernel.audit import audit_record
from hub.kernel.effects import after_commit


def dead_letters_retry(*, connection: Connection, actor_id: int | None) -> int:
    """Give every unretried dead letter a fresh set of attempts; returns how many.

    An open circuit breaker is told to probe at the next push instead of at the end of
    its cool-down: the seller pressing "retry" usually knows the marketplace is back.
    """
    from channels_sync import events

    with transaction.atomic():
        breaker_probe_now(connection=connection)
        letters = list(
            DeadLetter.objects.select_for_update().filter(connection=connection, retried_at=None)
        )
        webhook_ids: list[int] = []
        for letter in letters:
            if letter.kind == "stock" and letter.ref_id is not None:
                pending_mark(connection_id=connection.pk, variant_id=letter.ref_id)
            elif letter.kind == "webhook" and letter.ref_id is not None:
                WebhookDelivery.objects.filter(pk=letter.ref_id).update(
                    status=DeliveryStatus.RECEIVED, error=""
                )
                webhook_ids.append(letter.ref_id)
            elif letter.ref_id is not None:
                OrderPush.objects.filter(pk=letter.ref_id).update(
                    status=PushStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
                )
        DeadLetter.objects.filter(pk__in=[d.pk for d in letters]).update(retried_at=timezone.now())
        if letters:
            audit_record(
                kind="sync.dead_letters_retried",
                aggregate_type="sales_channel",
                aggregate_id=connection.sales_channel.code,
                actor_id=actor_id,
                payload={"count": len(letters)},
            )
        after_commit(events.schedule_stock_push)
        after_commit(events.schedule_order_push)
        for delivery_id in webhook_ids:
            after_commit(lambda d=delivery_id: events.schedule_webhook(d))  # type: ignore[misc]
    return len(letters)
