"""The reconciliation pull repairs orders whose webhooks never arrived."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels_sync.services.reconcile import orders_reconcile
from oms.models import Location, Order, ProductVariant
from oms.states import OrderStatus
from tests.channels_sync.conftest import Marketplaces

Stock = Callable[[ProductVariant, Location, int], None]


def test_reconcile_creates_missed_orders_once_and_reports(
    marketplaces: Marketplaces,
    tee: ProductVariant,
    mug: ProductVariant,
    warehouse: Location,
    stock: Stock,
) -> None:
    stock(tee, warehouse, 10)
    stock(mug, warehouse, 10)
    for _ in range(3):
        marketplaces.shopify_sim.place_order(
            lines=[("TEE-RED-M", 1, "129.00"), ("MUG-WHITE", 1, "45.00")]
        )
    marketplaces.woo_sim.place_order(lines=[("MUG-WHITE", 2, "45.00")])
    report = orders_reconcile(connection=marketplaces.shopify)
    assert report == {
        "pulled": 3,
        "created": 3,
        "updated": 0,
        "unmapped": 0,
        "stale": 0,
        "failed": 0,
        "errors": 0,
    }
    assert orders_reconcile(connection=marketplaces.woo)["created"] == 1
    again = orders_reconcile(connection=marketplaces.shopify)
    assert again["created"] == 0
    assert Order.objects.count() == 4
    marketplaces.shopify.refresh_from_db()
    assert marketplaces.shopify.last_reconcile_report == again  # the latest run's report
    assert (again["pulled"], again["created"]) == (3, 0)  # the cursor is inclusive


def test_reconcile_applies_a_missed_cancellation(
    marketplaces: Marketplaces, tee: ProductVariant, warehouse: Location, stock: Stock
) -> None:
    stock(tee, warehouse, 10)
    sim = marketplaces.woo_sim
    remote = sim.place_order(lines=[("TEE-RED-M", 1, "129.00")])
    orders_reconcile(connection=marketplaces.woo)
    sim.update_order(remote["id"], status="cancelled")
    report = orders_reconcile(connection=marketplaces.woo)
    assert report["updated"] == 1
    assert Order.objects.get().status == OrderStatus.CANCELLED


def test_reconcile_during_an_outage_reports_the_error_and_keeps_the_cursor(
    marketplaces: Marketplaces,
) -> None:
    marketplaces.shopify_sim.outage = True
    report = orders_reconcile(connection=marketplaces.shopify)
    assert report["errors"] == 1
    marketplaces.shopify.refresh_from_db()
    assert marketplaces.shopify.order_cursor == ""
    assert "503" in marketplaces.shopify.last_error


def test_reconcile_api_pulls_now_for_admins(
    marketplaces: Marketplaces,
    tee: ProductVariant,
    warehouse: Location,
    stock: Stock,
    admin_user: Any,
    client: Any,
) -> None:
    stock(tee, warehouse, 3)
    marketplaces.taobao_sim.place_order(lines=[("TEE-RED-M", 1, "129.00")])
    client.force_login(admin_user)
    response = client.post(f"/api/sync/connections/{marketplaces.taobao.pk}/reconcile/")
    assert response.status_code == 200
    assert response.json()["created"] == 1
    assert Order.objects.get().sales_channel == marketplaces.taobao.sales_channel
