from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from checkout.models import Address, ShippingRate, TaxRate
from checkout.services import address_create
from members.models import Coupon, PointsEntry, Tier
from oms.models import Location, ProductVariant, SalesChannel


@pytest.fixture
def stocked(
    web: SalesChannel,
    warehouse: Location,
    store_jingan: Location,
    tee: ProductVariant,
    mug: ProductVariant,
    stock: Callable[[ProductVariant, Location, int], None],
) -> SalesChannel:
    stock(tee, warehouse, 20)
    stock(mug, warehouse, 20)
    stock(tee, store_jingan, 2)
    return web


@pytest.fixture
def rates(db: None) -> None:
    ShippingRate.objects.create(region="*", currency="CNY", amount=1200, free_over=50000)
    ShippingRate.objects.create(region="XZ", currency="CNY", amount=3000)
    TaxRate.objects.create(region="*", currency="CNY", rate_bp=1300, included=True)


@pytest.fixture
def home(shopper: User) -> Address:
    return address_create(
        user=shopper,
        data={
            "name": "Li Lei",
            "phone": "13800000000",
            "region": "SH",
            "city": "Shanghai",
            "line1": "1 Nanjing Rd",
        },
    )


@pytest.fixture
def gold(db: None) -> Tier:
    return Tier.objects.create(
        code="gold",
        name_en="Gold",
        name_zh="金卡",
        threshold_amount=100000,
        discount_bp=500,
        points_multiplier_pct=150,
    )


@pytest.fixture
def give_points(db: None) -> Callable[[User, int], None]:
    from datetime import timedelta

    from django.utils import timezone

    def give(user: User, points: int) -> None:
        PointsEntry.objects.create(
            user=user,
            kind="birthday",
            delta=points,
            remaining=points,
            source_key=f"test:{user.pk}:{points}",
            expires_at=timezone.now() + timedelta(days=30),
        )

    return give


@pytest.fixture
def coupon_10pct(db: None) -> Coupon:
    return Coupon.objects.create(code="LIVE10", kind="percent", value=1000, min_spend=10000)
