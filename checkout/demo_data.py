"""Demo data for checkout, payments and members; safe to load again (idempotent)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from checkout.models import ShippingRate, TaxRate
from members.models import Coupon, Tier

TIERS = [
    ("silver", "Silver", "银卡", 100_000, 0, 100),
    ("gold", "Gold", "金卡", 500_000, 300, 150),
    ("platinum", "Platinum", "白金卡", 2_000_000, 800, 200),
]
COUPONS = [
    # code, kind, value, min_spend, live_room
    ("WELCOME10", Coupon.Kind.PERCENT, 1000, 10_000, ""),
    ("LIVE20", Coupon.Kind.FIXED, 2000, 15_000, "demo-room"),
    ("FREESHIP", Coupon.Kind.FREE_SHIPPING, 0, 0, ""),
]


def checkout_demo_load() -> dict[str, int]:
    with transaction.atomic():
        for code, en, zh, threshold, discount, multiplier in TIERS:
            Tier.objects.update_or_create(
                code=code,
                defaults={
                    "name_en": en,
                    "name_zh": zh,
                    "threshold_amount": threshold,
                    "discount_bp": discount,
                    "points_multiplier_pct": multiplier,
                },
            )
        until = timezone.now() + timedelta(days=365)
        for code, kind, value, min_spend, room in COUPONS:
            Coupon.objects.update_or_create(
                code=code,
                defaults={
                    "kind": kind,
                    "value": value,
                    "min_spend": min_spend,
                    "live_room": room,
                    "valid_until": until,
                    "per_user_limit": 1,
                },
            )
        ShippingRate.objects.update_or_create(
            region="*", currency="CNY", defaults={"amount": 1000, "free_over": 29_900}
        )
        ShippingRate.objects.update_or_create(
            region="XZ", currency="CNY", defaults={"amount": 3000, "free_over": None}
        )
        TaxRate.objects.update_or_create(
            region="*", currency="CNY", defaults={"rate_bp": 1300, "included": True}
        )
    return {"tiers": len(TIERS), "coupons": len(COUPONS)}


def payment_simulators_configure() -> Path:
    """Point the WeChat Pay and Alipay providers at the mounted simulators (demo only)."""
    from payments.simulators.demo import provider_configs

    path = Path(settings.LIVEHUB_PAYMENT_PROVIDERS_FILE)
    if path.is_file():
        existing = json.loads(path.read_text())
        if any(
            "gateway" in cfg and "/payments/simulator/" not in str(cfg["gateway"])
            for cfg in existing.values()
        ):
            raise RuntimeError(f"{path} holds real gateway settings; not overwriting it")
    path.write_text(json.dumps(provider_configs(), indent=2))
    path.chmod(0o600)
    return path
