"""End to end: share -> click (cookies) -> sign in -> checkout -> sandbox payment -> reward.

The visitor clicks while signed out, so the click is anonymous; checkout reads the share
cookies (``lh_vid``/``lh_ref``) and the order is attributed to the sharer. Refunds and
cancellations reverse the reward; the buyer's own link never earns.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from checkout.models import Address, ShippingRate
from checkout.services import address_create
from hub.kernel.outbox import outbox_relay
from oms.models import Order, ProductVariant, SalesChannel
from payments.models import Payment, Refund
from payments.services import refund_submit
from social.models import Attribution, RewardEntry, ShareClick
from tests.fixtures.commerce import sandbox_on

from .conftest import BROWSER_UA

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox_on")]
__all__ = ["sandbox_on"]


@pytest.fixture
def rates(web: SalesChannel) -> None:
    """The web shop (the checkout's default sales channel) with a flat shipping rate."""
    ShippingRate.objects.create(region="*", currency="CNY", amount=1200, free_over=50000)


def _address(user: User) -> Address:
    return address_create(
        user=user,
        data={
            "name": "Han Meimei",
            "phone": "13900000000",
            "region": "SH",
            "city": "Shanghai",
            "line1": "2 Huaihai Rd",
        },
    )


def _share(sharer: User, variant: ProductVariant) -> dict[str, Any]:
    client = Client(HTTP_USER_AGENT=BROWSER_UA)
    client.force_login(sharer)
    response = client.post(
        "/api/social/links",
        {"target_kind": "product", "target_id": str(variant.product_id), "platform": "wechat"},
        content_type="application/json",
    )
    assert response.status_code == 201
    return dict(response.json())


def _buy_and_pay(browser: Client, buyer: User, sku: str, quantity: int = 1) -> Order:
    """Sign in on the browser that clicked, check out the cart and pay in the sandbox."""
    browser.force_login(buyer)
    browser.put("/api/cart/", {"sku": sku, "quantity": quantity}, content_type="application/json")
    placed = browser.post(
        "/api/checkout/cart/", {"address": _address(buyer).pk}, content_type="application/json"
    )
    assert placed.status_code == 201, placed.content
    number = placed.json()["order"]
    created = browser.post(
        "/api/payments/",
        {"order": number, "provider": "sandbox", "method": "page"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    payment = created.json()
    browser.post(payment["client_payload"]["redirect_url"], {"outcome": "succeeded"})
    outbox_relay()
    order = Order.objects.get(number=number)
    assert order.status == "allocated"
    return order


def _statement(sharer: User) -> dict[str, Any]:
    client = Client()
    client.force_login(sharer)
    return dict(client.get("/api/social/statement").json())


def test_anonymous_click_then_checkout_credits_the_sharer_and_a_cancel_reverses_it(
    sharer: User,
    buyer: User,
    stocked_tee: ProductVariant,
    rates: None,
    admin_user: User,
) -> None:
    link = _share(sharer, stocked_tee)
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    assert browser.get(f"/s/{link['code']}").status_code == 302  # signed out
    assert browser.cookies["lh_ref"].value == link["code"]
    assert ShareClick.objects.get().user_id is None

    order = _buy_and_pay(browser, buyer, stocked_tee.sku)

    attribution = Attribution.objects.get()
    assert (attribution.order_number, attribution.sharer_id, attribution.buyer_id) == (
        order.number,
        sharer.pk,
        buyer.pk,
    )
    statement = _statement(sharer)
    assert {k: statement[k] for k in ("balances", "clicks", "orders")} == {
        "balances": {"CNY": 1290},  # 10% of 12900
        "clicks": 1,
        "orders": 1,
    }

    staff = Client()
    staff.force_login(admin_user)
    cancelled = staff.post(
        f"/api/orders/{order.number}/cancel/", {"reason": "changed mind"}, "application/json"
    )
    assert cancelled.status_code in (200, 201)
    outbox_relay()
    refund_submit(refund_id=Refund.objects.get().pk)
    outbox_relay()
    assert Payment.objects.get().status == "refunded"
    statement = _statement(sharer)
    assert statement["balances"] == {"CNY": 0}
    assert [(e["kind"], e["amount"]) for e in statement["entries"]] == [
        ("earn", 1290),
        ("reverse", -1290),
    ]


def test_a_staff_refund_of_part_of_the_payment_reverses_the_reward_pro_rata(
    sharer: User,
    buyer: User,
    stocked_tee: ProductVariant,
    rates: None,
    admin_user: User,
) -> None:
    link = _share(sharer, stocked_tee)
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    browser.get(f"/s/{link['code']}")
    order = _buy_and_pay(browser, buyer, stocked_tee.sku, quantity=2)  # 25800 + 1200 shipping
    assert _statement(sharer)["balances"] == {"CNY": 2580}
    payment = Payment.objects.get(order=order)
    staff = Client()
    staff.force_login(admin_user)
    response = staff.post(
        f"/api/payments/{payment.reference}/refunds/",
        {"amount": 13500, "reason": "goodwill"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="goodwill-1",
    )
    assert response.status_code == 201, response.content
    outbox_relay()
    refund_submit(refund_id=Refund.objects.get().pk)
    outbox_relay()
    outbox_relay()  # redelivery changes nothing
    # 13500 of 27000 paid came back: half the reward is reversed.
    assert _statement(sharer)["balances"] == {"CNY": 1290}
    assert RewardEntry.objects.filter(kind="reverse").count() == 1


def test_buying_through_ones_own_link_earns_nothing(
    sharer: User, stocked_tee: ProductVariant, rates: None
) -> None:
    link = _share(sharer, stocked_tee)
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    browser.get(f"/s/{link['code']}")
    _buy_and_pay(browser, sharer, stocked_tee.sku)
    assert Attribution.objects.count() == 0
    assert _statement(sharer)["balances"] == {}


@pytest.mark.parametrize(("model", "winner"), [("last_touch", "second"), ("first_touch", "first")])
def test_checkout_applies_the_configured_attribution_model(
    buyer: User,
    stocked_tee: ProductVariant,
    rates: None,
    settings: Any,
    model: str,
    winner: str,
) -> None:
    settings.SOCIAL_ATTRIBUTION_MODEL = model
    sharers = {name: User.objects.create(username=name) for name in ("first", "second")}
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    for name in ("first", "second"):
        browser.get(f"/s/{_share(sharers[name], stocked_tee)['code']}")
    _buy_and_pay(browser, buyer, stocked_tee.sku)
    assert Attribution.objects.get().sharer_id == sharers[winner].pk
