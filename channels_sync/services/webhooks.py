"""Webhooks in: verify, store raw (deduplicated by delivery id), process once."""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_sync.errors import ConnectionDisabled
from channels_sync.models import Connection, DeadLetter, WebhookDelivery
from channels_sync.services.connections import connector_of
from channels_sync.services.orders import IngestResult, order_ingest
from channels_sync.states import DeliveryStatus
from hub.kernel.effects import after_commit
from hub.kernel.errors import DomainError

ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/cancelled",  # Shopify
        "order.created",
        "order.updated",
        "order.deleted",
        "order.restored",  # WooCommerce
    }
)


def webhook_receive(
    *, connection: Connection, headers: Mapping[str, str], body: bytes
) -> tuple[WebhookDelivery, bool]:
    """Store a verified webhook; a redelivery returns the stored row and ``False``.

    The signature is checked before anything is written: a forged body raises
    ``InvalidSignature`` (401) and leaves no trace but a log line.
    """
    if not connection.enabled:
        raise ConnectionDisabled(f"sales channel {connection.sales_channel.code} is disconnected")
    envelope = connector_of(connection).verify_webhook(headers=headers, body=body)
    with transaction.atomic():
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    connection=connection,
                    delivery_id=envelope.delivery_id,
                    topic=envelope.topic,
                    body=body.decode(),
                )
        except IntegrityError:
            existing = WebhookDelivery.objects.get(
                connection=connection, delivery_id=envelope.delivery_id
            )
            return existing, False
        after_commit(lambda: _enqueue(delivery.pk))
    return delivery, True


def _enqueue(delivery_id: int) -> None:
    from channels_sync.tasks import webhook_process as task

    task.delay(delivery_id)


def webhook_process(*, delivery_id: int) -> str:
    """Apply one stored webhook; runs any number of times, takes effect once."""
    try:
        with transaction.atomic():
            delivery = (
                WebhookDelivery.objects.select_for_update()
                .select_related("connection__sales_channel")
                .get(pk=delivery_id)
            )
            if delivery.status != DeliveryStatus.RECEIVED:
                return delivery.status
            delivery.attempts += 1
            if delivery.topic not in ORDER_TOPICS:
                delivery.status = DeliveryStatus.IGNORED
            else:
                connector = connector_of(delivery.connection)
                data = connector.parse_order(json.loads(delivery.body))
                outcome = order_ingest(connection=delivery.connection, data=data)
                delivery.status = (
                    DeliveryStatus.IGNORED
                    if outcome.result == IngestResult.STALE
                    else DeliveryStatus.PROCESSED
                )
            delivery.processed_at = timezone.now()
            delivery.save(update_fields=["status", "attempts", "processed_at"])
            return delivery.status
    except DomainError as error:
        # The body itself is the problem (unknown SKU, bad shape): park it with the reason.
        with transaction.atomic():
            delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
            delivery.status = DeliveryStatus.FAILED
            delivery.error = error.message[:500]
            delivery.attempts += 1
            delivery.save(update_fields=["status", "error", "attempts"])
            DeadLetter.objects.create(
                connection_id=delivery.connection_id,
                kind="webhook",
                key=delivery.delivery_id,
                reason=error.message[:500],
                attempts=delivery.attempts,
                ref_id=delivery.pk,
            )
        return DeliveryStatus.FAILED
