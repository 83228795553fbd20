"""Coupon drops in the room: a code handed out with a quantity and a per-user claim limit.

The code itself belongs to the members app (referenced by its string only). Claims are
gated like drop quota, with the same two gates:

* Redis (``REDIS_URL`` set): one Lua script (``live.quota.COUPON_TAKE``) replays a seen
  key, checks the per-user limit and the units left, and takes one, atomically; the
  claim row and the conditional decrement of ``remaining`` follow in one short
  transaction (no row lock held while deciding). If that write fails the take is undone
  (idempotently), so Redis and the database agree.
* database (embedded default, or a coupon drop without a gate): the per-user limit is
  checked under the coupon drop's row lock, and the decrement can never go below zero.

Either way: one claim per idempotency key, never more than ``quantity`` claims, never
more than ``claim_limit`` per user.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from hub.kernel.audit import audit_record
from hub.kernel.effects import after_commit
from live import events, quota
from live.errors import BuyerLimitReached, CouponGone, InvalidMessage, NotAllowed
from live.models import CouponClaim, CouponDrop, Show
from live.selectors import can_host
from live.services.replay import replay_mark


def coupon_drop_create(
    *, show: Show, actor: User, code: str, quantity: int, claim_limit: int = 1
) -> CouponDrop:
    if not can_host(actor, show):
        raise NotAllowed(_("only the show's host may drop coupons"))
    code = (code or "").strip()
    if not 1 <= len(code) <= 64:
        raise InvalidMessage(_("a coupon code has 1-64 characters"))
    if not isinstance(quantity, int) or not 1 <= quantity <= 1_000_000:
        raise InvalidMessage(_("quantity must be between 1 and 1000000"))
    if not isinstance(claim_limit, int) or not 1 <= claim_limit <= 100:
        raise InvalidMessage(_("claim_limit must be between 1 and 100"))
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
        if quota.enabled():
            quota.coupon_open(coupon_id=coupon.pk, quantity=quantity)
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
        raise InvalidMessage(_("an idempotency key of 1-100 characters is required"))
    if quota.enabled():
        took = quota.coupon_take(
            coupon_id=coupon.pk, user_id=user.pk, key=key, limit=coupon.claim_limit
        )
        if took.outcome != "closed":  # no gate (Redis lost it): the database decides
            return _claim_redis(coupon=coupon, user=user, key=key, outcome=took.outcome)
    with transaction.atomic():
        locked = CouponDrop.objects.select_for_update().get(pk=coupon.pk)
        prior = CouponClaim.objects.filter(coupon_drop=locked, user=user, key=key).first()
        if prior is not None:
            return prior
        if CouponClaim.objects.filter(coupon_drop=locked, user=user).count() >= locked.claim_limit:
            raise BuyerLimitReached(
                format_lazy(_("at most {limit} per person"), limit=locked.claim_limit)
            )
        taken = CouponDrop.objects.filter(pk=locked.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if not taken:
            raise CouponGone(_("all coupons are claimed"))
        return CouponClaim.objects.create(coupon_drop=locked, user=user, key=key)


def _claim_redis(*, coupon: CouponDrop, user: User, key: str, outcome: str) -> CouponClaim:
    """Write down a take the Redis gate decided; undo the take if the write fails."""
    if outcome == "limit":
        raise BuyerLimitReached(
            format_lazy(_("at most {limit} per person"), limit=coupon.claim_limit)
        )
    if outcome == "gone":
        raise CouponGone(_("all coupons are claimed"))
    if outcome == "replay":
        prior = CouponClaim.objects.filter(coupon_drop=coupon, user=user, key=key).first()
        if prior is not None:
            return prior
        # the take's first write never landed (crash): make it now
    try:
        with transaction.atomic():
            claim, created = CouponClaim.objects.get_or_create(
                coupon_drop=coupon, user=user, key=key
            )
            if created:
                taken = CouponDrop.objects.filter(pk=coupon.pk, remaining__gt=0).update(
                    remaining=F("remaining") - 1
                )
                if not taken:
                    raise CouponGone(_("all coupons are claimed"))
            return claim
    except IntegrityError:  # the same key raced itself: the other write won
        return CouponClaim.objects.get(coupon_drop=coupon, user=user, key=key)
    except Exception:
        quota.coupon_undo(coupon_id=coupon.pk, user_id=user.pk, key=key)
        raise
