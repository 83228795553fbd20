"""Member writes: points ledger, coupons, tiers and birthday rewards.

Every ledger entry has a unique ``source_key`` naming its cause, so replays of the same
order event (the outbox delivers at least once) never earn, redeem or reverse twice.
Reversals are cumulative: the key carries the target amount, and each call books only
the difference from what was already reversed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from hub.kernel.audit import audit_record
from members.errors import CouponNotApplicable, NotEnoughPoints
from members.live_coupons import live_coupon_claimed
from members.models import Coupon, CouponRedemption, MemberProfile, PointsEntry, Tier
from members.rules import points_rules
from oms.models import Order
from oms.states import OrderStatus

K = PointsEntry.Kind
CREDITS = (K.EARN, K.BIRTHDAY, K.RESTORE)


# ---- profile and tiers ------------------------------------------------------------------


def member_profile(user: User) -> MemberProfile:
    profile, _ = MemberProfile.objects.get_or_create(user=user)
    return profile


#: Orders counted as spend: paid and not given back.
NOT_SPENT = (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED, OrderStatus.RETURNED)


def rolling_spend(user: User) -> int:
    """What the member spent on orders placed in the last 365 days (minor units)."""
    since = timezone.now() - timedelta(days=365)
    return (
        Order.objects.filter(customer=user, created_at__gte=since)
        .exclude(status__in=NOT_SPENT)
        .aggregate(total=Sum("total_amount"))["total"]
        or 0
    )


def member_recompute_tier(*, user: User) -> Tier | None:
    """Put the member in the highest tier their rolling 12-month spend reaches."""
    spend = rolling_spend(user)
    tier = Tier.objects.filter(threshold_amount__lte=spend).order_by("-threshold_amount").first()
    profile = member_profile(user)
    if profile.tier_id != (tier.pk if tier else None):
        profile.tier = tier
        profile.save(update_fields=["tier"])
    return tier


def member_tier(user: User) -> Tier | None:
    profile = MemberProfile.objects.filter(user=user).select_related("tier").first()
    return profile.tier if profile is not None else None


# ---- points -----------------------------------------------------------------------------


def points_balance(user: User) -> int:
    now = timezone.now()
    return (
        PointsEntry.objects.filter(user=user)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now) | Q(remaining__lt=0))
        .aggregate(total=Sum("remaining"))["total"]
        or 0
    )


def _credit(
    *, user: User, kind: str, points: int, source_key: str, order_number: str = ""
) -> PointsEntry | None:
    if points <= 0 or PointsEntry.objects.filter(source_key=source_key).exists():
        return None
    expires = timezone.now() + timedelta(days=points_rules().expiry_days)
    entry = PointsEntry.objects.create(
        user=user,
        kind=kind,
        delta=points,
        remaining=points,
        order_number=order_number,
        source_key=source_key,
        expires_at=expires,
    )
    _settle_debt(user)
    return entry


def _settle_debt(user: User) -> None:
    """A new credit first pays off any negative balance left by a reversal."""
    for debt in PointsEntry.objects.select_for_update().filter(user=user, remaining__lt=0):
        owed = -debt.remaining
        paid = _consume(user=user, points=owed, allow_debt=False)
        debt.remaining += paid
        debt.save(update_fields=["remaining"])


def _consume(*, user: User, points: int, allow_debt: bool, prefer: str = "") -> int:
    """Take points from unexpired credits, oldest expiry first; returns what was taken."""
    now = timezone.now()
    credits = list(
        PointsEntry.objects.select_for_update()
        .filter(user=user, kind__in=CREDITS, remaining__gt=0, expires_at__gt=now)
        .order_by("expires_at", "id")
    )
    if prefer:
        credits.sort(key=lambda e: e.order_number != prefer)
    taken = 0
    for credit in credits:
        if taken == points:
            break
        use = min(credit.remaining, points - taken)
        credit.remaining -= use
        credit.save(update_fields=["remaining"])
        taken += use
    if taken < points and not allow_debt:
        return taken
    return taken


def points_earn_for_order(*, order: Order) -> PointsEntry | None:
    """Credit points for a paid order (tier multiplier applied) once."""
    if order.customer is None:
        return None
    with transaction.atomic():
        rules = points_rules()
        tier = member_tier(order.customer)
        multiplier = tier.points_multiplier_pct if tier else 100
        per_major = 100  # minor units per yuan; CNY-only loyalty programme
        points = order.total_amount // per_major * rules.earn_per_major_unit * multiplier // 100
        entry = _credit(
            user=order.customer,
            kind=K.EARN,
            points=points,
            source_key=f"earn:{order.number}",
            order_number=order.number,
        )
        if entry is not None:
            audit_record(
                kind="points.earned",
                aggregate_type="member",
                aggregate_id=order.customer.pk,
                payload={"order": order.number, "points": points},
            )
    return entry


def points_redeem(*, user: User, points: int, order_number: str) -> PointsEntry:
    """Spend points at checkout; must run in the order's transaction."""
    if points <= 0:
        raise NotEnoughPoints("redeem a positive number of points")
    balance = points_balance(user)
    if points > balance:
        raise NotEnoughPoints(f"you have {balance} points, not {points}", balance=balance)
    taken = _consume(user=user, points=points, allow_debt=False)
    if taken != points:
        raise NotEnoughPoints(f"you have {taken} points, not {points}", balance=taken)
    return PointsEntry.objects.create(
        user=user,
        kind=K.REDEEM,
        delta=-points,
        remaining=0,
        order_number=order_number,
        source_key=f"redeem:{order_number}",
    )


