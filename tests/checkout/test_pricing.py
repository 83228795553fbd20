"""The pricing engine: member prices, tax, coupons, shipping and points, in minor units."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from checkout.errors import InvalidCheckout
from checkout.models import TaxRate
from checkout.pricing import price_quote
from members.errors import CouponNotApplicable, NotEnoughPoints
from members.models import Coupon, MemberProfile, Tier
from oms.models import ChannelPrice, ProductVariant, SalesChannel


@pytest.mark.django_db
def test_channel_price_member_price_and_included_tax(
    web: SalesChannel, tee: ProductVariant, shopper: User, gold: Tier, rates: None
) -> None:
    ChannelPrice.objects.create(sales_channel=web, variant=tee, amount=11999)
    MemberProfile.objects.create(user=shopper, tier=gold)
    quote = price_quote(
        sales_channel=web, quantities={tee: 3}, user=shopper, region="SH", pickup=False
    )
    # 11999 * 0.95 = 11399.05 -> 11399 per unit
    assert [(ln.list_price, ln.unit_price) for ln in quote.lines] == [(11999, 11399)]
    assert (quote.goods, quote.member_discount, quote.shipping) == (34197, 1800, 1200)
    assert quote.total == 35397
    # VAT contained in the goods: 34197 * 1300 / 11300 = 3934.18 -> 3934
    assert (quote.tax, quote.tax_included) == (3934, True)


@pytest.mark.django_db
def test_added_tax_is_folded_into_the_unit_price(
    web: SalesChannel, mug: ProductVariant, rates: None
) -> None:
    TaxRate.objects.create(region="HK", currency="CNY", rate_bp=825, included=False)
    quote = price_quote(sales_channel=web, quantities={mug: 2}, user=None, region="HK", pickup=True)
    # 4500 + 4500 * 8.25% = 4500 + 371.25 -> 4871
    assert [ln.unit_price for ln in quote.lines] == [4871]
    assert (quote.goods, quote.shipping, quote.total, quote.tax_included) == (9742, 0, 9742, False)


@pytest.mark.django_db
def test_percentage_coupon_rounds_down_and_shipping_is_regional(
    web: SalesChannel,
    tee: ProductVariant,
    mug: ProductVariant,
    shopper: User,
    rates: None,
    coupon_10pct: Coupon,
) -> None:
    quote = price_quote(
        sales_channel=web,
        quantities={tee: 1, mug: 1},
        user=shopper,
        region="XZ",
        pickup=False,
        coupon_code="live10",
    )
    assert (quote.goods, quote.coupon_discount, quote.shipping) == (17400, 1740, 3000)
    assert (quote.coupon_code, quote.total) == ("LIVE10", 18660)


@pytest.mark.django_db
def test_coupon_minimum_spend_scope_and_free_shipping(
    web: SalesChannel,
    tee: ProductVariant,
    mug: ProductVariant,
    shopper: User,
    rates: None,
    coupon_10pct: Coupon,
) -> None:
    with pytest.raises(CouponNotApplicable, match="needs a spend of 10000 on eligible items"):
        price_quote(
            sales_channel=web,
            quantities={mug: 1},
            user=shopper,
            region="SH",
            pickup=False,
            coupon_code="LIVE10",
        )
    Coupon.objects.create(code="MUGONLY", kind="fixed", value=500, skus=["MUG-WHITE"])
    with pytest.raises(CouponNotApplicable, match="does not cover these products"):
        price_quote(
            sales_channel=web,
            quantities={tee: 1},
            user=shopper,
            region="SH",
            pickup=False,
            coupon_code="MUGONLY",
        )
    Coupon.objects.create(code="SHIPFREE", kind="free_shipping")
    quote = price_quote(
        sales_channel=web,
        quantities={tee: 1},
        user=shopper,
        region="XZ",
        pickup=False,
        coupon_code="SHIPFREE",
    )
    assert (quote.shipping, quote.coupon_discount, quote.total) == (3000, 3000, 12900)


@pytest.mark.django_db
def test_points_are_capped_at_half_the_goods_and_by_the_balance(
    web: SalesChannel,
    tee: ProductVariant,
    shopper: User,
    rates: None,
    give_points: Callable[[User, int], None],
) -> None:
    give_points(shopper, 3000)
    quote = price_quote(
        sales_channel=web, quantities={tee: 1}, user=shopper, region="SH", pickup=True, points=3000
    )
    assert (quote.points_discount, quote.total) == (3000, 9900)
    with pytest.raises(NotEnoughPoints, match="you have 3000 points, not 4000"):
        price_quote(
            sales_channel=web,
            quantities={tee: 1},
            user=shopper,
            region="SH",
            pickup=True,
            points=4000,
        )
    with pytest.raises(NotEnoughPoints, match="points can pay at most 6450 of this order"):
        price_quote(
            sales_channel=web,
            quantities={tee: 1},
            user=shopper,
            region="SH",
            pickup=True,
            points=6451,
        )


@pytest.mark.django_db
def test_live_price_is_final_and_anonymous_coupons_are_refused(
    web: SalesChannel, tee: ProductVariant, shopper: User, gold: Tier, rates: None
) -> None:
    MemberProfile.objects.create(user=shopper, tier=gold)
    quote = price_quote(
        sales_channel=web,
        quantities={tee: 1},
        user=shopper,
        region="SH",
        pickup=True,
        live_prices={"TEE-RED-M": 9900},
    )
    assert [(ln.unit_price, ln.live_price) for ln in quote.lines] == [(9900, True)]
    with pytest.raises(InvalidCheckout, match="sign in to use a coupon"):
        price_quote(
            sales_channel=web,
            quantities={tee: 1},
            user=None,
            region="SH",
            pickup=True,
            coupon_code="X",
        )


@pytest.mark.django_db
def test_live_room_coupon_needs_a_claim_in_the_room(
    web: SalesChannel, tee: ProductVariant, shopper: User, other_shopper: User, rates: None
) -> None:
    from members import live_coupons

    Coupon.objects.create(code="ROOM5", kind="fixed", value=500, live_room="room-1")
    with pytest.raises(CouponNotApplicable, match="claim coupon ROOM5 in the live room first"):
        price_quote(
            sales_channel=web,
            quantities={tee: 1},
            user=shopper,
            region="SH",
            pickup=True,
            coupon_code="ROOM5",
        )

    def claimed(code: str, user: User) -> bool:
        return code == "ROOM5" and user.pk == shopper.pk

    live_coupons.register_live_coupon_claim_checker(claimed)
    try:
        quote = price_quote(
            sales_channel=web,
            quantities={tee: 1},
            user=shopper,
            region="SH",
            pickup=True,
            coupon_code="ROOM5",
        )
        assert quote.coupon_discount == 500
        with pytest.raises(CouponNotApplicable):
            price_quote(
                sales_channel=web,
                quantities={tee: 1},
                user=other_shopper,
                region="SH",
                pickup=True,
                coupon_code="ROOM5",
            )
    finally:
        live_coupons._checkers.remove(claimed)
