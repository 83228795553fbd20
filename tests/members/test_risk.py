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


@pytest.mark.django_db
def test_staff_blocklist_a_device_and_see_the_held_order_with_its_reason_in_the_queue(
    stocked: SalesChannel,
    shopper: User,
    home: Address,
    rates: None,
    admin_user: User,
    client: Client,
) -> None:
    client.force_login(shopper)
    assert client.get("/api/members/risk/").status_code == 403
    assert (
        client.post(
            "/api/members/blocklist/",
            {"kind": "device", "value": "d1"},
            content_type="application/json",
        ).status_code
        == 403
    )
    client.force_login(admin_user)
    added = client.post(
        "/api/members/blocklist/",
        {"kind": "device", "value": "dev-42", "reason": "card testing"},
        content_type="application/json",
    )
    assert added.status_code == 201
    bad = client.post(
        "/api/members/blocklist/", {"kind": "planet", "value": "x"}, content_type="application/json"
    )
    assert bad.status_code == 400
    order = _order(stocked, shopper, home)
    client.force_login(shopper)
    held = client.post(
        "/api/payments/",
        {"order": order.number, "provider": "sandbox", "method": "page"},
        content_type="application/json",
        HTTP_X_DEVICE_ID="dev-42",
    )
    assert held.status_code == 409
    assert held.json()["error"]["code"] == "payment_on_hold"
    assert Payment.objects.count() == 0
    client.force_login(admin_user)
    queue = client.get("/api/members/risk/").json()
    assert [(r["order"], r["reasons"], r["device_id"]) for r in queue["results"]] == [
        (order.number, ["blocklisted device"], "dev-42")
    ]
    client.post(
        f"/api/members/risk/{order.number}/", {"approve": True}, content_type="application/json"
    )
    assert client.get("/api/members/risk/").json()["results"] == []
    approved = client.get("/api/members/risk/?status=approved").json()["results"]
    assert [(r["order"], r["decided_by"]) for r in approved] == [(order.number, "boss")]
    assert client.get("/api/members/risk/?status=nope").status_code == 400


@pytest.mark.django_db
def test_an_order_far_above_the_shoppers_usual_spend_is_held_and_a_raw_address_is_blocklisted(
    stocked: SalesChannel,
    shopper: User,
    home: Address,
    rates: None,
    admin_user: User,
    settings: object,
) -> None:
    from members.risk import blocklist_add

    settings.LIVEHUB_RISK = {"unusual_multiple": 3}  # type: ignore[attr-defined]
    usual = _order(stocked, shopper, home)
    Order.objects.filter(pk=usual.pk).update(status="delivered")  # a past, paid order
    big = _order(stocked, shopper, home, quantity=4)
    with pytest.raises(PaymentOnHold) as held:
        payment_create(order=big, provider="sandbox", method="page", actor=shopper)
    assert held.value.details["reasons"] == [
        f"amount {big.total_amount} is over 3x this shopper's average of {usual.total_amount}"
    ]
    entry = blocklist_add(
        kind="address", value="SH|Shanghai|1 Nanjing Rd|", reason="fraud", actor=admin_user
    )
    assert entry.value == address_key(home.as_shipping_address())
