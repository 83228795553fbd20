"""Reads of live rooms: permissions, the join snapshot, moderation settings, the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Sum
from django.utils import timezone

from hub.kernel.roles import Role, user_has_role
from live.models import (
    Comment,
    CouponClaim,
    Drop,
    DropClaim,
    LineupItem,
    Show,
    ShowBan,
    ShowModerator,
    ShowMute,
)
from live.states import TAKING, DropStatus
from oms.models import Hold, Order
from oms.selectors import available_to_promise
from oms.states import OrderStatus

AnyUser = AbstractBaseUser | AnonymousUser

#: Orders that count as paid on the dashboard (money received, not refunded).
PAID_STATUSES = frozenset(OrderStatus.values) - {
    OrderStatus.PENDING_PAYMENT,
    OrderStatus.CANCELLED,
}


def can_host(user: AnyUser | None, show: Show) -> bool:
    """The show's own host (a host manages only their shows), or a superuser."""
    if user is None or not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return show.host_id == user.pk and user_has_role(user, Role.HOST)


def can_moderate(user: AnyUser | None, show: Show) -> bool:
    if can_host(user, show):
        return True
    if user is None or not user.is_authenticated:
        return False
    return ShowModerator.objects.filter(show=show, user_id=user.pk).exists()


def role_in_show(user: AnyUser | None, show: Show) -> str:
    if can_host(user, show):
        return "host"
    if can_moderate(user, show):
        return "moderator"
    return "viewer"


def show_by_code(code: str) -> Show | None:
    return (
        Show.objects.select_related("host", "sales_channel", "pinned_item__product")
        .filter(code=code)
        .first()
    )


def open_drops(show: Show) -> list[Drop]:
    return list(
        Drop.objects.filter(show=show, status=DropStatus.OPEN).select_related(
            "item__product", "show"
        )
    )


def drop_for_item(show: Show, item: LineupItem | None) -> Drop | None:
    if item is None:
        return None
    return (
        Drop.objects.filter(show=show, item=item, status=DropStatus.OPEN)
        .select_related("item__product", "show__sales_channel")
        .order_by("-id")
        .first()
    )


def item_state(item: LineupItem | None) -> dict[str, Any] | None:
    """A pinned product as viewers see it, with the units the live sales channel has left."""
    if item is None:
        return None
    variants = list(item.product.variants.all())
    left = available_to_promise(
        sales_channel=item.show.sales_channel, variant_ids=[v.pk for v in variants]
    )
    return {
        "label": item.label,
        "product": item.product.name_en,
        "product_zh": item.product.name_zh,
        "slug": item.product.slug,
        "price": item.live_price_amount,
        "variants": [
            {"sku": v.sku, "attributes": v.attributes, "stock_left": left.get(v.pk, 0)}
            for v in variants
        ],
        "stock_left": sum(left.values()),
    }


@dataclass
class RoomSettings:
    """What a process needs to police comments without a query per message."""

    slow_mode_seconds: int = 0
    blocked_words: list[str] = field(default_factory=list)
    muted_until: dict[int, float] = field(default_factory=dict)  #: user id -> epoch seconds
    banned: set[int] = field(default_factory=set)
    staff: dict[int, str] = field(default_factory=dict)  #: user id -> host / moderator
    status: str = "scheduled"


def room_settings(show: Show) -> RoomSettings:
    """Read fresh: moderation changes arrive as ``room.settings`` and are re-read here."""
    show = Show.objects.get(pk=show.pk)
    now = timezone.now()
    staff = {show.host_id: "host"}
    for uid in ShowModerator.objects.filter(show=show).values_list("user_id", flat=True):
        staff.setdefault(uid, "moderator")
    return RoomSettings(
        slow_mode_seconds=show.slow_mode_seconds,
        blocked_words=[str(w).lower() for w in show.blocked_words],
        muted_until={
            m.user_id: m.until.timestamp()
            for m in ShowMute.objects.filter(show=show, until__gt=now)
        },
        banned=set(ShowBan.objects.filter(show=show).values_list("user_id", flat=True)),
        staff=staff,
        status=show.status,
    )


