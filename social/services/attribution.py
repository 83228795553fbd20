"""Attribute orders to shares and keep the rewards ledger in step with refunds.

Rules (tested in tests/social/test_attribution.py):
- an order is credited to at most one share link, chosen by the configured model among
  the buyer's counted clicks within the window, never a link the buyer shared;
- only that link's sharer earns, a share of the order's merchandise (single level:
  nobody earns on the sales of people they referred), capped at 30%;
- cancellation reverses the whole reward, returns reverse it pro rata by returned value,
  refunds pro rata by money refunded (whichever is larger; never twice).
Both handlers are idempotent: they are driven by the outbox, delivered at least once.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Sum

from hub.kernel.audit import audit_record
from oms.models import Order
from payments.selectors import payments_for_order
from social.models import AnalyticsEvent, Attribution, RewardEntry, ShareClick
from social.policy import current_policy
from social.services.analytics import analytics_event_record

REVERSING_STATUSES = frozenset({"cancelled", "returned", "partially_returned"})


def _choose_click(order: Order, buyer_id: int) -> ShareClick | None:
    policy = current_policy()
    clicks = list(
        ShareClick.objects.select_related("link")
        .filter(
            user_id=buyer_id,
            counted=True,
            created_at__gte=order.created_at - policy.window,
            created_at__lte=order.created_at,
        )
        .exclude(link__sharer_id=buyer_id)
        .order_by("created_at", "pk")
    )
    if not clicks:
        return None
    if policy.model == "first_touch":
        return clicks[0]
    if (
        policy.model == "protection"
        and clicks[0].created_at + policy.protection >= order.created_at
    ):
        return clicks[0]
    return clicks[-1]


def attribution_for_order(*, order_number: str) -> Attribution | None:
    """Credit a new order to a share, once; returns the attribution or None."""
    try:
        return _attribute(order_number)
    except IntegrityError:  # a concurrent delivery attributed it first
        return Attribution.objects.get(order_number=order_number)


def _attribute(order_number: str) -> Attribution | None:
    with transaction.atomic():
        existing = Attribution.objects.filter(order_number=order_number).first()
        if existing is not None:
            return existing
        order = Order.objects.filter(number=order_number).first()
        if order is None or order.customer_id is None:
            return None
        click = _choose_click(order, order.customer_id)
        if click is None:
            return None
        policy = current_policy()
        sales = max(0, order.subtotal_amount - order.discount_amount)
        attribution = Attribution.objects.create(
            order_number=order.number,
            link=click.link,
            click=click,
            sharer_id=click.link.sharer_id,
            buyer_id=order.customer_id,
            model=policy.model,
            sales_amount=sales,
            currency=order.currency,
            rate_bps=policy.rate_bps,
        )
        reward = policy.reward_for(sales)
        RewardEntry.objects.create(
            sharer_id=attribution.sharer_id,
            attribution=attribution,
            kind=RewardEntry.Kind.EARN,
            amount=reward,
            currency=order.currency,
            reason=f"order {order.number}",
        )
        analytics_event_record(
            kind=AnalyticsEvent.Kind.ORDER,
            platform=click.link.platform,
            target_kind=click.link.target_kind,
            target_id=click.link.target_id,
            sharer_id=attribution.sharer_id,
            amount=sales,
        )
        audit_record(
            kind="social.order_attributed",
            aggregate_type="order",
            aggregate_id=order.number,
            payload={
                "link": click.link.code,
                "sharer": attribution.sharer_id,
                "sales": sales,
                "reward": reward,
                "currency": order.currency,
            },
        )
        return attribution


def _returned_value(order: Order) -> int:
    return sum(line.quantity_returned * line.unit_price_amount for line in order.lines.all())


def _refunded_value(order: Order) -> int:
    """Money refunded on the order's payments (succeeded refunds only)."""
    return sum(p.refunded_amount for p in payments_for_order(order.pk))


def attribution_reverse(*, order_number: str) -> int:
    """Bring reversals up to what the order's state calls for; returns the amount reversed now."""
    with transaction.atomic():
        attribution = (
            Attribution.objects.select_for_update().filter(order_number=order_number).first()
        )
        if attribution is None:
            return 0
        order = Order.objects.get(number=order_number)
        entries = attribution.entries.all()
        earned = entries.filter(kind=RewardEntry.Kind.EARN).aggregate(s=Sum("amount"))["s"] or 0
        reversed_so_far = -(
            entries.filter(kind=RewardEntry.Kind.REVERSE).aggregate(s=Sum("amount"))["s"] or 0
        )
        if order.status == "cancelled":
            due, reason = earned, f"order {order_number} cancelled"
        else:
            subtotal = order.subtotal_amount
            returned = min(_returned_value(order), subtotal)
            due = earned * returned // subtotal if subtotal else 0
            reason = f"order {order_number} returned ({returned}/{subtotal})"
            # Money given back without a return (a goodwill refund) reverses pro rata too;
            # a return's own refund is the same fraction, so the larger one counts once.
            paid = order.total_amount
            refunded = min(_refunded_value(order), paid)
            by_refund = earned * refunded // paid if paid else 0
            if by_refund > due:
                due, reason = by_refund, f"order {order_number} refunded ({refunded}/{paid})"
        delta = due - reversed_so_far
        if delta <= 0:
            return 0
        RewardEntry.objects.create(
            sharer_id=attribution.sharer_id,
            attribution=attribution,
            kind=RewardEntry.Kind.REVERSE,
            amount=-delta,
            currency=attribution.currency,
            reason=reason,
        )
        audit_record(
            kind="social.reward_reversed",
            aggregate_type="order",
            aggregate_id=order_number,
            payload={"sharer": attribution.sharer_id, "amount": delta},
        )
        return delta
