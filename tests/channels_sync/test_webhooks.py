"""Webhooks in: signatures, raw storage, dedupe, exactly-once import, out-of-order."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from channels_sync.models import ExternalOrder, WebhookDelivery
from channels_sync.services.webhooks import webhook_process
from channels_sync.states import DeliveryStatus
from oms.models import Location, Order, ProductVariant
from oms.states import OrderStatus
from tests.channels_sync.conftest import Marketplaces

Stock = Callable[[ProductVariant, Location, int], None]


def _deliver(
    post: Callable[..., Any], m: Marketplaces, headers: dict[str, str], body: bytes
) -> str:
    response = post(m.shopify, headers, body)
    assert response.status_code in (200, 202), response.content
    delivery = WebhookDelivery.objects.get(delivery_id=response.json()["delivery_id"])
    return webhook_process(delivery_id=delivery.pk)


def test_signed_shopify_webhook_is_stored_raw_then_imported_once(
    marketplaces: Marketplaces,
    post_webhook: Callable[..., Any],
    tee: ProductVariant,
    warehouse: Location,
    stock: Stock,
) -> None:
    stock(tee, warehouse, 10)
    order = marketplaces.shopify_sim.place_order(lines=[("TEE-RED-M", 2, "119.00")])
    headers, body = marketplaces.shopify_sim.webhook(order, "orders/create")
    first = post_webhook(marketplaces.shopify, headers, body)
    assert first.status_code == 202
    assert first.json()["status"] == "accepted"
    delivery = WebhookDelivery.objects.get()
    assert delivery.body == body.decode()
    assert delivery.status == DeliveryStatus.RECEIVED

    assert webhook_process(delivery_id=delivery.pk) == DeliveryStatus.PROCESSED
    imported = Order.objects.get(sales_channel=marketplaces.shopify.sales_channel)
    assert imported.external_ref == str(order["id"])
    assert imported.status == OrderStatus.ALLOCATED
    assert (imported.subtotal_amount, imported.shipping_amount, imported.total_amount) == (
        23800,
        1000,
        24800,
    )
    # The same delivery again (Shopify retries on timeouts) changes nothing.
    again = post_webhook(marketplaces.shopify, headers, body)
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "delivery_id": headers["X-Shopify-Webhook-Id"]}
    assert webhook_process(delivery_id=delivery.pk) == DeliveryStatus.PROCESSED
    assert WebhookDelivery.objects.count() == 1
    assert Order.objects.count() == 1


def test_forged_signature_gets_401_and_stores_nothing(
    marketplaces: Marketplaces, post_webhook: Callable[..., Any]
) -> None:
    order = marketplaces.shopify_sim.place_order(lines=[("TEE-RED-M", 1, "129.00")])
    headers, body = marketplaces.shopify_sim.webhook(order, "orders/create")
    tampered = body.replace(b'"quantity": 1', b'"quantity": 9')
    response = post_webhook(marketplaces.shopify, headers, tampered)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    missing = post_webhook(
        marketplaces.shopify, {k: v for k, v in headers.items() if "Hmac" not in k}, body
    )
    assert missing.status_code == 401
    assert WebhookDelivery.objects.count() == 0
    assert Order.objects.count() == 0


def test_woocommerce_webhook_signature_verified(
    marketplaces: Marketplaces,
    post_webhook: Callable[..., Any],
    tee: ProductVariant,
    warehouse: Location,
    stock: Stock,
) -> None:
    stock(tee, warehouse, 5)
    order = marketplaces.woo_sim.place_order(lines=[("tee red m", 1, "129.00")])
    headers, body = marketplaces.woo_sim.webhook(order, "order.created")
    forged = dict(headers, **{"X-WC-Webhook-Signature": "AAAA"})
    assert post_webhook(marketplaces.woo, forged, body).status_code == 401
    response = post_webhook(marketplaces.woo, headers, body)
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert webhook_process(delivery_id=delivery.pk) == DeliveryStatus.PROCESSED
    imported = Order.objects.get()
    assert imported.lines.get().sku == "TEE-RED-M"  # 'tee red m' resolved despite spelling
    assert imported.status == OrderStatus.ALLOCATED


def test_malformed_body_with_valid_signature_is_parked_not_500(
    marketplaces: Marketplaces, post_webhook: Callable[..., Any]
) -> None:
    from channels_sync.connectors.shopify.webhooks import shopify_signature

    body = json.dumps({"id": 5, "line_items": "nope"}).encode()
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": "bad-1",
        "X-Shopify-Hmac-Sha256": shopify_signature("shpss_test", body),
    }
    assert post_webhook(marketplaces.shopify, headers, body).status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert webhook_process(delivery_id=delivery.pk) == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert "not a Shopify order" in delivery.error
    assert marketplaces.shopify.dead.get().kind == "webhook"
    assert Order.objects.count() == 0


def test_older_version_arriving_late_is_ignored(
    marketplaces: Marketplaces,
    post_webhook: Callable[..., Any],
    tee: ProductVariant,
    warehouse: Location,
    stock: Stock,
) -> None:
    stock(tee, warehouse, 5)
    sim = marketplaces.shopify_sim
    order = sim.place_order(lines=[("TEE-RED-M", 1, "129.00")], financial_status="pending")
    old_headers, old_body = sim.webhook(dict(order), "orders/create")
    sim.update_order(order["id"], financial_status="paid")
    new_headers, new_body = sim.webhook(dict(order), "orders/paid")

    assert _deliver(post_webhook, marketplaces, new_headers, new_body) == DeliveryStatus.PROCESSED
    assert _deliver(post_webhook, marketplaces, old_headers, old_body) == DeliveryStatus.IGNORED
    imported = Order.objects.get()
    assert imported.status == OrderStatus.ALLOCATED
    ext = ExternalOrder.objects.get()
    assert ext.platform_status == "paid"


def test_pending_then_paid_then_cancelled_in_order(
    marketplaces: Marketplaces,
    post_webhook: Callable[..., Any],
    tee: ProductVariant,
    warehouse: Location,
    stock: Stock,
) -> None:
    stock(tee, warehouse, 5)
    sim = marketplaces.shopify_sim
    order = sim.place_order(lines=[("TEE-RED-M", 2, "129.00")], financial_status="pending")
    _deliver(post_webhook, marketplaces, *sim.webhook(dict(order), "orders/create"))
    assert Order.objects.get().status == OrderStatus.PENDING_PAYMENT
    sim.update_order(order["id"], financial_status="paid")
    _deliver(post_webhook, marketplaces, *sim.webhook(dict(order), "orders/paid"))
    assert Order.objects.get().status == OrderStatus.ALLOCATED
    sim.update_order(order["id"], cancelled_at="2026-01-01T00:00:00+00:00")
    _deliver(post_webhook, marketplaces, *sim.webhook(dict(order), "orders/cancelled"))
    assert Order.objects.get().status == OrderStatus.CANCELLED
    assert ExternalOrder.objects.get().platform_cancelled is True


def test_unmapped_sku_is_reported_not_dropped(
    marketplaces: Marketplaces, post_webhook: Callable[..., Any]
) -> None:
    sim = marketplaces.shopify_sim
    order = sim.place_order(lines=[("NO-SUCH-SKU", 1, "9.00")])
    assert _deliver(post_webhook, marketplaces, *sim.webhook(order, "orders/create")) == (
        DeliveryStatus.PROCESSED
    )
    assert Order.objects.count() == 0
    assert ExternalOrder.objects.get().unmapped == [
        {"sku": "NO-SUCH-SKU", "title": "NO-SUCH-SKU", "quantity": 1}
    ]


@pytest.mark.django_db
def test_unknown_connection_gets_404(client: Any) -> None:
    response = client.post("/api/sync/webhooks/999/", b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_disconnected_sales_channel_refuses_webhooks_with_409(
    marketplaces: Marketplaces, post_webhook: Callable[..., Any]
) -> None:
    marketplaces.shopify.enabled = False
    marketplaces.shopify.save()
    order = marketplaces.shopify_sim.place_order(lines=[("TEE-RED-M", 1, "129.00")])
    response = post_webhook(
        marketplaces.shopify, *marketplaces.shopify_sim.webhook(order, "orders/create")
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "connection_disabled"
    assert WebhookDelivery.objects.count() == 0
