"""Coupon limits and points balances hold when many processes check out at once.

Each forked process turns its own stock hold into an order with the same coupon or the
same points; the coupon row lock and the locked FIFO points consumption decide who wins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from checkout.models import Address
from checkout.services import checkout_from_hold
from hub.kernel.errors import DomainError
from members.models import Coupon, CouponRedemption, PointsEntry
from members.services import points_balance
from oms.models import Hold, Order, ProductVariant, SalesChannel
from oms.services.holds import hold_create
from tests.fixtures.concurrency import run_in_processes

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

PROCESSES = 6


def _holds(channel: SalesChannel, variant: ProductVariant, owner: User, count: int) -> list[str]:
    return [
        hold_create(
            sales_channel=channel, quantities={variant: 1}, owner=owner, ttl_seconds=600
        ).token
        for _ in range(count)
    ]


def _place(
    user_id: int, hold_token: str, address_id: int, coupon: str = "", points: int = 0
) -> Callable[[], str]:
    def work() -> str:
        try:
            checkout_from_hold(
                user=User.objects.get(pk=user_id),
                hold_token=hold_token,
                address=Address.objects.get(pk=address_id),
                coupon_code=coupon,
                points=points,
            )
            return "placed"
        except DomainError as error:
            return error.code

    return work


def test_concurrent_checkouts_with_one_coupon_respect_the_per_user_limit(
    stocked: SalesChannel, shopper: User, home: Address, rates: None, tee: ProductVariant
) -> None:
    coupon = Coupon.objects.create(code="TWICE", kind="fixed", value=1000, per_user_limit=2)
    tokens = _holds(stocked, tee, shopper, PROCESSES)
    results = run_in_processes(
        [_place(shopper.pk, token, home.pk, coupon="TWICE") for token in tokens]
    )
    assert Counter(results) == {"placed": 2, "coupon_not_applicable": PROCESSES - 2}
    assert CouponRedemption.objects.filter(coupon=coupon).count() == 2
    assert Order.objects.count() == 2
    # the refused checkouts changed nothing: their holds wait with no order attached
    adopted = set(Order.objects.values_list("hold__token", flat=True))
    assert len(adopted) == 2
    assert Hold.objects.filter(token__in=tokens, status="active").count() == PROCESSES


def test_concurrent_checkouts_by_many_shoppers_respect_a_coupons_total_limit(
    stocked: SalesChannel, rates: None, tee: ProductVariant
) -> None:
    coupon = Coupon.objects.create(code="FIRST3", kind="percent", value=1000, total_limit=3)
    works = []
    for n in range(PROCESSES):
        user = User.objects.create_user(username=f"buyer{n}", password="x")
        address = Address.objects.create(
            user=user,
            name="Han Meimei",
            phone="1390000000",
            region="SH",
            city="Shanghai",
            line1=f"{n} Huaihai Rd",
        )
        (token,) = _holds(stocked, tee, user, 1)
        works.append(_place(user.pk, token, address.pk, coupon="FIRST3"))
    results = run_in_processes(works)
    assert Counter(results) == {"placed": 3, "coupon_not_applicable": PROCESSES - 3}
    assert CouponRedemption.objects.filter(coupon=coupon).count() == 3


def test_concurrent_points_redemptions_never_overdraw_the_balance(
    stocked: SalesChannel,
    shopper: User,
    home: Address,
    rates: None,
    tee: ProductVariant,
    give_points: Callable[[User, int], None],
) -> None:
    give_points(shopper, 500)
    tokens = _holds(stocked, tee, shopper, PROCESSES)
    results = run_in_processes([_place(shopper.pk, token, home.pk, points=200) for token in tokens])
    assert Counter(results) == {"placed": 2, "not_enough_points": PROCESSES - 2}
    redeemed = PointsEntry.objects.filter(user=shopper, kind="redeem")
    assert sorted(e.delta for e in redeemed) == [-200, -200]
    assert points_balance(shopper) == 100
    assert not PointsEntry.objects.filter(user=shopper, remaining__lt=0).exists()
