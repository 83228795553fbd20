"""Payment writes: create, apply gateway state, refund, close, reconcile.

Gateway calls never run inside a database transaction: a row is committed first (so a
crash leaves a record the reconciliation job finds), the call is made, and its result is
applied in a second short transaction that locks the payment row. Applying a state is
idempotent and order-independent: moves outside ``PAYMENT_TRANSITIONS`` are ignored, so
a late "closed" never undoes a "succeeded".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from hub.kernel.audit import audit_record
from hub.kernel.effects import after_commit
from hub.kernel.errors import InvalidTransition, message_text
from hub.kernel.ids import opaque_token
from hub.kernel.outbox import outbox_publish
from hub.kernel.states import can_transition, require_transition
from members.risk import risk_check_before_payment
from oms.models import Order
from oms.services.orders import order_mark_paid
from oms.states import OrderStatus
from payments import locks, selectors
from payments.errors import (
    InvalidPaymentInput,
    NotificationRejected,
    ProviderError,
    RefundTooLarge,
)
from payments.models import Payment, PaymentNotification, PaymentStatusChange, Refund
from payments.providers import (
    Ack,
    PaymentIntent,
    PaymentProvider,
    RefundState,
    TradeState,
    get_provider,
)
from payments.states import (
    CAPTURED,
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
    PaymentStatus,
    RefundStatus,
)

logger = logging.getLogger(__name__)

OUTCOME_STATUS: dict[str, str] = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "failed": PaymentStatus.FAILED,
    "closed": PaymentStatus.CANCELLED,
}
#: A refund that fails this many submissions in a row is marked failed for staff.
MAX_REFUND_ATTEMPTS = 5


def _actor_id(actor: User | None) -> int | None:
    return actor.pk if actor is not None else None


def _reference() -> str:
    return opaque_token(12).replace("-", "A").replace("_", "B")  # 16 chars, [A-Za-z0-9]


# ---- state machine ----------------------------------------------------------------------


def transition_payment(
    *,
    payment: Payment,
    target: str,
    source: str,
    actor: User | None = None,
    also_save: tuple[str, ...] = (),
) -> Payment:
    """The one place a payment's status changes; refuses moves not in the table.

    ``also_save`` names fields the caller set on ``payment`` for this move (the gateway's
    transaction id, ``paid_at``), written in the same UPDATE.
    """
    current = payment.status
    require_transition(PAYMENT_TRANSITIONS, aggregate="payment", current=current, target=target)
    payment.status = target
    payment.save(update_fields=["status", "updated_at", *also_save])
    PaymentStatusChange.objects.create(
        payment=payment, from_status=current, to_status=target, source=source
    )
    audit_record(
        kind="payment.status_changed",
        aggregate_type="payment",
        aggregate_id=payment.reference,
        actor_id=_actor_id(actor),
        payload={"from": current, "to": target, "source": source, "order": payment.order_id},
    )
    outbox_publish(
        topic="payment.status_changed",
        payload={"payment": payment.reference, "from": current, "to": target},
    )
    return payment


def transition_refund(*, refund: Refund, target: str) -> Refund:
    require_transition(REFUND_TRANSITIONS, aggregate="refund", current=refund.status, target=target)
    refund.status = target
    refund.save(update_fields=["status", "updated_at"])
    return refund


# ---- create -----------------------------------------------------------------------------


def payment_risk_check(*, order: Order, device_id: str = "", client_ip: str = "") -> None:
    """Assess the order's risk in a transaction of its own, before any payment request.

    Edges call this outside the request's transaction (``run_idempotently`` wraps the
    create in one): a flagged assessment must stay committed for staff to review even
    though the payment request itself fails with ``PaymentOnHold`` (409).
    """
    if order.status == OrderStatus.PENDING_PAYMENT:
        risk_check_before_payment(order=order, device_id=device_id, client_ip=client_ip)


def payment_create(
    *,
    order: Order,
    provider: str,
    method: str,
    actor: User | None,
    client_ip: str = "",
    openid: str = "",
    return_url: str = "",
    device_id: str = "",
) -> Payment:
    """Start collecting an order's total; returns the payment with what the client needs.

    An open payment for the same order, provider, method and amount is reused, so a
    double-tapped "pay" button gets one trade at the gateway. That holds for taps that
    race too: a second caller that finds the first one's payment still waiting for the
    gateway asks the gateway again for the same trade number, which gateways treat as the
    same trade (WeChat Pay and Alipay key trades by ``out_trade_no``).
    """
    gateway = get_provider(provider)
    if method not in gateway.methods:
        raise InvalidPaymentInput(
            f"{provider} supports {', '.join(sorted(gateway.methods))}, not {method!r}"
        )
    payment_risk_check(order=order, device_id=device_id, client_ip=client_ip)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != OrderStatus.PENDING_PAYMENT:
            raise InvalidPaymentInput(f"order {order.number} is {order.status}, not payable")
        if order.total_amount <= 0:
            raise InvalidPaymentInput("nothing to pay: the order total is zero")
        payment = (
            Payment.objects.filter(
                order=order,
                provider=provider,
                method=method,
                amount=order.total_amount,
                status=PaymentStatus.PENDING,
            )
            .order_by("id")
            .first()
        )
        if payment is not None and payment.client_payload:
            return payment
        fresh = payment is None  # else: a racing tap's payment, still waiting for the gateway
        if payment is None:
            payment = Payment.objects.create(
                reference=_reference(),
                order=order,
                provider=provider,
                method=method,
                amount=order.total_amount,
                currency=order.currency,
            )
            audit_record(
                kind="payment.created",
                aggregate_type="payment",
                aggregate_id=payment.reference,
                actor_id=_actor_id(actor),
                payload={
                    "order": order.number,
                    "provider": provider,
                    "method": method,
                    "amount": payment.amount,
                    "currency": payment.currency,
                },
            )
    return _payment_request(
        payment=payment,
        order=order,
        gateway=gateway,
        fresh=fresh,
        client_ip=client_ip,
        openid=openid,
        return_url=return_url,
    )


def _payment_request(
    *,
    payment: Payment,
    order: Order,
    gateway: PaymentProvider,
    fresh: bool,
    client_ip: str,
    openid: str,
    return_url: str,
) -> Payment:
    """Ask the gateway for the trade (outside any transaction) and keep what the client needs.

    Only the caller that created the row marks it failed when the gateway refuses; a
    caller reusing a racing payment leaves that to its creator.
    """
    intent = PaymentIntent(
        reference=payment.reference,
        amount=payment.amount,
        currency=payment.currency,
        description=f"LiveHub order {order.number}",
        method=payment.method,
        client_ip=client_ip,
        openid=openid,
        return_url=return_url,
    )
    try:
        created = gateway.create(intent)
    except (ProviderError, InvalidPaymentInput):
        if fresh:
            with transaction.atomic():
                payment = locks.lock_payment(payment.pk)
                transition_payment(payment=payment, target=PaymentStatus.FAILED, source="create")
        raise
    Payment.objects.filter(pk=payment.pk).update(
        client_payload=created.client_payload, updated_at=timezone.now()
    )
    payment.client_payload = created.client_payload
    return payment


# ---- apply what the gateway says --------------------------------------------------------


def payment_apply_trade_state(*, state: TradeState, source: str) -> Payment:
    """Apply a verified trade state; duplicates and stale states change nothing.

    Duplicates are answered from an unlocked read: every state a payment can reach from
    the one read also refuses the move (the table only goes forward for gateway outcomes:
    succeeded, failed, cancelled), so a refused move stays refused and needs no lock.
    Anything else takes the row lock and decides again on the locked row.
    """
    target = OUTCOME_STATUS.get(state.outcome)
    seen = Payment.objects.filter(reference=state.reference).first()
    if seen is None:
        raise NotificationRejected(f"unknown payment {state.reference}")
    if target is None or not can_transition(PAYMENT_TRANSITIONS, seen.status, target):
        return seen
    with transaction.atomic():
        payment = locks.lock_payment_by_reference(state.reference)
        if not can_transition(PAYMENT_TRANSITIONS, payment.status, target):
            return payment
        also_save: tuple[str, ...] = ()
        if target == PaymentStatus.SUCCEEDED:
            if state.amount is not None and state.amount != payment.amount:
                raise NotificationRejected(
                    f"paid amount {state.amount} does not match {payment.amount}"
                )
            payment.provider_transaction_id = state.transaction_id
            payment.paid_at = timezone.now()
            also_save = ("provider_transaction_id", "paid_at")
        transition_payment(payment=payment, target=target, source=source, also_save=also_save)
        if target == PaymentStatus.SUCCEEDED:
            _settle_order(payment)
    return payment


def _settle_order(payment: Payment) -> None:
    """Mark the order paid, or give the money back if the order no longer wants it."""
    order = Order.objects.get(pk=payment.order_id)
    if order.status == OrderStatus.PENDING_PAYMENT:
        order_mark_paid(order=order, payment_reference=payment.reference)
        for other in Payment.objects.filter(order=order, status=PaymentStatus.PENDING).exclude(
            pk=payment.pk
        ):
            _schedule_close(other.pk)
        return
    if order.payment_reference == payment.reference:
        return
    # Paid twice, or paid after the order was cancelled: refund this payment in full.
    payment_refund(
        payment=payment,
        amount=payment.amount,
        reason=f"order {order.number} is {order.status}",
        source_key=f"unwanted:{payment.reference}",
        actor=None,
    )


def payment_handle_notification(
    *, provider: str, headers: Mapping[str, str], body: bytes
) -> tuple[Ack, PaymentNotification]:
    """Store a gateway callback raw, verify it, apply it; answer as the gateway expects."""
    gateway = get_provider(provider)
    record = PaymentNotification.objects.create(
        provider=provider,
        headers={k: v for k, v in headers.items() if k.lower().startswith(("wechatpay", "x-"))},
        body=body.decode("utf-8", errors="replace"),
    )
    try:
        notification = gateway.parse_notification(headers=headers, body=body)
        if notification.trade is not None:
            record.payment_reference = notification.trade.reference[:32]
            payment = payment_apply_trade_state(state=notification.trade, source="notification")
            record.outcome = payment.status
        if notification.refund is not None:
            refund = refund_apply_state(state=notification.refund)
            record.payment_reference = refund.payment.reference
            record.outcome = f"refund:{refund.status}"
    except NotificationRejected as rejected:
        record.error = rejected.message[:300]
        record.save(update_fields=["error", "payment_reference"])
        logger.warning("payment notification rejected", extra={"provider": provider})
        return gateway.ack(ok=False, message=message_text(rejected)), record
    record.verified = True
    record.save(update_fields=["verified", "outcome", "payment_reference"])
    return gateway.ack(ok=True), record


# ---- refunds ----------------------------------------------------------------------------


def payment_refund(
    *, payment: Payment, amount: int, reason: str, source_key: str, actor: User | None
) -> Refund:
    """Record a refund once per ``source_key``; the gateway call runs after commit."""
    if amount <= 0:
        raise InvalidPaymentInput("a refund amount must be positive")
    with transaction.atomic():
        payment = locks.lock_payment(payment.pk)
        existing = Refund.objects.filter(source_key=source_key).first()
        if existing is not None:
            return existing
        if payment.status not in CAPTURED:
            raise InvalidTransition("payment", payment.status, "refunded")
        available = selectors.refundable_amount(payment)
        if amount > available:
            raise RefundTooLarge(
                f"refund of {amount} exceeds the {available} still refundable",
                available=available,
            )
        refund = Refund.objects.create(
            reference=_reference(),
            payment=payment,
            source_key=source_key,
            amount=amount,
            reason=reason[:200],
        )
        audit_record(
            kind="payment.refund_requested",
            aggregate_type="payment",
            aggregate_id=payment.reference,
            actor_id=_actor_id(actor),
            payload={"refund": refund.reference, "amount": amount, "reason": reason[:200]},
        )
        refund_id = refund.pk
        after_commit(lambda: _schedule_refund_submit(refund_id))
    return refund


def _schedule_refund_submit(refund_id: int) -> None:
    from payments.tasks import refund_submit

    refund_submit.delay(refund_id)


def _schedule_close(payment_id: int) -> None:
    def enqueue() -> None:
        from payments.tasks import payment_close

        payment_close.delay(payment_id)

    after_commit(enqueue)


def refund_submit(*, refund_id: int) -> Refund:
    """Send a recorded refund to its gateway (idempotent there by our refund number)."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status not in (RefundStatus.PENDING, RefundStatus.FAILED):
        return refund
    payment = refund.payment
    try:
        state = get_provider(payment.provider).refund(
            reference=payment.reference,
            refund_reference=refund.reference,
            amount=refund.amount,
            total=payment.amount,
            currency=payment.currency,
            reason=refund.reason,
        )
    except ProviderError as error:
        with transaction.atomic():
            refund = locks.lock_refund(refund_id)
            refund.attempts += 1
            refund.last_error = error.message[:2000]
            refund.save(update_fields=["attempts", "last_error", "updated_at"])
            if refund.attempts >= MAX_REFUND_ATTEMPTS and refund.status == RefundStatus.PENDING:
                transition_refund(refund=refund, target=RefundStatus.FAILED)
        return refund
    return refund_apply_state(state=state)


