"""Checking out one cart from many processes at once makes exactly one order.

Each forked process has its own database connection and posts to the real endpoint, so
the Idempotency-Key store, the cart row lock and the stock rules decide the outcome.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from checkout.models import Address, CartLine
from checkout.services import cart_get, cart_set_line
from members.models import CouponRedemption, PointsEntry
from members.services import points_balance
from oms.models import Location, Order, ProductVariant, SalesChannel, StockLevel
from tests.fixtures.concurrency import run_in_processes

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

PROCESSES = 8


def _checkout(user_id: int, body: dict[str, object], key: str | None) -> Callable[[], str]:
    def post() -> str:
        client = APIClient()
        client.force_authenticate(User.objects.get(pk=user_id))
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        response = client.post("/api/checkout/cart/", body, format="json", **headers)
        data = response.json()
        return f"{response.status_code}:{data.get('order') or data['error']['code']}"

    return post


def test_one_cart_checked_out_by_many_processes_with_one_key_makes_one_order(
    stocked: SalesChannel,
    shopper: User,
    home: Address,
    rates: None,
    tee: ProductVariant,
    warehouse: Location,
    coupon_10pct: object,
    give_points: Callable[[User, int], None],
) -> None:
    give_points(shopper, 500)
    cart = cart_get(sales_channel=stocked, user=shopper)
    cart_set_line(cart=cart, sku=tee.sku, quantity=2)
    body = {"address": home.pk, "coupon": "LIVE10", "points": 300}
    results = run_in_processes([_checkout(shopper.pk, body, "tap-once") for _ in range(PROCESSES)])
    order = Order.objects.get()
    assert results == [f"201:{order.number}"] * PROCESSES
    assert order.lines.get().quantity == 2
    assert CartLine.objects.filter(cart=cart).count() == 0
    assert StockLevel.objects.get(variant=tee, location=warehouse).reserved == 2
    assert CouponRedemption.objects.filter(order_number=order.number).count() == 1
    assert PointsEntry.objects.filter(kind="redeem").count() == 1
    assert points_balance(shopper) == 200


def test_one_cart_double_tapped_without_a_key_still_makes_one_order(
    stocked: SalesChannel,
    shopper: User,
    home: Address,
    rates: None,
    tee: ProductVariant,
    warehouse: Location,
) -> None:
    cart = cart_get(sales_channel=stocked, user=shopper)
    cart_set_line(cart=cart, sku=tee.sku, quantity=1)
    body = {"address": home.pk}
    results = run_in_processes([_checkout(shopper.pk, body, None) for _ in range(PROCESSES)])
    order = Order.objects.get()
    assert Counter(results) == {f"201:{order.number}": 1, "400:empty_cart": PROCESSES - 1}
    assert StockLevel.objects.get(variant=tee, location=warehouse).reserved == 1
