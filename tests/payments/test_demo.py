"""The demo's payment path: a newcomer pays with the mounted WeChat Pay and Alipay simulators.

A live server plays LiveHub as `make demo` runs it: `load_checkout_demo` points the
providers at the simulators mounted under /payments/simulator/, the shopper opens the
simulator's payer page (the stand-in for the phone) and confirms, and the simulator's
notifier (a Celery task, run eagerly here) calls our notify URL over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.test import Client

from oms.models import Order
from tests.fixtures.gateways import demo_payments  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _start(client: Client, order: Order, provider: str, method: str) -> dict[str, Any]:
    response = client.post(
        "/api/payments/",
        {"order": order.number, "provider": provider, "method": method},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def test_a_newcomer_pays_with_the_wechat_pay_and_alipay_simulators_in_the_demo(
    demo_payments: None,  # noqa: F811
    make_order: Callable[..., Order],
    shopper: Any,
    client: Client,
) -> None:
    client.force_login(shopper)

    # WeChat Pay Native: a QR code; the payer page stands in for scanning it in WeChat
    first = make_order()
    native = _start(client, first, "wechatpay", "native")
    assert native["client_payload"]["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    phone = native["simulator_pay_url"]
    assert phone.endswith(f"/payments/simulator/wechatpay/pay/{native['reference']}/")
    assert "Confirm payment" in requests.get(phone, timeout=10).text
    assert requests.post(phone, timeout=30).ok
    first.refresh_from_db()
    assert (first.status, first.payment_reference) == ("allocated", native["reference"])

    # Alipay page pay: the cashier page carries the pay button
    second = make_order(tees=2)
    page = _start(client, second, "alipay", "page")
    cashier = requests.get(page["client_payload"]["redirect_url"], timeout=10)
    action = re.search(r'<form method="post" action="([^"]+)"', cashier.text)
    assert action is not None and action.group(1) == page["simulator_pay_url"]
    assert requests.post(action.group(1), timeout=30).ok
    second.refresh_from_db()
    assert (second.status, second.payment_reference) == ("allocated", page["reference"])


def test_real_gateways_get_no_simulator_pay_url(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any, client: Client
) -> None:
    client.force_login(shopper)
    started = _start(client, make_order(), "wechatpay", "native")
    assert started["simulator_pay_url"] is None
