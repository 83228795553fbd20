"""Coupon drops in the room: a code handed out with a quantity and a per-user claim limit.

The code itself belongs to the members app (referenced by its string only). Claims are
gated like drop quota: a conditional decrement that can never go below zero, a per-user
limit checked under the coupon drop's row lock, and one claim per idempotency key.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from hub.kernel.audit import audit_record
from hub.kernel.effects import after_commit
from live import events
from live.errors import BuyerLimitReached, CouponGone, InvalidMessage, NotAllowed
from live.models import CouponClaim, CouponDrop, Show
from live.selectors import can_host
from live.services.replay import replay_mark


def coupon_drop_create(
    *, show: Show, actor: User, code: str, quantity: int, claim_limit: int = 1
) -> CouponDrop:
    if not can_host(actor, show):
        raise NotAllowed("only the show's host may drop coupons")
    code = (code or "").strip()
    if not 1 <= len(code) <= 64:
        raise InvalidMessage("a coupon code has 1-64 characters")
    if not isinstance(quantity, int) or not 1 <= quantity <= 1_000_000:
        raise InvalidMessage("quantity must be between 1 and 1000000")
    if not isinstance(claim_limit, int) or not 1 <= claim_limit <= 100:
        raise InvalidMessage("claim_limit must be between 1 and 100")
    with transaction.atomic():
        coupon = CouponDrop.objects.create(
            show=show, code=code, quantity=quantity, remaining=quantity, claim_limit=claim_limit
        )
        audit_record(
            kind="live.coupon.dropped",
            aggregate_type="live_show",
            aggregate_id=show.code,
            actor_id=actor.pk,
            payload={"code": code, "quantity": quantity},
        )
        payload = events.event(
            "room.coupon", id=coupon.pk, code=code, left=quantity, claim_limit=claim_limit
        )
        after_commit(lambda: events.broadcast(show.code, payload))
        replay_mark(show_id=show.pk, kind="coupon", payload={
            "coupon": coupon.pk, "code": code, "quantity": quantity,
        })  # fmt: skip
    return coupon


def coupon_claim(*, coupon: CouponDrop, user: User, key: str) -> CouponClaim:
    """Claim one coupon, once per key; refuses past the per-user limit or when gone."""
    if not key or len(key) > 100:
        raise InvalidMessage("an idempotency key of 1-100 characters is required")
    with transaction.atomic():
        locked = CouponDrop.objects.select_for_update().get(pk=coupon.pk)
        prior = CouponClaim.objects.filter(coupon_drop=locked, user=user, key=key).first()
        if prior is not None:
            return prior
        if CouponClaim.objects.filter(coupon_drop=locked, user=user).count() >= locked.claim_limit:
            raise BuyerLimitReached(f"at most {locked.claim_limit} per person")
        taken = CouponDrop.objects.filter(pk=locked.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if not taken:
            raise CouponGone("all coupons are claimed")
        return CouponClaim.objects.create(coupon_drop=locked, user=user, key=key)