@dataclass(frozen=True)
class Reversal:
    earned_reversed: int
    redeemed_restored: int


def points_reverse_for_order(*, order: Order, share_num: int, share_den: int) -> Reversal:
    """Take back earned points and give back redeemed ones for the refunded share.

    ``share_num/share_den`` is the refunded fraction of the order (1/1 for a cancel).
    """
    if order.customer is None or share_den <= 0:
        return Reversal(0, 0)
    user = order.customer
    with transaction.atomic():
        entries = PointsEntry.objects.filter(order_number=order.number)
        earned = sum(e.delta for e in entries if e.kind == K.EARN)
        redeemed = -sum(e.delta for e in entries if e.kind == K.REDEEM)
        already_reversed = -sum(e.delta for e in entries if e.kind == K.REVERSE)
        already_restored = sum(e.delta for e in entries if e.kind == K.RESTORE)
        target_reverse = earned * share_num // share_den
        target_restore = redeemed * share_num // share_den
        reverse = target_reverse - already_reversed
        restore = target_restore - already_restored
        if reverse > 0:
            taken = _consume(user=user, points=reverse, allow_debt=True, prefer=order.number)
            PointsEntry.objects.create(
                user=user,
                kind=K.REVERSE,
                delta=-reverse,
                remaining=-(reverse - taken),  # a shortfall stays as debt
                order_number=order.number,
                source_key=f"reverse:{order.number}:{target_reverse}",
            )
        if restore > 0:
            _credit(
                user=user,
                kind=K.RESTORE,
                points=restore,
                source_key=f"restore:{order.number}:{target_restore}",
                order_number=order.number,
            )
        if reverse > 0 or restore > 0:
            audit_record(
                kind="points.reversed",
                aggregate_type="member",
                aggregate_id=user.pk,
                payload={"order": order.number, "reversed": reverse, "restored": restore},
            )
    return Reversal(max(reverse, 0), max(restore, 0))


def points_expire_due() -> int:
    """Book expiry entries for credits that lapsed with points left (for the statement)."""
    now = timezone.now()
    count = 0
    with transaction.atomic():
        for credit in PointsEntry.objects.select_for_update().filter(
            kind__in=CREDITS, remaining__gt=0, expires_at__lte=now
        ):
            PointsEntry.objects.create(
                user_id=credit.user_id,
                kind=K.EXPIRE,
                delta=-credit.remaining,
                remaining=0,
                source_key=f"expire:{credit.pk}",
            )
            credit.remaining = 0
            credit.save(update_fields=["remaining"])
            count += 1
    return count


