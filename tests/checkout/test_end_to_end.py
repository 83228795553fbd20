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
