"""Issue #7's "done when", end to end over HTTP and the gateways' real protocols.

A shopper who came through a friend's share link pays a live hold with the sandbox, a
cart with WeChat Pay (Native QR) and another with Alipay (page pay), each against its
simulator. Returning the WeChat Pay order in two steps refunds it partially, then fully,
through the gateway; cancelling the Alipay order refunds it at once. Payment, points,
the coupon and the sharer's reward follow every step and end consistent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.db.models import Sum
from django.test import Client

from checkout.models import Address
from checkout.services import checkout_from_hold
from hub.kernel.audit import audit_verify_chain
from hub.kernel.outbox import outbox_relay
from members.models import CouponRedemption, PointsEntry
from members.services import points_balance
from oms.models import Hold, Location, Order, ProductVariant, SalesChannel
from oms.services.fulfilment import (
    fulfilment_mark_delivered,
    fulfilment_pack,
    fulfilment_ship,
    fulfilment_start_picking,
)
from oms.services.holds import hold_create
from oms.services.orders import order_cancel
from oms.services.returns import return_inspect, return_receive, return_request
from payments.models import Payment, Refund
from payments.services import refund_submit
from social.models import Attribution, RewardEntry
from social.services.clicks import share_click_record
from social.services.links import share_link_create


def _json(client: Client, method: str, url: str, body: dict[str, Any], **extra: str) -> Any:
    response = getattr(client, method)(url, body, content_type="application/json", **extra)
    assert response.status_code < 300, response.content
    return response.json()


def _notify(client: Client, provider: str, notification: tuple[dict[str, str], bytes]) -> Any:
    headers, body = notification
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    kind = "application/x-www-form-urlencoded" if provider == "alipay" else "application/json"
    return client.post(f"/payments/notify/{provider}/", data=body, content_type=kind, **extra)


def _deliver(order: Order) -> None:
    for fulfilment in order.fulfilments.all():
        fulfilment_start_picking(fulfilment=fulfilment, actor=None)
        fulfilment_pack(fulfilment=fulfilment, actor=None)
        fulfilment_ship(fulfilment=fulfilment, carrier="SF", tracking_number="SF1", actor=None)
        fulfilment_mark_delivered(fulfilment=fulfilment, actor=None)


def _return_one(order: Order, store: Location) -> None:
    line = order.lines.get()
    rma = return_request(order=order, quantities={line.pk: 1}, actor=None)
    return_receive(rma=rma, location=store, actor=None)
    return_inspect(rma=rma, restock={rma.lines.get().pk: True}, actor=None)


def _reward(order: Order) -> int:
    attribution = Attribution.objects.get(order_number=order.number)
    return int(RewardEntry.objects.filter(attribution=attribution).aggregate(s=Sum("amount"))["s"])


def _points(order: Order, kind: str) -> int:
    entries = PointsEntry.objects.filter(order_number=order.number, kind=kind)
    return int(entries.aggregate(s=Sum("delta"))["s"] or 0)


@pytest.mark.django_db
def test_shopper_pays_a_hold_and_two_carts_and_refunds_reverse_payment_points_coupon_and_reward(
    stocked: SalesChannel,
    shopper: User,
    other_shopper: User,
    home: Address,
    rates: None,
    store_jingan: Location,
    tee: ProductVariant,
    mug: ProductVariant,
    coupon_10pct: object,
    give_points: Callable[[User, int], None],
    gateways: dict[str, Any],
    client: Client,
) -> None:
    wechat, alipay = gateways["wechatpay"], gateways["alipay"]
    link, _ = share_link_create(
        sharer=other_shopper,
        target_kind="product",
        target_id=str(tee.product_id),
        platform="wechat",
    )
    share_click_record(link=link, visitor="v1", user=shopper, ip="10.0.0.1", user_agent="Mozilla")
    client.force_login(shopper)

    # -- 1. a live-drop hold, priced by the live app (trusted server code), paid in the sandbox
    hold = hold_create(
        sales_channel=stocked,
        quantities={mug: 1},
        kind=Hold.Kind.LIVE_DROP,
        owner=shopper,
        ttl_seconds=600,
    )
    live_order, _ = checkout_from_hold(
        user=shopper, hold_token=hold.token, address=home, live_prices={mug.sku: 2900}
    )
    assert live_order.total_amount == 2900 + 1200
    sandbox = _json(
        client,
        "post",
        "/api/payments/",
        {"order": live_order.number, "provider": "sandbox", "method": "page"},
    )
    client.post(sandbox["client_payload"]["redirect_url"], {"outcome": "succeeded"})
    outbox_relay()
    live_order.refresh_from_db()
    hold.refresh_from_db()
    assert (live_order.status, hold.status) == ("allocated", "converted")
    assert points_balance(shopper) == 41

    # -- 2. a cart with a coupon and points, paid with WeChat Pay Native (QR code)
    give_points(shopper, 300)
    _json(client, "put", "/api/cart/", {"sku": tee.sku, "quantity": 2})
    placed = _json(
        client,
        "post",
        "/api/checkout/cart/",
        {"address": home.pk, "coupon": "LIVE10", "points": 300},
        HTTP_IDEMPOTENCY_KEY="wechat-cart",
    )
    assert placed["total_amount"] == 25800 - 2580 - 300 + 1200
    native = _json(
        client,
        "post",
        "/api/payments/",
        {"order": placed["order"], "provider": "wechatpay", "method": "native"},
    )
    assert native["client_payload"]["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    wechat.pay(native["reference"])  # the shopper scans the QR code and pays
    assert (
        _notify(
            client, "wechatpay", wechat.transaction_notification(native["reference"])
        ).status_code
        == 204
    )
    outbox_relay()
    wechat_order = Order.objects.get(number=placed["order"])
    assert wechat_order.status == "allocated"
    assert points_balance(shopper) == 41 + 241  # 300 spent, 24120 paid -> 241 earned

    # -- 3. a cart paid with Alipay page pay (desktop cashier)
    _json(client, "put", "/api/cart/", {"sku": mug.sku, "quantity": 1})
    placed = _json(client, "post", "/api/checkout/cart/", {"address": home.pk})
    page = _json(
        client,
        "post",
        "/api/payments/",
        {"order": placed["order"], "provider": "alipay", "method": "page"},
    )
    assert requests.get(page["client_payload"]["redirect_url"], timeout=10).ok  # the cashier
    alipay.pay(page["reference"])
    assert _notify(client, "alipay", alipay.notification(page["reference"])).content == b"success"
    outbox_relay()
    alipay_order = Order.objects.get(number=placed["order"])
    assert alipay_order.status == "allocated"
    assert points_balance(shopper) == 41 + 241 + 57
    rewards = {o.number: _reward(o) for o in (live_order, wechat_order, alipay_order)}
    assert rewards[wechat_order.number] == (25800 - 2880) // 10  # 10% of merchandise net

    # -- 4. half of the WeChat Pay order comes back: a partial refund through the gateway
    _deliver(wechat_order)
    wechat_order.refresh_from_db()
    _return_one(wechat_order, store_jingan)
    outbox_relay()
    first = Refund.objects.get(payment__reference=native["reference"])
    assert first.amount == 24120 * 12900 // 25800
    refund_submit(refund_id=first.pk)
    wechat.complete_refund(first.reference)
    assert (
        _notify(client, "wechatpay", wechat.refund_notification(first.reference)).status_code == 204
    )
    payment = Payment.objects.get(reference=native["reference"])
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 12060)
    assert (_points(wechat_order, "reverse"), _points(wechat_order, "restore")) == (-120, 150)
    assert CouponRedemption.objects.get(order_number=wechat_order.number).reversed_at is None
    assert _reward(wechat_order) == rewards[wechat_order.number] - 1146

    # -- 5. the other half comes back: the rest is refunded and everything is reversed
    wechat_order.refresh_from_db()
    _return_one(wechat_order, store_jingan)
    outbox_relay()
    outbox_relay()  # a redelivery changes nothing
    second = (
        Refund.objects.filter(payment__reference=native["reference"]).exclude(pk=first.pk).get()
    )
    assert second.amount == 24120 - 12060
    refund_submit(refund_id=second.pk)
    wechat.complete_refund(second.reference)
    _notify(client, "wechatpay", wechat.refund_notification(second.reference))
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", 24120)
    assert (_points(wechat_order, "reverse"), _points(wechat_order, "restore")) == (-241, 300)
    assert CouponRedemption.objects.get(order_number=wechat_order.number).reversed_at is not None
    assert _reward(wechat_order) == 0

    # -- 6. the Alipay order is cancelled before it ships: Alipay refunds synchronously
    order_cancel(order=alipay_order, actor=None, reason="changed my mind")
    outbox_relay()
    refund = Refund.objects.get(payment__reference=page["reference"])
    refund_submit(refund_id=refund.pk)
    refund.refresh_from_db()
    alipay_payment = Payment.objects.get(reference=page["reference"])
    assert (refund.status, alipay_payment.status) == ("succeeded", "refunded")
    assert alipay.trades[page["reference"]].refunds  # the gateway really paid it back
    assert _points(alipay_order, "reverse") == -57
    assert _reward(alipay_order) == 0

    # what is left: the live order's points and reward; the 300 points came back
    assert points_balance(shopper) == 300 + 41
    assert _reward(live_order) == rewards[live_order.number] == 2900 // 10
    assert Payment.objects.get(reference=sandbox["reference"]).status == "succeeded"
    assert audit_verify_chain().intact
