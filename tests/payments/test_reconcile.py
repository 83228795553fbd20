"""Reconciliation, staff refunds, refund retries and the demo configuration."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from members.models import Coupon, Tier
from oms.models import Order
from payments.models import Payment, Refund
from payments.services import (
    MAX_REFUND_ATTEMPTS,
    payment_create,
    payment_reconcile,
    refund_submit,
)


@pytest.mark.django_db
def test_reconcile_closes_payments_unpaid_past_the_checkout_hold(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    order = make_order()
    payment = payment_create(order=order, provider="wechatpay", method="native", actor=shopper)
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(hours=1))
    report = payment_reconcile(older_than=timedelta(minutes=2))
    payment.refresh_from_db()
    assert (report.checked, report.closed, report.errors) == (1, 1, 0)
    assert payment.status == "cancelled"
    assert gateways["wechatpay"].trades[payment.reference].state == "CLOSED"


@pytest.mark.django_db
def test_staff_partial_refund_is_idempotent_and_admin_only(
    gateways: dict[str, Any],
    make_order: Callable[..., Order],
    shopper: Any,
    admin_user: Any,
    client: Client,
) -> None:
    order = make_order()
    payment = payment_create(order=order, provider="wechatpay", method="native", actor=shopper)
    sim = gateways["wechatpay"]
    sim.pay(payment.reference)
    headers, body = sim.transaction_notification(payment.reference)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    client.post("/payments/notify/wechatpay/", data=body, content_type="application/json", **extra)
    url = f"/api/payments/{payment.reference}/refunds/"
    client.force_login(shopper)
    assert (
        client.post(
            url,
            {"amount": 100, "reason": "x"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="r1",
        ).status_code
        == 404
    )
    client.force_login(admin_user)
    missing_key = client.post(url, {"amount": 100, "reason": "x"}, content_type="application/json")
    assert missing_key.status_code == 400
    first = client.post(
        url,
        {"amount": 500, "reason": "scratched"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="r1",
    )
    again = client.post(
        url,
        {"amount": 500, "reason": "scratched"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="r1",
    )
    assert first.status_code == again.status_code == 201
    assert Refund.objects.get().amount == 500
    too_much = client.post(
        url,
        {"amount": order.total_amount, "reason": "all"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="r2",
    )
    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "refund_too_large"


@pytest.mark.django_db
def test_a_refund_the_gateway_refuses_is_retried_then_marked_failed(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any, client: Client
) -> None:
    from payments.services import payment_refund

    order = make_order()
    payment = payment_create(order=order, provider="wechatpay", method="native", actor=shopper)
    sim = gateways["wechatpay"]
    sim.pay(payment.reference)
    headers, body = sim.transaction_notification(payment.reference)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    client.post("/payments/notify/wechatpay/", data=body, content_type="application/json", **extra)
    payment.refresh_from_db()
    refund = payment_refund(payment=payment, amount=100, reason="x", source_key="t", actor=None)
    sim.trades[payment.reference].state = "CLOSED"  # the gateway now refuses refunds
    for _ in range(MAX_REFUND_ATTEMPTS):
        refund_submit(refund_id=refund.pk)
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("failed", MAX_REFUND_ATTEMPTS)
    assert "trade is not paid" in refund.last_error
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("succeeded", 0)


@pytest.mark.django_db
def test_load_checkout_demo_is_idempotent_and_configures_the_simulators(
    settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    settings.LIVEHUB_PAYMENT_PROVIDERS_FILE = str(tmp_path / "providers.json")
    from payments.simulators import demo

    demo.simulators.cache_clear()
    call_command("load_checkout_demo")
    call_command("load_checkout_demo")
    demo.simulators.cache_clear()
    config = json.loads((tmp_path / "providers.json").read_text())
    assert sorted(config) == ["alipay", "sandbox", "wechatpay"]
    assert config["wechatpay"]["gateway"].endswith("/payments/simulator/wechatpay")
    assert (Tier.objects.count(), Coupon.objects.count()) == (3, 3)
    config["alipay"]["gateway"] = "https://openapi.alipay.com/gateway.do"
    (tmp_path / "providers.json").write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match="holds real gateway settings"):
        call_command("load_checkout_demo")


def test_deploy_check_warns_about_the_sandbox_and_simulators(settings: Any) -> None:
    from payments.checks import payments_deploy_check

    settings.LIVEHUB_PAYMENT_PROVIDERS = {"sandbox": {}}
    settings.LIVEHUB_PAYMENT_SIMULATORS = True
    settings.LIVEHUB_PAYMENT_PROVIDERS_FILE = "/nonexistent/providers.json"
    assert [m.id for m in payments_deploy_check(None)] == ["payments.W001", "payments.W002"]
    settings.LIVEHUB_PAYMENT_PROVIDERS = {}
    settings.LIVEHUB_PAYMENT_SIMULATORS = False
    assert payments_deploy_check(None) == []