def birthday_rewards_grant(*, today: date) -> int:
    """Give birthday points once a year to members born on ``today`` (29 Feb -> 28 Feb)."""
    born = Q(birthday__month=today.month, birthday__day=today.day)
    if today.month == 2 and today.day == 28:
        born |= Q(birthday__month=2, birthday__day=29)
    granted = 0
    for profile in MemberProfile.objects.filter(born).select_related("user"):
        with transaction.atomic():
            entry = _credit(
                user=profile.user,
                kind=K.BIRTHDAY,
                points=points_rules().birthday_points,
                source_key=f"birthday:{profile.user_id}:{today.year}",
            )
            if entry is not None:
                profile.last_birthday_reward_year = today.year
                profile.save(update_fields=["last_birthday_reward_year"])
                granted += 1
    return granted


# ---- coupons ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    sku: str
    unit_price: int
    quantity: int


@dataclass(frozen=True)
class CouponEffect:
    coupon: Coupon
    discount: int  #: off the goods, minor units
    free_shipping: bool


def coupon_evaluate(
    *,
    code: str,
    user: User,
    sales_channel_id: int,
    currency: str,
    lines: list[PricedLine],
) -> CouponEffect:
    """What a coupon takes off these lines, or ``CouponNotApplicable`` saying why."""
    coupon = Coupon.objects.filter(code__iexact=code.strip()).first()
    if coupon is None or not coupon.is_active:
        raise CouponNotApplicable(f"coupon {code} does not exist")
    now = timezone.now()
    if coupon.valid_from and now < coupon.valid_from:
        raise CouponNotApplicable(f"coupon {coupon.code} is not valid yet")
    if coupon.valid_until and now > coupon.valid_until:
        raise CouponNotApplicable(f"coupon {coupon.code} has expired")
    if coupon.sales_channel_id and coupon.sales_channel_id != sales_channel_id:
        raise CouponNotApplicable(f"coupon {coupon.code} is not valid on this sales channel")
    if coupon.kind == Coupon.Kind.FIXED and coupon.currency != currency:
        raise CouponNotApplicable(f"coupon {coupon.code} is in {coupon.currency}")
    if coupon.live_room and not live_coupon_claimed(coupon.code, user):
        raise CouponNotApplicable(f"claim coupon {coupon.code} in the live room first")
    used = CouponRedemption.objects.filter(coupon=coupon, reversed_at__isnull=True)
    if used.filter(user=user).count() >= coupon.per_user_limit:
        raise CouponNotApplicable(f"you have already used coupon {coupon.code}")
    if coupon.total_limit is not None and used.count() >= coupon.total_limit:
        raise CouponNotApplicable(f"coupon {coupon.code} has run out")
    scope = set(coupon.skus)
    eligible = sum(
        line.unit_price * line.quantity for line in lines if not scope or line.sku in scope
    )
    if eligible == 0:
        raise CouponNotApplicable(f"coupon {coupon.code} does not cover these products")
    if eligible < coupon.min_spend:
        raise CouponNotApplicable(
            f"coupon {coupon.code} needs a spend of {coupon.min_spend} on eligible items",
            min_spend=coupon.min_spend,
        )
    if coupon.kind == Coupon.Kind.FIXED:
        discount = min(coupon.value, eligible)
    elif coupon.kind == Coupon.Kind.PERCENT:
        discount = eligible * min(coupon.value, 10000) // 10000  # rounds down: shopper's fen
    else:
        discount = 0
    return CouponEffect(coupon, discount, coupon.kind == Coupon.Kind.FREE_SHIPPING)


def coupon_redeem(*, coupon_id: int, user: User, order_number: str, amount: int) -> None:
    """Record the use inside the order's transaction; the coupon row lock serialises limits."""
    coupon = Coupon.objects.select_for_update().get(pk=coupon_id)
    used = CouponRedemption.objects.filter(coupon=coupon, reversed_at__isnull=True)
    if used.filter(user=user).count() >= coupon.per_user_limit:
        raise CouponNotApplicable(f"you have already used coupon {coupon.code}")
    if coupon.total_limit is not None and used.count() >= coupon.total_limit:
        raise CouponNotApplicable(f"coupon {coupon.code} has run out")
    CouponRedemption.objects.create(
        coupon=coupon, user=user, order_number=order_number, amount=amount
    )


def coupon_release_for_order(*, order: Order) -> bool:
    """A cancelled or fully returned order gives its coupon back to the shopper."""
    return bool(
        CouponRedemption.objects.filter(order_number=order.number, reversed_at__isnull=True).update(
            reversed_at=timezone.now()
        )
    )
