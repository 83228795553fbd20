"""Fulfilment, tracking and cancellations back to the marketplace, retried until done."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_sync.connectors.base import Tracking
from channels_sync.errors import RateLimited, RemoteError
from channels_sync.models import Connection, DeadLetter, ExternalOrder, OrderPush
from channels_sync.services.breaker import breaker_allow, breaker_record
from channels_sync.services.connections import connector_of
from channels_sync.services.retry import MAX_ATTEMPTS, backoff_seconds
from channels_sync.states import BreakerState, PushKind, PushStatus
from oms.models import Order
from oms.states import FulfilmentStatus, OrderStatus

SHIPPED_STATES = frozenset(
    {OrderStatus.SHIPPED, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.DELIVERED}
)


def order_push_record(*, order_number: str, to_status: str) -> int:
    """Queue what the marketplace must learn about this order's new status."""
    order = Order.objects.filter(number=order_number).select_related("sales_channel").first()
    if order is None or order.external_ref is None:
        return 0
    ext = (
        ExternalOrder.objects.select_related("connection")
        .filter(order=order, connection__sales_channel=order.sales_channel)
        .first()
    )
    if ext is None:
        return 0
    queued = 0
    if to_status in SHIPPED_STATES:
        for fulfilment in order.fulfilments.filter(
            status__in=[FulfilmentStatus.SHIPPED, FulfilmentStatus.DELIVERED]
        ).exclude(tracking_number=""):
            queued += _queue(
                ext=ext, kind=PushKind.FULFILMENT, order=order, fulfilment_id=fulfilment.pk
            )
    elif to_status == OrderStatus.CANCELLED and not ext.platform_cancelled:
        queued += _queue(ext=ext, kind=PushKind.CANCEL, order=order, fulfilment_id=None)
    return queued


def _queue(*, ext: ExternalOrder, kind: str, order: Order, fulfilment_id: int | None) -> int:
    try:
        with transaction.atomic():
            OrderPush.objects.create(
                connection=ext.connection,
                dedupe_key=f"{kind}:{order.number}:{fulfilment_id or ''}",
                kind=kind,
                order=order,
                fulfilment_id=fulfilment_id,
                external_order_id=ext.external_id,
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        return 0  # announced twice: already queued
    return 1


def order_push_due(*, limit: int = 100) -> int:
    """Send due pushes; returns how many completed."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            OrderPush.objects.select_for_update(skip_locked=True)
            .filter(status=PushStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:limit]
        )
        # Claim by moving the next attempt out; a crash retries after the claim lapses.
        OrderPush.objects.filter(pk__in=[p.pk for p in due]).update(
            next_attempt_at=now + timedelta(seconds=60)
        )
    done = 0
    for push in due:
        done += _send(push)
    return done


def _send(push: OrderPush) -> int:
    gate = breaker_allow(connection_id=push.connection_id)
    connection = Connection.objects.get(pk=push.connection_id)
    if gate == "wait":
        # The marketplace is down: wait for its probe without spending an attempt.
        retry_at = connection.breaker_retry_at or timezone.now()
        OrderPush.objects.filter(pk=push.pk).update(next_attempt_at=retry_at)
        return 0
    connector = connector_of(connection)
    try:
        if push.kind == PushKind.FULFILMENT:
            assert push.fulfilment is not None
            connector.push_fulfilment(
                external_order_id=push.external_order_id,
                tracking=Tracking(push.fulfilment.carrier, push.fulfilment.tracking_number),
            )
        else:
            connector.push_cancellation(
                external_order_id=push.external_order_id, reason="cancelled by the seller"
            )
    except RateLimited as limited:
        breaker_record(connection_id=connection.pk, throttled=1)
        OrderPush.objects.filter(pk=push.pk).update(
            next_attempt_at=timezone.now() + timedelta(seconds=limited.retry_after)
        )
        return 0
    except RemoteError as error:
        state = breaker_record(
            connection_id=connection.pk,
            failed=int(error.retryable),
            rejected=int(not error.retryable),
            error=error.message,
        )
        if error.retryable and (gate == "probe" or state != BreakerState.CLOSED):
            # An outage, not this push: it waits for the breaker, attempts untouched.
            probe_at = Connection.objects.values_list("breaker_retry_at", flat=True).get(
                pk=connection.pk
            )
            OrderPush.objects.filter(pk=push.pk).update(
                last_error=error.message[:500], next_attempt_at=probe_at or timezone.now()
            )
            return 0
        attempts = push.attempts + 1
        if not error.retryable or attempts >= MAX_ATTEMPTS:
            with transaction.atomic():
                OrderPush.objects.filter(pk=push.pk).update(
                    status=PushStatus.DEAD, attempts=attempts, last_error=error.message[:500]
                )
                DeadLetter.objects.create(
                    connection=connection,
                    kind=push.kind,
                    key=push.order.number,
                    reason=error.message[:500],
                    attempts=attempts,
                    ref_id=push.pk,
                )
        else:
            OrderPush.objects.filter(pk=push.pk).update(
                attempts=attempts,
                last_error=error.message[:500],
                next_attempt_at=timezone.now() + timedelta(seconds=backoff_seconds(attempts)),
            )
        return 0
    breaker_record(connection_id=connection.pk, ok=1)
    OrderPush.objects.filter(pk=push.pk).update(status=PushStatus.DONE, attempts=push.attempts + 1)
    return 1