def refund_apply_state(*, state: RefundState) -> Refund:
    """Apply a refund's state from the gateway; repeats and stale states change nothing."""
    with transaction.atomic():
        found = Refund.objects.filter(reference=state.refund_reference).first()
        if found is None:
            raise NotificationRejected(f"unknown refund {state.refund_reference}")
        payment = locks.lock_payment(found.payment_id)
        refund = locks.lock_refund(found.pk)
        target = {
            "processing": RefundStatus.PROCESSING,
            "succeeded": RefundStatus.SUCCEEDED,
            "failed": RefundStatus.FAILED,
        }[state.outcome]
        if target == refund.status or not can_transition(REFUND_TRANSITIONS, refund.status, target):
            return refund
        refund.attempts += 1
        if state.provider_refund_id:
            refund.provider_refund_id = state.provider_refund_id
        refund.save(update_fields=["attempts", "provider_refund_id", "updated_at"])
        transition_refund(refund=refund, target=target)
        if target == RefundStatus.SUCCEEDED:
            payment.refunded_amount += refund.amount
            payment.save(update_fields=["refunded_amount", "updated_at"])
            full = payment.refunded_amount >= payment.amount
            transition_payment(
                payment=payment,
                target=PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED,
                source="refund",
            )
            outbox_publish(
                topic="payment.refunded",
                payload={
                    "payment": payment.reference,
                    "refund": refund.reference,
                    "amount": refund.amount,
                    "order": payment.order_id,
                },
            )
    return refund


