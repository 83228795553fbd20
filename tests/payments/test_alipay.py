"""Alipay RSA2 against the local gateway simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import requests
from django.test import Client

from hub.kernel.outbox import outbox_relay
from oms.models import Order
from oms.services.fulfilment import fulfilment_pack, fulfilment_ship, fulfilment_start_picking
from oms.services.returns import return_inspect, return_receive, return_request
from payments.errors import RefundTooLarge
from payments.models import Payment, Refund
from payments.services import payment_create, payment_refund, refund_submit

URL = "/payments/notify/alipay/"


def _post(client: Client, notification: tuple[dict[str, str], bytes]) -> Any:
    _, body = notification
    return client.post(URL, data=body, content_type="application/x-www-form-urlencoded")


def _paid(gateways: dict[str, Any], order: Order, shopper: Any, client: Client) -> Payment:
    payment = payment_create(order=order, provider="alipay", method="page", actor=shopper)
    cashier = requests.get(payment.client_payload["redirect_url"], timeout=10)
    assert cashier.status_code == 200
    gateways["alipay"].pay(payment.reference)
    assert _post(client, gateways["alipay"].notification(payment.reference)).content == b"success"
    payment.refresh_from_db()
    return payment


@pytest.mark.django_db
def test_page_pay_redirects_to_a_cashier_that_accepts_our_signature(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    order = make_order(tees=1, mugs=1)
    payment = payment_create(order=order, provider="alipay", method="wap", actor=shopper)
    url = payment.client_payload["redirect_url"]
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    trade = gateways["alipay"].trades[payment.reference]
    assert (trade.total_amount, trade.product_code) == ("184.00", "QUICK_WAP_PAY")
    forged = dict(parse_qsl(url.split("?", 1)[1]))
    forged["biz_content"] = forged["biz_content"].replace("184.00", "0.01")
    bad = requests.get(url.split("?", 1)[0] + "?" + urlencode(forged), timeout=10)
    assert bad.json()["error_response"]["sub_msg"] == "invalid signature"


@pytest.mark.django_db
def test_notification_pays_the_order_and_tampering_is_rejected(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any, client: Client
) -> None:
    order = make_order()
    payment = payment_create(order=order, provider="alipay", method="page", actor=shopper)
    requests.get(payment.client_payload["redirect_url"], timeout=10)
    gateways["alipay"].pay(payment.reference)
    headers, body = gateways["alipay"].notification(payment.reference)
    tampered = body.replace(b"total_amount=139.00", b"total_amount=1.00")
    assert tampered != body
    assert _post(client, (headers, tampered)).content == b"fail"
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert _post(client, (headers, body)).content == b"success"
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, order.status) == ("succeeded", "allocated")


@pytest.mark.django_db
def test_partial_return_refunds_pro_rata_and_the_full_return_refunds_the_rest(
    gateways: dict[str, Any],
    make_order: Callable[..., Order],
    shopper: Any,
    client: Client,
    store_jingan: Any,
) -> None:
    order = make_order(tees=2, mugs=1)  # 2 x 129.00 + 45.00 + 10.00 shipping = 313.00
    payment = _paid(gateways, order, shopper, client)
    order.refresh_from_db()
    for fulfilment in order.fulfilments.all():
        fulfilment_start_picking(fulfilment=fulfilment, actor=None)
        fulfilment_pack(fulfilment=fulfilment, actor=None)
        fulfilment_ship(fulfilment=fulfilment, carrier="SF", tracking_number="T1", actor=None)
    order.refresh_from_db()
    tee_line = order.lines.get(sku="TEE-RED-M")
    rma = return_request(order=order, quantities={tee_line.pk: 1}, actor=None)
    return_receive(rma=rma, location=store_jingan, actor=None)
    return_inspect(rma=rma, restock={rma.lines.get().pk: True}, actor=None)
    outbox_relay()
    first = Refund.objects.get()
    # 31300 * 12900 / 30300 = 13325.74... -> 13325 fen
    assert first.amount == 13325
    refund_submit(refund_id=first.pk)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 13325)

    order.refresh_from_db()
    rest = {line.pk: line.quantity - line.quantity_returned for line in order.lines.all()}
    rma = return_request(order=order, quantities=rest, actor=None)
    return_receive(rma=rma, location=store_jingan, actor=None)
    return_inspect(rma=rma, restock={line.pk: True for line in rma.lines.all()}, actor=None)
    outbox_relay()
    second = Refund.objects.exclude(pk=first.pk).get()
    refund_submit(refund_id=second.pk)
    payment.refresh_from_db()
    assert second.amount == 31300 - 13325
    assert (payment.status, payment.refunded_amount) == ("refunded", 31300)
    assert gateways["alipay"].trades[payment.reference].status == "TRADE_CLOSED"


@pytest.mark.django_db
def test_refund_beyond_what_was_paid_is_refused_and_records_nothing(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any, client: Client
) -> None:
    order = make_order()
    payment = _paid(gateways, order, shopper, client)
    with pytest.raises(RefundTooLarge, match="exceeds the 13900 still refundable"):
        payment_refund(
            payment=payment, amount=13901, reason="x", source_key="staff:too-much", actor=None
        )
    assert Refund.objects.count() == 0