def recent_comments(show: Show, *, limit: int = 30) -> list[dict[str, Any]]:
    rows = list(
        Comment.objects.filter(show=show, deleted=False).order_by("-posted_at", "-id")[:limit]
    )
    return [
        {
            "cid": c.cid,
            "author_id": c.author_id,
            "author": c.author_name,
            "role": c.role,
            "text": c.text,
            "at": c.posted_at.timestamp(),
        }
        for c in reversed(rows)
    ]


def room_snapshot(show: Show) -> dict[str, Any]:
    """The state a joining viewer starts from; frames after it carry changes only."""
    from live.services.drops import drop_state

    show.refresh_from_db()
    pinned = show.pinned_item
    return {
        "show": {
            "code": show.code,
            "title": show.title,
            "status": show.status,
            "host": show.host.get_username(),
            "scheduled_at": show.scheduled_at.isoformat(),
        },
        "pinned": item_state(pinned),
        "drops": [drop_state(d) for d in open_drops(show)],
        "likes": show.like_count,
        "comments": recent_comments(show),
        "slow_mode_seconds": show.slow_mode_seconds,
    }


def show_dashboard(show: Show, *, viewers_now: int = 0) -> dict[str, Any]:
    """Host dashboard figures: viewers, comment rate, likes, holds, paid orders, GMV."""
    now = timezone.now()
    claims = DropClaim.objects.filter(drop__show=show)
    hold_ids = [h for h in claims.values_list("hold_id", flat=True) if h is not None]
    paid = Order.objects.filter(hold_id__in=hold_ids, status__in=PAID_STATUSES)
    paid_stats = paid.aggregate(
        n=Count("id"), gmv=Sum("total_amount"), buyers=Count("customer", distinct=True)
    )
    commenters = Comment.objects.filter(show=show).values("author_id").distinct().count()
    peak = max(show.peak_viewers, viewers_now)
    audience = max(peak, commenters, 1)
    return {
        "viewers": viewers_now,
        "peak_viewers": peak,
        "comments_per_minute": Comment.objects.filter(
            show=show, posted_at__gte=now - timedelta(minutes=1)
        ).count(),
        "likes": show.like_count,
        "holds": claims.filter(hold__isnull=False).count(),
        "paid_orders": int(paid_stats["n"] or 0),
        "gmv": int(paid_stats["gmv"] or 0),
        "currency": show.sales_channel.currency,
        "conversion": round(int(paid_stats["buyers"] or 0) / audience, 4),
    }


# ---- answers for other apps (registered in ``LiveConfig.ready``) ----------------------------


def live_prices_for_hold(hold: Hold) -> dict[str, int] | None:
    """SKU -> the drop's live price for a hold made by a drop buy; ``None`` for any other.

    Checkout asks this (``checkout.live_prices``) before pricing a ``live_drop`` hold, so
    a live hold is paid at the price the host announced, never at the catalogue price.
    """
    if hold.kind != Hold.Kind.LIVE_DROP:
        return None
    claim = (
        DropClaim.objects.select_related("variant", "drop")
        .filter(hold=hold, buyer_id=hold.owner_id, status__in=TAKING)
        .first()
    )
    if claim is None:
        return None
    return {claim.variant.sku: claim.drop.price_amount}


def coupon_claimed_in_room(code: str, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Did ``user`` claim coupon ``code`` in a live room (within that drop's rules)?

    The members app asks this (``members.live_coupons``) before a coupon marked as a
    live-room coupon may be used. Only a claim made through ``coupon_claim`` counts (so
    the drop's quantity and per-user limit applied); when the coupon names its room, the
    claim must come from a coupon drop in that room.
    """
    if not user.is_authenticated:
        return False
    claims = CouponClaim.objects.filter(coupon_drop__code__iexact=code.strip(), user_id=user.pk)
    room = (
        apps.get_model("members", "Coupon")
        .objects.filter(code__iexact=code.strip())
        .values_list("live_room", flat=True)
        .first()
    )
    if room:
        claims = claims.filter(coupon_drop__show__code=room)
    return claims.exists()
