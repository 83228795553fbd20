"""WeChat Pay v3 against the local gateway simulator (real RSA/AES-GCM protocol)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.hashes import SHA256
from django.test import Client

from hub.kernel.outbox import outbox_relay
from oms.models import Order
from oms.services.orders import order_cancel
from payments.errors import InvalidPaymentInput
from payments.models import Payment, PaymentNotification, PaymentStatusChange, Refund
from payments.services import payment_create, payment_reconcile, refund_submit

URL = "/payments/notify/wechatpay/"


def _post(client: Client, notification: tuple[dict[str, str], bytes]) -> Any:
    headers, body = notification
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post(URL, data=body, content_type="application/json", **extra)


@pytest.mark.django_db
def test_native_payment_returns_a_qr_code_and_a_signed_request_reached_the_gateway(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    order = make_order(tees=2)
    payment = payment_create(order=order, provider="wechatpay", method="native", actor=shopper)
    assert payment.client_payload["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    trade = gateways["wechatpay"].trades[payment.reference]
    assert (trade.total, trade.trade_type, trade.state) == (2 * 12900 + 1000, "NATIVE", "NOTPAY")


@pytest.mark.django_db
def test_notification_marks_the_order_paid_once_even_when_repeated(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any, client: Client
) -> None:
    order = make_order()
    payment = payment_create(order=order, provider="wechatpay", method="native", actor=shopper)
    gateways["wechatpay"].pay(payment.reference)
    note = gateways["wechatpay"].transaction_notification(payment.reference)
    first = _post(client, note)
    second = _post(client, note)
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (first.status_code, second.status_code) == (204, 204)
    assert payment.status == "succeeded"
    assert (
        payment.provider_transaction_id
        == gateways["wechatpay"].trades[payment.reference].transaction_id
    )
    assert (order.status, order.payment_reference) == ("allocated", payment.reference)
    assert PaymentStatusChange.objects.filter(payment=payment).count() == 1
    assert PaymentNotification.objects.filter(verified=True).count() == 2


@pytest.mark.django_db
def test_tampered_notification_is_rejected_and_changes_nothing(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any, client: Client
) -> None:
    order = make_order()
    payment = payment_create(order=order, provider="wechatpay", method="native", actor=shopper)
    gateways["wechatpay"].pay(payment.reference)
    headers, body = gateways["wechatpay"].transaction_notification(payment.reference)
    envelope = json.loads(body)
    envelope["summary"] = "tampered"
    response = _post(client, (headers, json.dumps(envelope, ensure_ascii=False).encode()))
    payment.refresh_from_db()
    order.refresh_from_db()
    assert response.status_code == 400
    assert response.json()["code"] == "FAIL"
    assert (payment.status, order.status) == ("pending", "pending_payment")
    stored = PaymentNotification.objects.get()
    assert (stored.verified, stored.error) == (False, "WeChat Pay signature or decryption failed")


@pytest.mark.django_db
def test_jsapi_parameters_are_signed_with_the_merchant_key(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    order = make_order()
    payment = payment_create(
        order=order, provider="wechatpay", method="jsapi", actor=shopper, openid="oUser123"
    )
    params = payment.client_payload["jsapi"]
    assert params["package"].startswith("prepay_id=wx")
    message = (
        f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    )
    gateways["wechatpay"].merchant_public_key.verify(
        base64.b64decode(params["paySign"]), message.encode(), padding.PKCS1v15(), SHA256()
    )


@pytest.mark.django_db
def test_jsapi_without_openid_is_refused_and_recorded_failed(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    order = make_order()
    with pytest.raises(InvalidPaymentInput, match="openid"):
        payment_create(order=order, provider="wechatpay", method="jsapi", actor=shopper)
    assert list(Payment.objects.values_list("status", flat=True)) == ["failed"]


@pytest.mark.django_db
def test_cancel_after_payment_refunds_through_the_gateway(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any, client: Client
) -> None:
    sim = gateways["wechatpay"]
    order = make_order()
    payment = payment_create(order=order, provider="wechatpay", method="native", actor=shopper)
    sim.pay(payment.reference)
    _post(client, sim.transaction_notification(payment.reference))
    order_cancel(order=Order.objects.get(pk=order.pk), actor=None, reason="changed mind")
    outbox_relay()
    outbox_relay()  # a redelivery refunds nothing twice
    refund = Refund.objects.get()
    assert (refund.amount, refund.status) == (order.total_amount, "pending")
    refund_submit(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == "processing"
    sim.complete_refund(refund.reference)
    response = _post(client, sim.refund_notification(refund.reference))
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert response.status_code == 204
    assert (refund.status, payment.status, payment.refunded_amount) == (
        "succeeded",
        "refunded",
        order.total_amount,
    )


@pytest.mark.django_db
def test_reconcile_settles_a_payment_whose_notification_was_lost(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    from datetime import timedelta

    order = make_order()
    payment = payment_create(order=order, provider="wechatpay", method="native", actor=shopper)
    gateways["wechatpay"].pay(payment.reference)
    report = payment_reconcile(older_than=timedelta(0))
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (report.checked, report.settled, report.errors) == (1, 1, 0)
    assert (payment.status, order.status) == ("succeeded", "allocated")


@pytest.mark.django_db
def test_a_replayed_old_notification_is_refused(
    gateways: dict[str, Any],
    make_order: Callable[..., Order],
    shopper: Any,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    sim = gateways["wechatpay"]
    order = make_order()
    payment = payment_create(order=order, provider="wechatpay", method="native", actor=shopper)
    sim.pay(payment.reference)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 600)  # signed ten minutes ago
    old = sim.transaction_notification(payment.reference)
    monkeypatch.setattr(time, "time", real_time)
    response = _post(client, old)
    payment.refresh_from_db()
    assert response.status_code == 400
    assert response.json()["message"] == "notification timestamp is too old (replay?)"
    assert payment.status == "pending"


@pytest.mark.django_db
def test_platform_certificate_mode_verifies_answers_and_callbacks_with_the_downloaded_certificate(
    settings: Any, make_order: Callable[..., Order], shopper: Any, client: Client, tmp_path: Any
) -> None:
    from payments.simulators.wechatpay import WeChatPaySimulator

    sim = WeChatPaySimulator()
    sim.start()
    try:
        settings.LIVEHUB_PAYMENT_PROVIDERS = {
            "wechatpay": sim.platform_certificate_config(
                notify_url="http://127.0.0.1:8000" + URL, cert_dir=str(tmp_path / "certs")
            )
        }
        settings.LIVEHUB_PAYMENT_PROVIDERS_FILE = str(tmp_path / "none.json")
        assert "public_key" not in settings.LIVEHUB_PAYMENT_PROVIDERS["wechatpay"]
        order = make_order()
        payment = payment_create(order=order, provider="wechatpay", method="native", actor=shopper)
        sim.pay(payment.reference)
        headers, body = sim.transaction_notification(payment.reference)
        assert headers["Wechatpay-Serial"] == sim.signing_serial != sim.public_key_id
        forged = dict(headers, **{"Wechatpay-Serial": sim.public_key_id})
        assert _post(client, (forged, body)).status_code == 400
        payment.refresh_from_db()
        assert payment.status == "pending"
        assert _post(client, (headers, body)).status_code == 204
        payment.refresh_from_db()
        order.refresh_from_db()
        assert (payment.status, order.status) == ("succeeded", "allocated")
    finally:
        sim.stop()
