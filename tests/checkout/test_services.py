"""Carts, addresses, pick-up stores and placing orders from a cart or a live hold."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from checkout.errors import InvalidCheckout
from checkout.models import Address, Cart, CartLine
from checkout.selectors import pickup_stores
from checkout.services import (
    cart_get,
    cart_merge,
    cart_set_line,
    checkout_from_cart,
    checkout_from_hold,
)
from members.errors import CouponNotApplicable, NotEnoughPoints
from members.models import Coupon, CouponRedemption
from members.services import points_balance
from oms.models import Hold, Location, Order, ProductVariant, SalesChannel, StockLevel
from oms.services.holds import hold_create


@pytest.mark.django_db
def test_anonymous_cart_merges_into_the_users_cart_at_sign_in(
    stocked: SalesChannel, shopper: User
) -> None:
    anonymous = cart_get(sales_channel=stocked, session_key="sess-1")
    cart_set_line(cart=anonymous, sku="TEE-RED-M", quantity=2)
    cart_set_line(cart=anonymous, sku="MUG-WHITE", quantity=1)
    mine = cart_get(sales_channel=stocked, user=shopper)
    cart_set_line(cart=mine, sku="TEE-RED-M", quantity=1)
    assert cart_merge(session_key="sess-1", user=shopper) == 2
    lines = sorted(CartLine.objects.filter(cart=mine).values_list("variant__sku", "quantity"))
    assert lines == [("MUG-WHITE", 1), ("TEE-RED-M", 3)]
    assert not Cart.objects.filter(session_key="sess-1", user=None).exists()


@pytest.mark.django_db
def test_unknown_sku_and_bad_quantity_change_nothing(stocked: SalesChannel, shopper: User) -> None:
    cart = cart_get(sales_channel=stocked, user=shopper)
    with pytest.raises(InvalidCheckout, match="unknown SKU: NOPE"):
        cart_set_line(cart=cart, sku="NOPE", quantity=1)
    with pytest.raises(InvalidCheckout, match="between 0 and 99"):
        cart_set_line(cart=cart, sku="TEE-RED-M", quantity=100)
    assert CartLine.objects.count() == 0


@pytest.mark.django_db
def test_pickup_stores_are_those_holding_every_item(
    stocked: SalesChannel, tee: ProductVariant, mug: ProductVariant, store_jingan: Location
) -> None:
    assert pickup_stores(sales_channel=stocked, quantities={tee: 2}) == [store_jingan]
    assert pickup_stores(sales_channel=stocked, quantities={tee: 3}) == []
    assert pickup_stores(sales_channel=stocked, quantities={tee: 1, mug: 1}) == []


@pytest.mark.django_db
def test_checkout_from_cart_prices_redeems_and_empties_the_cart(
    stocked: SalesChannel,
    shopper: User,
    home: Address,
    rates: None,
    coupon_10pct: Coupon,
    give_points: Callable[[User, int], None],
) -> None:
    give_points(shopper, 1000)
    cart = cart_get(sales_channel=stocked, user=shopper)
    cart_set_line(cart=cart, sku="TEE-RED-M", quantity=2)
    order, quote = checkout_from_cart(
        user=shopper, cart=cart, address=home, coupon_code="LIVE10", points=1000
    )
    # goods 25800, coupon 2580, points 1000, shipping 1200
    assert (order.status, order.subtotal_amount, order.discount_amount) == (
        "pending_payment",
        25800,
        3580,
    )
    assert (order.shipping_amount, order.total_amount, quote.total) == (1200, 23420, 23420)
    assert order.shipping_address["city"] == "Shanghai"
    assert CouponRedemption.objects.get().order_number == order.number
    assert points_balance(shopper) == 0
    assert CartLine.objects.count() == 0


@pytest.mark.django_db
def test_a_refused_checkout_leaves_cart_points_and_stock_untouched(
    stocked: SalesChannel,
    shopper: User,
    home: Address,
    rates: None,
    give_points: Callable[[User, int], None],
    tee: ProductVariant,
) -> None:
    give_points(shopper, 100)
    Coupon.objects.create(code="ONCE", kind="fixed", value=100, total_limit=0)
    cart = cart_get(sales_channel=stocked, user=shopper)
    cart_set_line(cart=cart, sku="TEE-RED-M", quantity=1)
    with pytest.raises(CouponNotApplicable, match="coupon ONCE has run out"):
        checkout_from_cart(user=shopper, cart=cart, address=home, coupon_code="ONCE", points=100)
    with pytest.raises(NotEnoughPoints):
        checkout_from_cart(user=shopper, cart=cart, address=home, points=101)
    assert Order.objects.count() == 0
    assert CartLine.objects.filter(cart=cart).count() == 1
    assert points_balance(shopper) == 100
    assert sum(s.reserved for s in StockLevel.objects.filter(variant=tee)) == 0


@pytest.mark.django_db
def test_checkout_from_a_live_hold_adopts_the_hold_at_the_live_price(
    stocked: SalesChannel,
    shopper: User,
    other_shopper: User,
    tee: ProductVariant,
    store_jingan: Location,
    rates: None,
) -> None:
    hold = hold_create(
        sales_channel=stocked,
        quantities={tee: 1},
        kind=Hold.Kind.LIVE_DROP,
        owner=shopper,
        ttl_seconds=300,
        method="pickup",
        pickup_location=store_jingan,
    )
    with pytest.raises(InvalidCheckout, match="no such hold for you"):
        checkout_from_hold(user=other_shopper, hold_token=hold.token, pickup_location=store_jingan)
    order, _ = checkout_from_hold(
        user=shopper,
        hold_token=hold.token,
        pickup_location=store_jingan,
        live_prices={"TEE-RED-M": 6900},
    )
    assert (order.hold_id, order.total_amount, order.fulfilment_method) == (hold.pk, 6900, "pickup")
    assert order.lines.get().unit_price_amount == 6900


@pytest.mark.django_db
def test_checkout_api_is_idempotent(
    stocked: SalesChannel, shopper: User, home: Address, rates: None, client: Client
) -> None:
    client.force_login(shopper)
    assert (
        client.put(
            "/api/cart/", {"sku": "MUG-WHITE", "quantity": 2}, content_type="application/json"
        ).status_code
        == 200
    )
    body = {"address": home.pk}
    first = client.post(
        "/api/checkout/cart/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-1"
    )
    again = client.post(
        "/api/checkout/cart/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-1"
    )
    assert first.status_code == again.status_code == 201
    assert first.json()["order"] == again.json()["order"]
    assert first.json()["total_amount"] == 2 * 4500 + 1200
    assert Order.objects.count() == 1
    empty = client.post("/api/checkout/cart/", body, content_type="application/json")
    assert empty.status_code == 400
    assert empty.json()["error"] == {
        "code": "empty_cart",
        "message": "the cart is empty",
        "details": {},
    }
    both = client.post("/api/checkout/quote/", {}, content_type="application/json")
    assert both.status_code == 400


@pytest.mark.django_db
def test_live_hold_checkout_uses_the_registered_live_price_or_refuses(
    stocked: SalesChannel,
    shopper: User,
    tee: ProductVariant,
    store_jingan: Location,
    rates: None,
) -> None:
    from checkout import live_prices

    hold = hold_create(
        sales_channel=stocked,
        quantities={tee: 1},
        kind=Hold.Kind.LIVE_DROP,
        owner=shopper,
        ttl_seconds=300,
        method="pickup",
        pickup_location=store_jingan,
    )
    with pytest.raises(InvalidCheckout, match="live price of this hold is unknown"):
        checkout_from_hold(user=shopper, hold_token=hold.token, pickup_location=store_jingan)
    assert Order.objects.count() == 0

    def resolver(h: Hold) -> dict[str, int] | None:
        return {"TEE-RED-M": 5900} if h.pk == hold.pk else None

    live_prices.register_live_price_resolver(resolver)
    try:
        order, _ = checkout_from_hold(
            user=shopper, hold_token=hold.token, pickup_location=store_jingan
        )
    finally:
        live_prices._resolvers.remove(resolver)
    assert order.total_amount == 5900
