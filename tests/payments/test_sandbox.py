"""The sandbox page, the payments API and out-of-order notifications."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from oms.models import Order
from payments.models import Payment, PaymentStatusChange
from payments.providers import get_provider
from payments.providers.sandbox.client import SandboxProvider
from payments.services import payment_create, payment_handle_notification


def _sandbox() -> SandboxProvider:
    provider = get_provider("sandbox")
    assert isinstance(provider, SandboxProvider)
    return provider


@pytest.mark.django_db
def test_sandbox_page_pays_the_order(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any, client: Client
) -> None:
    order = make_order()
    payment = payment_create(order=order, provider="sandbox", method="page", actor=shopper)
    url = payment.client_payload["redirect_url"]
    assert url == f"/payments/sandbox/{payment.reference}/"
    page = client.get(url)
    assert page.status_code == 200
    assert b'value="succeeded"' in page.content
    client.post(url, {"outcome": "succeeded"})
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, order.status) == ("succeeded", "allocated")


@pytest.mark.django_db
def test_a_late_closed_notification_does_not_undo_a_payment(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    order = make_order()
    payment = payment_create(order=order, provider="sandbox", method="page", actor=shopper)
    sandbox = _sandbox()
    closed = sandbox.settle(reference=payment.reference, outcome="closed")
    paid = sandbox.settle(reference=payment.reference, outcome="succeeded")
    payment_handle_notification(provider="sandbox", headers=paid[0], body=paid[1])
    ack, record = payment_handle_notification(provider="sandbox", headers=closed[0], body=closed[1])
    payment.refresh_from_db()
    assert (ack.status, record.verified, payment.status) == (200, True, "succeeded")
    assert list(PaymentStatusChange.objects.values_list("from_status", "to_status")) == [
        ("pending", "succeeded")
    ]


@pytest.mark.django_db
def test_a_notification_with_the_wrong_amount_is_rejected(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    order = make_order()
    payment = payment_create(order=order, provider="sandbox", method="page", actor=shopper)
    sandbox = _sandbox()
    body = (
        f'{{"amount": 1, "outcome": "succeeded", "reference": "{payment.reference}", '
        '"transaction_id": "X"}'
    ).encode()
    ack, record = payment_handle_notification(
        provider="sandbox", headers={"X-Sandbox-Signature": sandbox.sign(body)}, body=body
    )
    payment.refresh_from_db()
    assert (ack.status, payment.status) == (400, "pending")
    assert record.error == f"paid amount 1 does not match {payment.amount}"


@pytest.mark.django_db
def test_payment_api_is_idempotent_and_only_for_the_orders_customer(
    gateways: dict[str, Any],
    make_order: Callable[..., Order],
    shopper: Any,
    other_shopper: Any,
    client: Client,
) -> None:
    order = make_order()
    client.force_login(shopper)
    body = {"order": order.number, "provider": "sandbox", "method": "page"}
    first = client.post(
        "/api/payments/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    again = client.post(
        "/api/payments/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    client.force_login(other_shopper)
    denied = client.post("/api/payments/", body, content_type="application/json")
    assert denied.status_code == 404
    assert denied.json()["error"]["code"] == "not_found"
    bad = client.post(
        "/api/payments/", {**body, "method": "native"}, content_type="application/json"
    )
    assert bad.status_code == 404
    client.force_login(shopper)
    wrong_method = client.post(
        "/api/payments/", {**body, "method": "native"}, content_type="application/json"
    )
    assert wrong_method.status_code == 400
    assert wrong_method.json()["error"]["message"] == "sandbox supports page, not 'native'"
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_unknown_provider_notification_is_a_4xx(client: Client) -> None:
    response = client.post("/payments/notify/paypal/", data=b"{}", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "payment_provider_not_configured"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_notifications_pay_the_order_once(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    order = make_order()
    payment = payment_create(order=order, provider="sandbox", method="page", actor=shopper)
    headers, body = _sandbox().settle(reference=payment.reference, outcome="succeeded")
    statuses: list[int] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            ack, _ = payment_handle_notification(provider="sandbox", headers=headers, body=body)
            statuses.append(ack.status)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    order.refresh_from_db()
    assert errors == []
    assert statuses == [200] * 6
    assert order.status == "allocated"
    assert PaymentStatusChange.objects.count() == 1
    assert order.status_changes.filter(to_status="paid").count() == 1
