"""Reads for the PWA session: who is signed in, with which roles and stores."""

from __future__ import annotations

from typing import Any, TypedDict

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from hub.kernel.roles import Role, user_has_role
from oms.models import Location, StaffMembership


class SessionProfile(TypedDict):
    authenticated: bool
    username: str
    roles: list[str]
    locations: list[dict[str, Any]]


def session_profile(*, user: AbstractBaseUser | AnonymousUser) -> SessionProfile:
    """The signed-in user as the app needs it; staff see the stores they work at."""
    if not user.is_authenticated:
        return {"authenticated": False, "username": "", "roles": [], "locations": []}
    roles = [role.value for role in Role if user_has_role(user, role)]
    if getattr(user, "is_superuser", False) or Role.MERCHANT_ADMIN.value in roles:
        locations = Location.objects.order_by("priority", "code")
    else:
        location_ids = StaffMembership.objects.filter(user_id=user.pk).values("location_id")
        locations = Location.objects.filter(pk__in=location_ids).order_by("priority", "code")
    return {
        "authenticated": True,
        "username": user.get_username(),
        "roles": roles,
        "locations": [
            {"code": loc.code, "name_en": loc.name_en, "name_zh": loc.name_zh} for loc in locations
        ],
    }


# ---- member centre, payment choices ---------------------------------------------------------


def member_centre(*, user: AbstractBaseUser) -> dict[str, Any]:
    """Tier (and the next one), plus the coupons this member can still use or has used."""
    from django.db.models import Q
    from django.utils import timezone

    from live.models import CouponClaim
    from members.models import Coupon, CouponRedemption, Tier
    from members.services import member_tier, rolling_spend

    tier = member_tier(user)  # type: ignore[arg-type]
    spend = rolling_spend(user)  # type: ignore[arg-type]
    tiers = list(Tier.objects.order_by("threshold_amount"))
    higher = [t for t in tiers if t.threshold_amount > (tier.threshold_amount if tier else -1)]
    now = timezone.now()
    claimed_codes = set(
        CouponClaim.objects.filter(user_id=user.pk).values_list("coupon_drop__code", flat=True)
    )
    used: dict[int, int] = {}
    for coupon_id in CouponRedemption.objects.filter(
        user_id=user.pk, reversed_at__isnull=True
    ).values_list("coupon_id", flat=True):
        used[coupon_id] = used.get(coupon_id, 0) + 1
    coupons = []
    for coupon in Coupon.objects.filter(is_active=True).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=now)
    ):
        if coupon.live_room and coupon.code not in claimed_codes:
            continue
        coupons.append(
            {
                "code": coupon.code,
                "kind": coupon.kind,
                "value": coupon.value,
                "currency": coupon.currency,
                "min_spend": coupon.min_spend,
                "valid_until": coupon.valid_until.isoformat() if coupon.valid_until else None,
                "uses_left": max(0, coupon.per_user_limit - used.get(coupon.pk, 0)),
                "live": bool(coupon.live_room),
            }
        )
    coupons.sort(key=lambda c: (c["uses_left"] == 0, c["code"]))

    def tier_out(t: Any) -> dict[str, Any] | None:
        if t is None:
            return None
        return {
            "code": t.code,
            "name_en": t.name_en,
            "name_zh": t.name_zh,
            "threshold_amount": t.threshold_amount,
            "discount_bp": t.discount_bp,
            "points_multiplier_pct": t.points_multiplier_pct,
        }

    return {
        "tier": tier_out(tier),
        "next_tier": tier_out(higher[0] if higher else None),
        "spend_12m": spend,
        "coupons": coupons,
    }


def payment_methods() -> list[dict[str, str]]:
    """The providers configured here, with the method the PWA uses for each."""
    from payments.providers import configured_providers

    methods = {"sandbox": "page", "wechatpay": "native", "alipay": "page"}
    return [
        {"provider": code, "method": methods[code]}
        for code in configured_providers()
        if code in methods
    ]


def variants_detail(*, skus: list[str]) -> list[dict[str, Any]]:
    """What the cart shows of each SKU: product name, slug, attributes, list price, image."""
    from oms.models import ProductVariant

    variants = ProductVariant.objects.filter(sku__in=skus[:100]).select_related("product")
    return [
        {
            "sku": v.sku,
            "attributes": v.attributes,
            "price_amount": v.price_amount,
            "currency": v.currency,
            "product": {
                "id": v.product.pk,
                "slug": v.product.slug,
                "name_en": v.product.name_en,
                "name_zh": v.product.name_zh,
                "image": v.product.image.url if getattr(v.product, "image", None) else None,
            },
        }
        for v in variants
    ]
