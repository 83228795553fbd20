"""The "done when" demo, end to end with a real Celery worker (no eager mode, no manual
relay or push calls): a Shopify order arrives by webhook, routes to a store, is fulfilled
and its tracking flows back to Shopify; a live sale reaches all three marketplaces."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from channels_sync.models import Connection
from channels_sync.services import breaker
from hub.celery import app as celery_app
from hub.kernel import outbox
from oms.models import Location, Order, ProductVariant, SalesChannel
from oms.services.fulfilment import fulfilment_pack, fulfilment_ship, fulfilment_start_picking
from oms.services.holds import hold_create
from oms.services.orders import OrderLineInput, order_create
from tests.channels_sync.conftest import Marketplaces

Stock = Callable[[ProductVariant, Location, int], None]
pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = {"name": "Wang Fang", "line1": "1 Nanjing West Road", "city": "Shanghai"}


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from celery.contrib.testing.worker import start_worker

    monkeypatch.setattr(outbox, "_last_relay_scheduled", 0.0)
    celery_app.control.purge()  # tasks other tests queued against other databases
    celery_app.loader.import_module("celery.contrib.testing.tasks")
    with start_worker(celery_app, perform_ping_check=False, pool="threads", concurrency=2):
        yield


def _eventually(check: Callable[[], bool], seconds: float) -> float:
    """Seconds until ``check`` held; fails the test after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds}s: {check.__doc__ or check}")


def _remote_everywhere(m: Marketplaces, sku: str) -> list[int]:
    return [m.remote(c, sku) for c in (m.shopify, m.woo, m.taobao)]


def test_shopify_order_to_store_to_tracking_and_a_live_sale_to_every_marketplace(
    marketplaces: Marketplaces,
    post_webhook: Callable[..., Any],
    tee: ProductVariant,
    store_jingan: Location,
    store_pudong: Location,
    stock: Stock,
    worker: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(breaker, "COOL_DOWN_S", 0.5)
    stores = [store_jingan, store_pudong]
    for connection in (marketplaces.shopify, marketplaces.woo, marketplaces.taobao):
        connection.sales_channel.locations.set(stores)
    Connection.objects.update(rate_limit_per_s=5)
    live = SalesChannel.objects.create(
        code="live", name="Live room", kind=SalesChannel.Kind.LIVE, currency="CNY"
    )
    live.locations.set(stores)
    stock(tee, store_jingan, 5)
    stock(tee, store_pudong, 5)
    # The stock receipts alone reach every marketplace (outbox -> relay -> push tasks).
    _eventually(lambda: _remote_everywhere(marketplaces, "TEE-RED-M") == [10, 10, 10], 20)

    # 1. A buyer checks out on Shopify; Shopify sends orders/create to our webhook.
    shop = marketplaces.shopify_sim
    remote = shop.place_order(lines=[("TEE-RED-M", 1, "129.00")])
    headers, body = shop.webhook(remote, "orders/create")
    assert post_webhook(marketplaces.shopify, headers, body).status_code == 202

    def imported() -> bool:
        return Order.objects.filter(external_ref=str(remote["id"])).exists()

    _eventually(imported, 20)
    order = Order.objects.get(external_ref=str(remote["id"]))
    fulfilment = order.fulfilments.get()
    # Routed to the store nearest the buyer's address in Jing'an.
    assert fulfilment.location == store_jingan

    # 2. Store staff pick, pack and ship it; the tracking flows back to Shopify.
    fulfilment_start_picking(fulfilment=fulfilment, actor=None)
    fulfilment_pack(fulfilment=fulfilment, actor=None)
    fulfilment_ship(
        fulfilment=fulfilment, carrier="SF Express", tracking_number="SF1000000001", actor=None
    )

    def tracked() -> bool:
        return shop.orders[remote["id"]]["fulfillment_status"] == "fulfilled"

    _eventually(tracked, 20)
    assert shop.fulfillments[-1]["tracking_number"] == "SF1000000001"
    assert shop.fulfillments[-1]["tracking_company"] == "SF Express"

    # 3. A live sale: a hold in the live room, converted into a paid order.
    _eventually(lambda: _remote_everywhere(marketplaces, "TEE-RED-M") == [9, 9, 9], 20)
    sold_at = time.monotonic()
    hold = hold_create(sales_channel=live, quantities={tee: 2}, ttl_seconds=300)
    order_create(
        sales_channel=live,
        lines=[OrderLineInput(sku="TEE-RED-M", quantity=2)],
        fulfilment_method=Order.FulfilmentMethod.SHIP,
        shipping_address=ADDRESS,
        hold=hold,
        paid=True,
    )
    _eventually(lambda: _remote_everywhere(marketplaces, "TEE-RED-M") == [7, 7, 7], 10)
    assert time.monotonic() - sold_at < 10  # "within seconds", through a real worker