# ---- order-driven refunds ----------------------------------------------------------------


@dataclass(frozen=True)
class RefundPlan:
    payment: Payment
    amount: int


def order_refund_due(order: Order) -> int:
    """What the order owes back in total: everything if cancelled, pro rata if returned.

    Returned value is each line's unit price times its returned quantity; the share of
    the order total is that value over the subtotal, rounded down to the minor unit
    (the merchant keeps the fraction of a fen). A full return refunds the whole total.
    """
    if order.status == OrderStatus.CANCELLED:
        return order.total_amount
    lines = list(order.lines.all())
    if all(line.quantity_returned == line.quantity for line in lines):
        return order.total_amount
    returned_value = sum(line.unit_price_amount * line.quantity_returned for line in lines)
    if not order.subtotal_amount:
        return 0
    return order.total_amount * returned_value // order.subtotal_amount


def order_refund(*, order: Order, actor: User | None = None) -> list[Refund]:
    """Refund what the order's cancellation or returns owe, across its captured payments.

    The source key carries the cumulative amount due, so replays of the same order event
    refund nothing twice and a later return refunds only the difference.
    """
    due = order_refund_due(order)
    outstanding = due - selectors.refund_committed(order.pk)
    refunds: list[Refund] = []
    for payment in selectors.captured_payments(order.pk):
        if outstanding <= 0:
            break
        amount = min(outstanding, selectors.refundable_amount(payment))
        if amount <= 0:
            continue
        refunds.append(
            payment_refund(
                payment=payment,
                amount=amount,
                reason=f"order {order.number} {order.status}",
                source_key=f"order:{order.number}:{due}:{payment.reference}",
                actor=actor,
            )
        )
        outstanding -= amount
    return refunds


