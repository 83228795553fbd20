"""Points and coupons follow the order: earned on payment, reversed on cancel and return."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User

from checkout.models import Address
from checkout.services import cart_get, cart_set_line, checkout_from_cart
from hub.kernel.outbox import outbox_relay
from members.models import Coupon, CouponRedemption, MemberProfile, PointsEntry, Tier
from members.services import (
    birthday_rewards_grant,
    member_recompute_tier,
    points_balance,
    points_reverse_for_order,
)
from oms.models import Order, SalesChannel
from oms.services.orders import order_cancel, order_mark_paid


def _order(stocked: SalesChannel, shopper: User, home: Address, **kwargs: Any) -> Order:
    cart = cart_get(sales_channel=stocked, user=shopper)
    cart_set_line(cart=cart, sku="TEE-RED-M", quantity=2)
    order, _ = checkout_from_cart(user=shopper, cart=cart, address=home, **kwargs)
    return order


@pytest.mark.django_db
def test_paid_order_earns_points_once_with_the_tier_multiplier(
    stocked: SalesChannel, shopper: User, home: Address, rates: None, gold: Tier
) -> None:
    MemberProfile.objects.create(user=shopper, tier=gold)
    order = _order(stocked, shopper, home)
    order_mark_paid(order=order, payment_reference="p1")
    outbox_relay()
    outbox_relay()
    # member price 12255 x 2 + 1200 shipping = 25710 -> 257 yuan x 1.5 = 385 points
    assert list(PointsEntry.objects.values_list("kind", "delta")) == [("earn", 385)]
    assert points_balance(shopper) == 385


@pytest.mark.django_db
def test_cancel_after_payment_reverses_earned_restores_redeemed_and_frees_the_coupon(
    stocked: SalesChannel,
    shopper: User,
    home: Address,
    rates: None,
    coupon_10pct: Coupon,
    give_points: Callable[[User, int], None],
) -> None:
    give_points(shopper, 500)
    order = _order(stocked, shopper, home, coupon_code="LIVE10", points=500)
    order_mark_paid(order=order, payment_reference="p1")
    outbox_relay()
    earned = PointsEntry.objects.get(kind="earn").delta
    assert points_balance(shopper) == earned
    order_cancel(order=Order.objects.get(pk=order.pk), actor=None)
    outbox_relay()
    outbox_relay()
    assert points_balance(shopper) == 500
    kinds = sorted(
        PointsEntry.objects.filter(order_number=order.number).values_list("kind", "delta")
    )
    assert kinds == [("earn", earned), ("redeem", -500), ("restore", 500), ("reverse", -earned)]
    assert CouponRedemption.objects.get().reversed_at is not None


@pytest.mark.django_db
def test_partial_reversal_is_cumulative_and_spent_points_become_debt(
    stocked: SalesChannel,
    shopper: User,
    home: Address,
    rates: None,
    give_points: Callable[[User, int], None],
) -> None:
    order = _order(stocked, shopper, home)
    order_mark_paid(order=order, payment_reference="p1")
    outbox_relay()  # earns 270 (25800 + 1200 -> 270 yuan)
    first = points_reverse_for_order(order=order, share_num=1, share_den=2)
    again = points_reverse_for_order(order=order, share_num=1, share_den=2)
    assert (first.earned_reversed, again.earned_reversed) == (135, 0)
    assert points_balance(shopper) == 135
    PointsEntry.objects.filter(kind="earn").update(remaining=0)  # the shopper spent them
    points_reverse_for_order(order=order, share_num=1, share_den=1)
    assert points_balance(shopper) == -135
    give_points(shopper, 200)
    from members.services import _settle_debt

    _settle_debt(shopper)
    assert points_balance(shopper) == 65


@pytest.mark.django_db
def test_birthday_reward_is_granted_once_a_year(shopper: User) -> None:
    MemberProfile.objects.create(user=shopper, birthday=date(1990, 11, 24))
    assert birthday_rewards_grant(today=date(2026, 11, 24)) == 1
    assert birthday_rewards_grant(today=date(2026, 11, 24)) == 0
    assert birthday_rewards_grant(today=date(2026, 11, 25)) == 0
    assert points_balance(shopper) == 500


@pytest.mark.django_db
def test_tier_follows_rolling_spend(
    stocked: SalesChannel, shopper: User, home: Address, rates: None, gold: Tier
) -> None:
    silver = Tier.objects.create(
        code="silver", name_en="Silver", name_zh="银卡", threshold_amount=10000
    )
    assert member_recompute_tier(user=shopper) is None
    order = _order(stocked, shopper, home)
    order_mark_paid(order=order, payment_reference="p1")
    assert member_recompute_tier(user=shopper) == silver
    order_cancel(order=Order.objects.get(pk=order.pk), actor=None)
    assert member_recompute_tier(user=shopper) is None
