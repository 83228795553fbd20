"""Gateway notifications delivered by many processes at once, duplicated and out of order.

Real WeChat Pay v3 and Alipay notifications (signed with the simulators' test keys) and
sandbox ones are posted by forked processes, each with its own database connection, to
the notification endpoint. Stale "not paid yet" notifications, tampered copies and
reconciliation queries race with the "paid" ones. The database decides who wins; the
payment row lock and the transition table make the outcome exactly-once.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.db import connections
from django.test import Client

from hub.kernel.audit import audit_verify_chain
from hub.kernel.models import OutboxMessage
from hub.kernel.outbox import outbox_relay
from members.models import PointsEntry
from oms.models import Order
from payments.models import Payment, PaymentNotification, PaymentStatusChange
from payments.providers import get_provider
from payments.providers.sandbox.client import SandboxProvider
from payments.services import payment_create, payment_reconcile

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

PROCESSES = 6
COPIES_PER_PROCESS = 2

Delivery = tuple[str, dict[str, str], bytes]  # provider, headers, body


def _post(client: Client, delivery: Delivery) -> str:
    """Post one callback; answers ``<provider>:ok`` or ``<provider>:rejected``."""
    provider, headers, body = delivery
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    content_type = (
        "application/x-www-form-urlencoded" if provider == "alipay" else "application/json"
    )
    response = client.post(
        f"/payments/notify/{provider}/", data=body, content_type=content_type, **extra
    )
    accepted = response.status_code in (200, 204) and response.content != b"fail"
    return f"{provider}:{'ok' if accepted else 'rejected'}"


def _deliverer(
    deliveries: list[Delivery],
    barrier: Any,
    queue: Any,
    reconcile: bool,
) -> None:
    connections.close_all()  # never share the parent's socket
    try:
        client = Client()
        barrier.wait(timeout=60)
        statuses = [_post(client, delivery) for delivery in deliveries]
        if reconcile:  # a lost-notification sweep racing with the notifications
            payment_reconcile(older_than=timedelta(0))
        outbox_relay()  # relays race too: points are earned by the outbox consumer
        queue.put(("ok", statuses))
    except BaseException as exc:  # surfaced in the parent
        queue.put(("error", repr(exc)))
    finally:
        connections.close_all()


def _run_processes(plans: list[tuple[list[Delivery], bool]]) -> list[str]:
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    barrier = context.Barrier(len(plans))
    workers = [
        context.Process(target=_deliverer, args=(deliveries, barrier, queue, reconcile))
        for deliveries, reconcile in plans
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    errors = [detail for kind, detail in results if kind == "error"]
    assert errors == []
    return [status for _, statuses in results for status in statuses]


def _tampered(delivery: Delivery) -> Delivery:
    provider, headers, body = delivery
    if provider == "alipay":
        return provider, headers, body.replace(b"total_amount=", b"total_amount=1")
    return provider, headers, body.replace(b'"summary"', b'"summary_"')


def test_many_processes_delivering_duplicate_and_stale_notifications_pay_each_order_once(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    wechat, alipay = gateways["wechatpay"], gateways["alipay"]
    orders = {
        "wechatpay": make_order(tees=1),
        "alipay": make_order(tees=2),
        "sandbox": make_order(tees=1, mugs=1),
    }
    methods = {"wechatpay": "native", "alipay": "page", "sandbox": "page"}
    payments = {
        provider: payment_create(
            order=order, provider=provider, method=methods[provider], actor=shopper
        )
        for provider, order in orders.items()
    }
    # Alipay learns of a page-pay trade when the shopper opens the cashier page.
    assert requests.get(payments["alipay"].client_payload["redirect_url"], timeout=10).ok
    assert payments["alipay"].reference in alipay.trades

    # Stale: what the gateways would have said before the shopper paid.
    stale: list[Delivery] = [
        ("wechatpay", *wechat.transaction_notification(payments["wechatpay"].reference)),
        ("alipay", *alipay.notification(payments["alipay"].reference)),
    ]
    wechat.pay(payments["wechatpay"].reference)
    alipay.pay(payments["alipay"].reference)
    sandbox = get_provider("sandbox")
    assert isinstance(sandbox, SandboxProvider)
    paid: list[Delivery] = [
        ("wechatpay", *wechat.transaction_notification(payments["wechatpay"].reference)),
        ("alipay", *alipay.notification(payments["alipay"].reference)),
        ("sandbox", *sandbox.settle(reference=payments["sandbox"].reference, outcome="succeeded")),
    ]
    tampered = [_tampered(paid[0]), _tampered(paid[1])]

    shuffle = random.Random(7)
    plans: list[tuple[list[Delivery], bool]] = []
    for n in range(PROCESSES):
        # every process sends every "paid" notification (the same bytes), plus fresh
        # re-signed copies, some stale ones first or last, and a tampered copy
        deliveries = paid * COPIES_PER_PROCESS + [
            ("wechatpay", *wechat.transaction_notification(payments["wechatpay"].reference)),
            ("alipay", *alipay.notification(payments["alipay"].reference)),
            stale[n % 2],
            tampered[n % 2],
        ]
        shuffle.shuffle(deliveries)
        plans.append((deliveries, n % 2 == 0))

    statuses = _run_processes(plans)

    half = PROCESSES // 2
    assert Counter(statuses) == {
        "wechatpay:ok": PROCESSES * (COPIES_PER_PROCESS + 1) + half,
        "alipay:ok": PROCESSES * (COPIES_PER_PROCESS + 1) + half,
        "sandbox:ok": PROCESSES * COPIES_PER_PROCESS,
        "wechatpay:rejected": half,
        "alipay:rejected": half,
    }
    outbox_relay()
    for provider, payment in payments.items():
        payment.refresh_from_db()
        order = Order.objects.get(pk=orders[provider].pk)
        assert payment.status == "succeeded", provider
        changes = PaymentStatusChange.objects.filter(payment=payment)
        assert [(c.from_status, c.to_status) for c in changes] == [("pending", "succeeded")]
        assert order.payment_reference == payment.reference
        assert order.status_changes.filter(to_status="paid").count() == 1
        assert PointsEntry.objects.filter(order_number=order.number, kind="earn").count() == 1
        earned = PointsEntry.objects.get(order_number=order.number, kind="earn").delta
        assert earned == order.total_amount // 100
    assert (
        OutboxMessage.objects.filter(
            topic="payment.status_changed", dispatched_at__isnull=True
        ).count()
        == 0
    )
    assert PaymentNotification.objects.filter(verified=False).count() == PROCESSES
    assert Payment.objects.count() == 3
    assert audit_verify_chain().intact


def test_a_close_racing_with_paid_notifications_keeps_the_money_and_pays_once(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    """The sandbox says "closed" and "succeeded" for the same trade, from many processes.

    Whichever lands first, the payment ends succeeded (money that arrived after a close
    is kept), the order is paid once and the points are earned once.
    """
    order = make_order()
    payment = payment_create(order=order, provider="sandbox", method="page", actor=shopper)
    sandbox = get_provider("sandbox")
    assert isinstance(sandbox, SandboxProvider)
    closed = ("sandbox", *sandbox.settle(reference=payment.reference, outcome="closed"))
    succeeded = ("sandbox", *sandbox.settle(reference=payment.reference, outcome="succeeded"))
    plans = [
        (([closed, succeeded] if n % 2 else [succeeded, closed]) * 2, False)
        for n in range(PROCESSES)
    ]
    statuses = _run_processes(plans)  # type: ignore[arg-type]
    assert set(statuses) == {"sandbox:ok"}
    outbox_relay()
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == "succeeded"
    moves = [
        (c.from_status, c.to_status) for c in PaymentStatusChange.objects.filter(payment=payment)
    ]
    assert moves in (
        [("pending", "succeeded")],
        [("pending", "cancelled"), ("cancelled", "succeeded")],
    )
    assert order.status_changes.filter(to_status="paid").count() == 1
    assert PointsEntry.objects.filter(order_number=order.number, kind="earn").count() == 1


def test_refund_notifications_racing_with_reconciliation_count_the_refund_once(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    from oms.services.orders import order_cancel
    from payments.models import Refund
    from payments.services import refund_submit

    wechat = gateways["wechatpay"]
    order = make_order(tees=2)
    payment = payment_create(order=order, provider="wechatpay", method="native", actor=shopper)
    wechat.pay(payment.reference)
    paid = ("wechatpay", *wechat.transaction_notification(payment.reference))
    assert _run_processes([([paid], False)]) == ["wechatpay:ok"]
    outbox_relay()
    order_cancel(order=Order.objects.get(pk=order.pk), actor=None, reason="changed my mind")
    outbox_relay()
    refund = Refund.objects.get()
    assert refund_submit(refund_id=refund.pk).status == "processing"
    wechat.complete_refund(refund.reference)  # the money is back with the shopper
    plans = [
        (
            [("wechatpay", *wechat.refund_notification(refund.reference)) for _ in range(3)],
            n % 2 == 0,  # half the processes also run the reconciliation query
        )
        for n in range(PROCESSES)
    ]
    assert set(_run_processes(plans)) == {"wechatpay:ok"}
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == "succeeded"
    assert (payment.status, payment.refunded_amount) == ("refunded", payment.amount)
    moves = [
        (c.from_status, c.to_status) for c in PaymentStatusChange.objects.filter(payment=payment)
    ]
    assert moves == [("pending", "succeeded"), ("succeeded", "refunded")]
    assert OutboxMessage.objects.filter(topic="payment.refunded").count() == 1
    outbox_relay()
    earned = PointsEntry.objects.get(order_number=order.number, kind="earn").delta
    reversed_ = PointsEntry.objects.filter(order_number=order.number, kind="reverse")
    assert [e.delta for e in reversed_] == [-earned]


def test_pay_taps_racing_from_many_processes_open_one_trade_at_the_gateway(
    gateways: dict[str, Any], make_order: Callable[..., Order], shopper: Any
) -> None:
    from tests.fixtures.concurrency import run_in_processes

    wechat = gateways["wechatpay"]
    order = make_order()
    before = set(wechat.trades)

    def tap() -> str:
        payment = payment_create(
            order=Order.objects.get(pk=order.pk), provider="wechatpay", method="native", actor=None
        )
        assert payment.client_payload["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
        return payment.reference

    references = run_in_processes([tap for _ in range(PROCESSES)])
    payment = Payment.objects.get(order=order)
    assert references == [payment.reference] * PROCESSES
    assert set(wechat.trades) - before == {payment.reference}
    assert payment.status == "pending" and payment.client_payload