def payments_close_for_order(*, order: Order) -> None:
    for payment in Payment.objects.filter(order=order, status=PaymentStatus.PENDING):
        _schedule_close(payment.pk)


# ---- close and reconcile ------------------------------------------------------------------


def payment_close(*, payment_id: int) -> Payment:
    """Close an unpaid trade at the gateway, then here (money that raced in still wins)."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.status != PaymentStatus.PENDING:
        return payment
    gateway = get_provider(payment.provider)
    state = gateway.query(reference=payment.reference)
    if state.outcome == "succeeded":
        return payment_apply_trade_state(state=state, source="query")
    gateway.close(reference=payment.reference)
    return payment_apply_trade_state(
        state=TradeState(reference=payment.reference, outcome="closed"), source="close"
    )


@dataclass(frozen=True)
class ReconcileReport:
    checked: int
    settled: int
    closed: int
    refunds_advanced: int
    errors: int


def payment_reconcile(
    *, older_than: timedelta = timedelta(minutes=2), limit: int = 200
) -> ReconcileReport:
    """Ask gateways about payments left pending (lost notifications) and open refunds.

    Payments pending longer than the checkout hold are closed; refunds still pending are
    resubmitted (gateways dedupe by our refund number) and processing ones are queried.
    """
    expiry = timedelta(seconds=settings.LIVEHUB_CHECKOUT_HOLD_SECONDS)
    checked = settled = closed = advanced = errors = 0
    for payment in selectors.pending_payments_due(older_than=older_than, limit=limit):
        checked += 1
        try:
            state = get_provider(payment.provider).query(reference=payment.reference)
            if state.outcome != "pending":
                after = payment_apply_trade_state(state=state, source="query")
                settled += after.status == PaymentStatus.SUCCEEDED
                closed += after.status == PaymentStatus.CANCELLED
            elif timezone.now() - payment.created_at > expiry:
                after = payment_close(payment_id=payment.pk)
                closed += after.status == PaymentStatus.CANCELLED
        except (ProviderError, NotificationRejected):
            logger.exception("reconcile failed", extra={"payment": payment.reference})
            errors += 1
    for refund in selectors.open_refunds(limit=limit):
        before = refund.status
        try:
            if refund.status == RefundStatus.PENDING:
                refund = refund_submit(refund_id=refund.pk)
            else:
                refund = refund_apply_state(
                    state=get_provider(refund.payment.provider).query_refund(
                        refund_reference=refund.reference
                    )
                )
        except (ProviderError, NotificationRejected):
            errors += 1
            continue
        advanced += refund.status != before
    return ReconcileReport(checked, settled, closed, advanced, errors)
