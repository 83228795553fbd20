"""Cart to paid order to refund: payment, points and coupon move together."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from checkout.models import Address
from hub.kernel.outbox import outbox_relay
from members.models import Coupon, CouponRedemption
from members.services import points_balance
from oms.models import Order
from payments.models import Payment, Refund
from payments.services import refund_submit


@pytest.mark.django_db
def test_shopper_pays_with_the_sandbox_and_a_cancel_refunds_everything(
    stocked: object,
    shopper: User,
    home: Address,
    rates: None,
    coupon_10pct: Coupon,
    give_points: Callable[[User, int], None],
    client: Client,
    settings: object,
) -> None:
    give_points(shopper, 300)
    client.force_login(shopper)
    client.put("/api/cart/", {"sku": "TEE-RED-M", "quantity": 1}, content_type="application/json")
    placed = client.post(
        "/api/checkout/cart/",
        {"address": home.pk, "coupon": "LIVE10", "points": 300},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="e2e",
    ).json()
    assert placed["total_amount"] == 12900 - 1290 - 300 + 1200
    payment = client.post(
        "/api/payments/",
        {"order": placed["order"], "provider": "sandbox", "method": "page"},
        content_type="application/json",
    ).json()
    client.post(payment["client_payload"]["redirect_url"], {"outcome": "succeeded"})
    outbox_relay()
    order = Order.objects.get(number=placed["order"])
    assert order.status == "allocated"
    assert points_balance(shopper) == 125  # 12510 -> 125 points earned

    client.force_login(User.objects.create_superuser("root", "r@t.test", "pw"))
    order_cancel_response = client.post(
        f"/api/orders/{order.number}/cancel/",
        {"reason": "out of time"},
        content_type="application/json",
    )
    assert order_cancel_response.status_code in (200, 201)
    outbox_relay()
    refund = Refund.objects.get()
    refund_submit(refund_id=refund.pk)
    paid = Payment.objects.get()
    assert (paid.status, paid.refunded_amount) == ("refunded", 12510)
    assert points_balance(shopper) == 300
    assert CouponRedemption.objects.get().reversed_at is not None


@pytest.mark.django_db
def test_a_partial_return_refunds_and_reverses_points_pro_rata(
    stocked: object,
    shopper: User,
    home: Address,
    rates: None,
    store_jingan: object,
    client: Client,
) -> None:
    from oms.services.fulfilment import (
        fulfilment_mark_delivered,
        fulfilment_pack,
        fulfilment_ship,
        fulfilment_start_picking,
    )
    from oms.services.returns import return_inspect, return_receive, return_request

    client.force_login(shopper)
    client.put("/api/cart/", {"sku": "TEE-RED-M", "quantity": 2}, content_type="application/json")
    placed = client.post(
        "/api/checkout/cart/", {"address": home.pk}, content_type="application/json"
    ).json()
    payment = client.post(
        "/api/payments/",
        {"order": placed["order"], "provider": "sandbox", "method": "page"},
        content_type="application/json",
    ).json()
    client.post(payment["client_payload"]["redirect_url"], {"outcome": "succeeded"})
    outbox_relay()
    assert points_balance(shopper) == 270  # 25800 + 1200 shipping -> 270 points
    order = Order.objects.get(number=placed["order"])
    for fulfilment in order.fulfilments.all():
        fulfilment_start_picking(fulfilment=fulfilment, actor=None)
        fulfilment_pack(fulfilment=fulfilment, actor=None)
        fulfilment_ship(fulfilment=fulfilment, carrier="SF", tracking_number="T", actor=None)
        fulfilment_mark_delivered(fulfilment=fulfilment, actor=None)
    order.refresh_from_db()
    line = order.lines.get()
    rma = return_request(order=order, quantities={line.pk: 1}, actor=None)
    return_receive(rma=rma, location=store_jingan, actor=None)  # type: ignore[arg-type]
    return_inspect(rma=rma, restock={rma.lines.get().pk: True}, actor=None)
    outbox_relay()
    refund = Refund.objects.get()
    refund_submit(refund_id=refund.pk)
    paid = Payment.objects.get()
    # half the goods came back: 27000 x 12900 / 25800 = 13500 refunded, 135 points reversed
    assert (refund.amount, paid.status, paid.refunded_amount) == (
        13500,
        "partially_refunded",
        13500,
    )
    assert points_balance(shopper) == 135
