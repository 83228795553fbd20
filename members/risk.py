"""Risk checks before payment: velocity per user, device and address; unusual amounts;
blocklists. A flagged order cannot be paid until staff approve it; the reasons are kept
for them to read.

Rules (``LIVEHUB_RISK`` in settings overrides the defaults below) are deliberately
simple and explainable: every reason names the rule and the numbers that tripped it.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Avg
from django.utils import timezone

from hub.kernel.audit import audit_record
from hub.kernel.errors import Conflict, DomainError, InvalidTransition
from members.models import BlocklistEntry, MemberProfile, RiskAssessment
from oms.locks import lock_order
from oms.models import Order
from oms.services.orders import order_cancel
from oms.states import OrderStatus

DEFAULTS: dict[str, int] = {
    "window_minutes": 60,
    "max_orders_per_user": 5,
    "max_orders_per_device": 5,
    "max_orders_per_address": 8,
    "max_amount": 5_000_000,  #: 50,000 CNY: any single order above needs a look
    "unusual_multiple": 10,  #: ... or 10x the shopper's average paid order
}


class PaymentOnHold(Conflict):
    code = "payment_on_hold"


class InvalidRiskInput(DomainError):
    code = "invalid_risk_input"


def _rules() -> dict[str, int]:
    return {**DEFAULTS, **getattr(settings, "LIVEHUB_RISK", {})}


def address_key(address: dict[str, Any]) -> str:
    """A normalised hash of a shipping address (case and spaces ignored)."""
    parts = [str(address.get(k, "")) for k in ("region", "city", "line1", "postcode")]
    text = "|".join("".join(p.lower().split()) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest() if text.strip("|") else ""


def _reasons(order: Order, *, device_id: str, client_ip: str, addr: str) -> list[str]:
    rules = _rules()
    reasons: list[str] = []
    phone = ""
    if order.customer_id:
        profile = MemberProfile.objects.filter(user_id=order.customer_id).first()
        phone = (profile.phone or "") if profile else ""
    checks = [
        (BlocklistEntry.Kind.USER, str(order.customer_id or "")),
        (BlocklistEntry.Kind.PHONE, phone),
        (BlocklistEntry.Kind.DEVICE, device_id),
        (BlocklistEntry.Kind.IP, client_ip),
        (BlocklistEntry.Kind.ADDRESS, addr),
    ]
    for kind, value in checks:
        if value and BlocklistEntry.objects.filter(kind=kind, value=value).exists():
            reasons.append(f"blocklisted {kind}")
    since = timezone.now() - timedelta(minutes=rules["window_minutes"])
    window = f"{rules['window_minutes']} minutes"
    if order.customer_id:
        count = Order.objects.filter(customer_id=order.customer_id, created_at__gte=since).count()
        if count > rules["max_orders_per_user"]:
            reasons.append(f"{count} orders by this shopper in {window}")
    recent = RiskAssessment.objects.filter(created_at__gte=since)
    if device_id:
        count = recent.filter(device_id=device_id).count() + 1
        if count > rules["max_orders_per_device"]:
            reasons.append(f"{count} orders from this device in {window}")
    if addr:
        count = recent.filter(address_key=addr).count() + 1
        if count > rules["max_orders_per_address"]:
            reasons.append(f"{count} orders to this address in {window}")
    if order.total_amount > rules["max_amount"]:
        reasons.append(f"amount {order.total_amount} is over {rules['max_amount']}")
    elif order.customer_id:
        average = (
            Order.objects.filter(customer_id=order.customer_id)
            .exclude(status__in=[OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED])
            .aggregate(avg=Avg("total_amount"))["avg"]
        )
        if average and order.total_amount > average * rules["unusual_multiple"]:
            reasons.append(
                f"amount {order.total_amount} is over {rules['unusual_multiple']}x "
                f"this shopper's average of {int(average)}"
            )
    return reasons


def risk_check_before_payment(*, order: Order, device_id: str = "", client_ip: str = "") -> None:
    """Assess once per order; raise ``PaymentOnHold`` while it waits for (or failed) review.

    The order row lock serialises racing "pay" taps: the first assesses, the others read
    its verdict (a missing assessment row has nothing to lock).
    """
    with transaction.atomic():
        lock_order(order.pk)
        assessment = RiskAssessment.objects.filter(order=order).first()
        if assessment is None:
            addr = address_key(order.shipping_address or {})
            reasons = _reasons(order, device_id=device_id, client_ip=client_ip, addr=addr)
            assessment = RiskAssessment.objects.create(
                order=order,
                status=RiskAssessment.Status.FLAGGED if reasons else RiskAssessment.Status.CLEAR,
                reasons=reasons,
                device_id=device_id[:64],
                client_ip=client_ip[:45],
                address_key=addr,
            )
            if reasons:
                audit_record(
                    kind="order.risk_flagged",
                    aggregate_type="order",
                    aggregate_id=order.number,
                    payload={"reasons": reasons},
                )
    if assessment.status == RiskAssessment.Status.FLAGGED:
        raise PaymentOnHold(
            "this order is being reviewed before payment", reasons=assessment.reasons
        )
    if assessment.status == RiskAssessment.Status.REJECTED:
        raise PaymentOnHold("this order was declined after review")


def risk_decide(*, order: Order, approve: bool, actor: User) -> RiskAssessment:
    """Staff approve a flagged order (payment may proceed) or reject it (it is cancelled)."""
    with transaction.atomic():
        assessment = RiskAssessment.objects.select_for_update().get(order=order)
        if assessment.status != RiskAssessment.Status.FLAGGED:
            raise InvalidTransition("risk review", assessment.status, "decided")
        assessment.status = (
            RiskAssessment.Status.APPROVED if approve else RiskAssessment.Status.REJECTED
        )
        assessment.decided_by = actor
        assessment.save(update_fields=["status", "decided_by"])
        audit_record(
            kind="order.risk_decided",
            aggregate_type="order",
            aggregate_id=order.number,
            actor_id=actor.pk,
            payload={"approved": approve, "reasons": assessment.reasons},
        )
        if not approve:
            order_cancel(order=order, actor=actor, reason="declined after risk review")
    return assessment


def blocklist_add(*, kind: str, value: str, reason: str, actor: User) -> BlocklistEntry:
    """Block a user, phone, device, IP or address from paying (idempotent per value).

    Addresses may be given raw (``region|city|line1|postcode`` or a dict's text) or as the
    normalised hash; either way the stored value is the hash ``address_key`` produces.
    """
    if kind not in BlocklistEntry.Kind.values:
        raise InvalidRiskInput(f"unknown blocklist kind {kind!r}")
    value = value.strip()
    if kind == BlocklistEntry.Kind.ADDRESS and not _is_address_key(value):
        region, city, line1, postcode = ([*value.split("|"), "", "", ""])[:4]
        value = address_key({"region": region, "city": city, "line1": line1, "postcode": postcode})
    if not value:
        raise InvalidRiskInput("a blocklist entry needs a value")
    with transaction.atomic():
        entry, created = BlocklistEntry.objects.get_or_create(
            kind=kind, value=value[:200], defaults={"reason": reason[:200]}
        )
        if created:
            audit_record(
                kind="risk.blocklisted",
                aggregate_type="blocklist",
                aggregate_id=f"{kind}:{entry.pk}",
                actor_id=actor.pk,
                payload={"kind": kind, "reason": reason[:200]},
            )
    return entry


def _is_address_key(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)
