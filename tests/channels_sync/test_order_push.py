"""Fulfilment, tracking and cancellations flow back to the marketplace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels_sync.models import OrderPush, WebhookDelivery
from channels_sync.services.order_push import order_push_due
from channels_sync.services.webhooks import webhook_process
from channels_sync.states import PushStatus
from hub.kernel.outbox import outbox_relay
from oms.models import Location, Order, ProductVariant
from oms.services.fulfilment import fulfilment_pack, fulfilment_ship, fulfilment_start_picking
from oms.services.orders import order_cancel
from oms.states import OrderStatus
from tests.channels_sync.conftest import Marketplaces

Stock = Callable[[ProductVariant, Location, int], None]


def _import(m: Marketplaces, post: Callable[..., Any], order: dict[str, Any]) -> Order:
    headers, body = m.shopify_sim.webhook(order, "orders/create")
    post(m.shopify, headers, body)
    webhook_process(
        delivery_id=WebhookDelivery.objects.get(delivery_id=headers["X-Shopify-Webhook-Id"]).pk
    )
    return Order.objects.get(external_ref=str(order["id"]))


def test_shipping_an_imported_order_pushes_tracking_to_shopify(
    marketplaces: Marketplaces,
    post_webhook: Callable[..., Any],
    tee: ProductVariant,
    warehouse: Location,
    stock: Stock,
) -> None:
    stock(tee, warehouse, 5)
    sim = marketplaces.shopify_sim
    remote = sim.place_order(lines=[("TEE-RED-M", 1, "129.00")])
    order = _import(marketplaces, post_webhook, remote)
    fulfilment = order.fulfilments.get()
    assert fulfilment.location == warehouse
    fulfilment_start_picking(fulfilment=fulfilment, actor=None)
    fulfilment_pack(fulfilment=fulfilment, actor=None)
    fulfilment_ship(
        fulfilment=fulfilment, carrier="SF Express", tracking_number="SF1234567890", actor=None
    )
    outbox_relay()
    outbox_relay()  # a second delivery of the same announcements queues nothing new
    push = OrderPush.objects.get()
    assert (push.kind, push.external_order_id) == ("fulfilment", str(remote["id"]))
    assert order_push_due() == 1
    assert sim.fulfillments[0]["tracking_number"] == "SF1234567890"
    assert sim.fulfillments[0]["tracking_company"] == "SF Express"
    assert sim.orders[remote["id"]]["fulfillment_status"] == "fulfilled"
    assert order_push_due() == 0
    push.refresh_from_db()
    assert push.status == PushStatus.DONE


def test_seller_cancellation_is_pushed_but_a_marketplace_one_is_not_echoed(
    marketplaces: Marketplaces,
    post_webhook: Callable[..., Any],
    tee: ProductVariant,
    warehouse: Location,
    stock: Stock,
) -> None:
    stock(tee, warehouse, 5)
    sim = marketplaces.shopify_sim
    ours = _import(marketplaces, post_webhook, sim.place_order(lines=[("TEE-RED-M", 1, "129.00")]))
    order_cancel(order=ours, actor=None, reason="out of stock at the warehouse")
    theirs_remote = sim.place_order(lines=[("TEE-RED-M", 1, "129.00")])
    theirs = _import(marketplaces, post_webhook, theirs_remote)
    sim.update_order(theirs_remote["id"], cancelled_at="2026-01-01T00:00:00+00:00")
    headers, body = sim.webhook(theirs_remote, "orders/cancelled")
    post_webhook(marketplaces.shopify, headers, body)
    webhook_process(
        delivery_id=WebhookDelivery.objects.get(delivery_id=headers["X-Shopify-Webhook-Id"]).pk
    )
    theirs.refresh_from_db()
    assert theirs.status == OrderStatus.CANCELLED
    outbox_relay()
    assert list(OrderPush.objects.values_list("kind", "order__number")) == [("cancel", ours.number)]
    assert order_push_due() == 1
    assert sim.orders[int(ours.external_ref or 0)]["cancelled_at"] is not None


def test_taobao_consignment_and_paid_trade_cancel_dead_letter(
    marketplaces: Marketplaces, tee: ProductVariant, warehouse: Location, stock: Stock
) -> None:
    from channels_sync.services.reconcile import orders_reconcile

    stock(tee, warehouse, 5)
    sim = marketplaces.taobao_sim
    shipped = sim.place_order(lines=[("TEE-RED-M", 1, "129.00")])
    kept = sim.place_order(lines=[("TEE-RED-M", 1, "129.00")])
    assert orders_reconcile(connection=marketplaces.taobao)["created"] == 2
    first = Order.objects.get(external_ref=str(shipped["tid"]))
    f = first.fulfilments.get()
    fulfilment_start_picking(fulfilment=f, actor=None)
    fulfilment_pack(fulfilment=f, actor=None)
    fulfilment_ship(fulfilment=f, carrier="zto", tracking_number="ZT778899", actor=None)
    order_cancel(order=Order.objects.get(external_ref=str(kept["tid"])), actor=None)
    outbox_relay()
    assert order_push_due() == 1
    assert sim.consignments == [
        {"tid": str(shipped["tid"]), "out_sid": "ZT778899", "company_code": "ZTO"}
    ]
    cancel = OrderPush.objects.get(kind="cancel")
    assert cancel.status == PushStatus.DEAD
    assert "refund it in the seller centre" in cancel.last_error
    assert marketplaces.taobao.dead.get().kind == "cancel"
