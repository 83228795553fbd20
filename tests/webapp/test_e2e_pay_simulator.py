"""The demo's simulated WeChat Pay cashier is one click away in the payment picker.

With the gateway simulators mounted (``make demo``), ``POST /api/payments/`` returns a
``simulator_pay_url``; the PWA shows it next to the WeChat Pay QR code, so a newcomer pays
without a phone. Headless Chromium against pytest-django's live server; axe-clean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_django.live_server_helper import LiveServer

from oms.models import Location, Order, ProductVariant, SalesChannel
from oms.services.orders import OrderLineInput, order_create
from tests.fixtures.gateways import demo_payments  # noqa: F401
from tests.webapp.browser import TIMEOUT_MS, axe, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_newcomer_pays_in_the_simulated_wechat_pay_cashier(
    browser: Any,
    demo_payments: None,  # noqa: F811
    live_server: LiveServer,
    web: SalesChannel,
    store_jingan: Location,
    tee: ProductVariant,
    stock: Callable[[ProductVariant, Location, int], None],
    shopper: User,
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    stock(tee, store_jingan, 5)
    order = order_create(
        sales_channel=web,
        lines=[OrderLineInput(tee.sku, 1)],
        fulfilment_method=Order.FulfilmentMethod.SHIP,
        customer=shopper,
        shipping_address={"line1": "1 Nanjing Rd", "city": "Shanghai"},
    )
    base = live_server.url
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, base, shopper.username, f"/orders/{order.number}")
        payment = page.get_by_test_id("payment")
        payment.get_by_role("radio", name="WeChat Pay").check()
        payment.get_by_test_id("pay").click()
        expect(payment.get_by_test_id("pay-qr")).to_be_visible()
        link = payment.get_by_role("link", name="Open the simulated WeChat Pay cashier")
        expect(link).to_have_attribute(
            "href", re.compile(re.escape(f"{base}/payments/simulator/wechatpay/pay/") + r".+/$")
        )
        violations = axe(page, "pay-simulator")
        assert violations == [], json.dumps(violations, indent=1)
        with context.expect_page() as opened:
            link.click()
        cashier = opened.value
        cashier.get_by_role("button", name="Confirm payment").click()
        expect(page.get_by_test_id("order-status")).not_to_have_text("Pending payment")
        order.refresh_from_db()
        assert order.payment_reference and order.status != "pending_payment"
    finally:
        context.close()
