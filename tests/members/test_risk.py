"""Risk checks hold flagged orders before payment until staff decide."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from checkout.models import Address
from checkout.services import cart_get, cart_set_line, checkout_from_cart
from members.models import BlocklistEntry, RiskAssessment
from members.risk import PaymentOnHold, address_key
from oms.models import Order, SalesChannel
from payments.models import Payment
from payments.services import payment_create


def _order(stocked: SalesChannel, shopper: User, home: Address, quantity: int = 1) -> Order:
    cart = cart_get(sales_channel=stocked, user=shopper)
    cart_set_line(cart=cart, sku="TEE-RED-M", quantity=quantity)
    return checkout_from_cart(user=shopper, cart=cart, address=home)[0]


@pytest.mark.django_db
def test_blocklisted_address_is_held_for_review_and_staff_approval_releases_it(
    stocked: SalesChannel,
    shopper: User,
    home: Address,
    rates: None,
    admin_user: User,
    client: Client,
) -> None:
    BlocklistEntry.objects.create(
        kind="address", value=address_key(home.as_shipping_address()), reason="chargebacks"
    )
    order = _order(stocked, shopper, home)
    with pytest.raises(PaymentOnHold, match="being reviewed") as held:
        payment_create(order=order, provider="sandbox", method="page", actor=shopper)
    assert held.value.details == {"reasons": ["blocklisted address"]}
    assert Payment.objects.count() == 0
    client.force_login(admin_user)
    shown = client.get(f"/api/members/risk/{order.number}/").json()
    assert shown == {"order": order.number, "status": "flagged", "reasons": ["blocklisted address"]}
    client.post(
        f"/api/members/risk/{order.number}/", {"approve": True}, content_type="application/json"
    )
    payment = payment_create(order=order, provider="sandbox", method="page", actor=shopper)
    assert payment.status == "pending"


@pytest.mark.django_db
def test_velocity_and_rejection_cancel_the_order(
    stocked: SalesChannel,
    shopper: User,
    home: Address,
    rates: None,
    admin_user: User,
    settings: object,
    client: Client,
) -> None:
    settings.LIVEHUB_RISK = {"max_orders_per_user": 1}  # type: ignore[attr-defined]
    _order(stocked, shopper, home)
    second = _order(stocked, shopper, home)
    with pytest.raises(PaymentOnHold):
        payment_create(order=second, provider="sandbox", method="page", actor=shopper)
    assert RiskAssessment.objects.get(order=second).reasons == [
        "2 orders by this shopper in 60 minutes"
    ]
    client.force_login(shopper)
    assert (
        client.post(
            f"/api/members/risk/{second.number}/",
            {"approve": True},
            content_type="application/json",
        ).status_code
        == 403
    )
    client.force_login(admin_user)
    client.post(
        f"/api/members/risk/{second.number}/", {"approve": False}, content_type="application/json"
    )
    second.refresh_from_db()
    assert second.status == "cancelled"
