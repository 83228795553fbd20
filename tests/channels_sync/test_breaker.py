"""Circuit breaker per connection: an outage opens it, changes wait, a probe closes it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from channels_sync.models import (
    Connection,
    DeadLetter,
    OrderPush,
    PendingStockPush,
    WebhookDelivery,
)
from channels_sync.services import breaker
from channels_sync.services.order_push import order_push_due
from channels_sync.services.stock_push import next_due_in_seconds, stock_push_due
from channels_sync.services.webhooks import webhook_process
from channels_sync.simulators.base import SimulatorServer
from channels_sync.simulators.shopify import ShopifySimulator
from channels_sync.states import BreakerState
from hub.kernel.errors import InvalidTransition
from hub.kernel.models import AuditEvent
from hub.kernel.outbox import outbox_relay
from hub.kernel.states import require_transition
from oms.models import Location, Order, ProductVariant
from oms.services.fulfilment import fulfilment_pack, fulfilment_ship, fulfilment_start_picking
from tests.channels_sync.conftest import Marketplaces
from tests.channels_sync.sales import pos_sale

Stock = Callable[[ProductVariant, Location, int], None]


def _make_due() -> None:
    PendingStockPush.objects.update(due_at=timezone.now() - timedelta(seconds=1))


def _cool_down_over(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        breaker_retry_at=timezone.now() - timedelta(seconds=1)
    )


def _state(connection: Connection) -> Connection:
    return Connection.objects.get(pk=connection.pk)


def _push_due(connection: Connection | None = None) -> None:
    _make_due()
    stock_push_due(connection_id=connection.pk if connection is not None else None)


Trip = Callable[..., SimulatorServer]


@pytest.fixture
def trip(
    marketplaces: Marketplaces, tee: ProductVariant, warehouse: Location, stock: Stock
) -> Trip:
    """Take a marketplace down, receive ``units`` of the tee, push until its breaker opens.

    ``everywhere``: each push round serves every connection (the others stay up), not
    only the one that is down. Returns the marketplace's simulator.
    """

    def down(connection: Connection, *, units: int, everywhere: bool = False) -> SimulatorServer:
        sim: SimulatorServer = {
            "shopify": marketplaces.shopify_sim,
            "woocommerce": marketplaces.woo_sim,
            "taobao": marketplaces.taobao_sim,
        }[connection.platform]
        sim.outage = True
        stock(tee, warehouse, units)
        outbox_relay()
        for _ in range(breaker.FAILURE_THRESHOLD):
            _push_due(None if everywhere else connection)
        assert _state(connection).breaker_state == "open"
        return sim

    return down


def test_the_breaker_moves_only_along_its_table() -> None:
    require_transition(
        breaker.BREAKER_TRANSITIONS,
        aggregate="circuit breaker",
        current=BreakerState.HALF_OPEN,
        target=BreakerState.CLOSED,
    )
    with pytest.raises(InvalidTransition, match="from 'closed' to 'half_open'"):
        require_transition(
            breaker.BREAKER_TRANSITIONS,
            aggregate="circuit breaker",
            current=BreakerState.CLOSED,
            target=BreakerState.HALF_OPEN,
        )


def test_five_failed_calls_open_the_breaker_and_then_nothing_is_sent(
    marketplaces: Marketplaces, trip: Trip, admin_user: User, client: Any
) -> None:
    sim = trip(marketplaces.taobao, units=6, everywhere=True)
    taobao = _state(marketplaces.taobao)
    assert (taobao.breaker_state, taobao.breaker_failures) == ("open", 5)
    assert taobao.breaker_retry_at is not None
    row = PendingStockPush.objects.get(connection=taobao)
    # Four failures backed off and cost attempts; the one that tripped the breaker did not.
    assert row.attempts == 4
    calls = sim.calls
    for _ in range(3):
        _push_due()
    assert sim.calls == calls  # open: not one call
    assert PendingStockPush.objects.filter(connection=taobao).count() == 1
    assert not DeadLetter.objects.exists()
    # The other marketplaces went on; the next push is the probe after the cool-down.
    assert marketplaces.remote(marketplaces.shopify, "TEE-RED-M") == 6
    assert marketplaces.remote(marketplaces.woo, "TEE-RED-M") == 6
    wait = next_due_in_seconds()
    assert wait is not None and wait > breaker.COOL_DOWN_S - 1
    client.force_login(admin_user)
    health = {h["sales_channel"]: h for h in client.get("/api/sync/connections/").json()}
    assert health["taobao"]["breaker_state"] == "open"
    assert health["taobao"]["breaker_failures"] == 5
    assert health["taobao"]["queue_depth"] == 1
    assert health["taobao"]["dead_letters"] == 0
    assert health["taobao"]["recent_error_rate"] > 0.4
    assert health["shopify"]["breaker_state"] == "closed"


def test_a_failed_probe_reopens_longer_and_a_good_one_closes_and_flushes(
    marketplaces: Marketplaces, trip: Trip, tee: ProductVariant, warehouse: Location, stock: Stock
) -> None:
    connection = marketplaces.taobao
    sim = trip(connection, units=6)

    _cool_down_over(connection)
    calls = sim.calls
    stock_push_due(connection_id=connection.pk)
    assert sim.calls == calls + 1  # one probe, one SKU
    reopened = _state(connection)
    assert (reopened.breaker_state, reopened.breaker_trips) == ("open", 2)
    assert reopened.breaker_retry_at is not None
    cool_down = (reopened.breaker_retry_at - timezone.now()).total_seconds()
    assert breaker.COOL_DOWN_S < cool_down <= 2 * breaker.COOL_DOWN_S  # doubled

    sim.outage = False
    stock(tee, warehouse, 1)  # more changes while it was down
    outbox_relay()
    _cool_down_over(connection)
    report = stock_push_due(connection_id=connection.pk)
    assert report.pushed == 1
    closed = _state(connection)
    assert (closed.breaker_state, closed.breaker_trips, closed.breaker_failures) == (
        "closed",
        0,
        0,
    )
    assert closed.breaker_opened_at is None
    assert marketplaces.remote(connection, "TEE-RED-M") == 7
    assert not PendingStockPush.objects.filter(connection=connection).exists()
    kinds = list(
        AuditEvent.objects.filter(kind__startswith="sync.breaker_").values_list("kind", flat=True)
    )
    assert kinds == ["sync.breaker_open", "sync.breaker_open", "sync.breaker_closed"]


def test_retry_action_makes_an_open_breaker_probe_now(
    marketplaces: Marketplaces, trip: Trip, admin_user: User, client: Any
) -> None:
    sim = trip(marketplaces.woo, units=4)
    sim.outage = False
    client.force_login(admin_user)
    response = client.post(f"/api/sync/connections/{marketplaces.woo.pk}/retry/")
    assert response.status_code == 200
    assert response.json()["health"]["breaker_state"] == "open"
    _make_due()
    assert stock_push_due(connection_id=marketplaces.woo.pk).pushed == 1
    assert _state(marketplaces.woo).breaker_state == "closed"
    assert marketplaces.remote(marketplaces.woo, "TEE-RED-M") == 4


def test_permanent_refusals_do_not_open_the_breaker(
    marketplaces: Marketplaces, tee: ProductVariant, warehouse: Location, stock: Stock
) -> None:
    # A listing pointing at an item Taobao does not have: isv.item-not-exist, every time.
    marketplaces.taobao.listings.filter(variant=tee).update(external_id="600999999999")
    for _ in range(breaker.FAILURE_THRESHOLD + 1):
        stock(tee, warehouse, 1)
        outbox_relay()
        _push_due(marketplaces.taobao)
    taobao = _state(marketplaces.taobao)
    assert (taobao.breaker_state, taobao.breaker_failures) == ("closed", 0)
    letters = DeadLetter.objects.filter(connection=taobao)
    assert letters.count() == breaker.FAILURE_THRESHOLD + 1
    assert "isv.item-not-exist" in letters.first().reason  # type: ignore[union-attr]


@pytest.mark.django_db(transaction=True)
def test_outage_and_recovery_loses_nothing_and_ends_exact_everywhere(
    marketplaces: Marketplaces,
    tee: ProductVariant,
    mug: ProductVariant,
    warehouse: Location,
    stock: Stock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Shopify's server goes away (connections refused), WooCommerce answers 503."""
    monkeypatch.setattr(breaker, "COOL_DOWN_S", 0.3)
    shop, woo = marketplaces.shopify_sim, marketplaces.woo_sim

    def pump(until: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            outbox_relay()
            stock_push_due()
            if until():
                return True
            time.sleep(0.05)
        return False

    def quantities(sim: Any, connection: Connection) -> dict[str, int]:
        return {
            m.external_sku: int(sim.inventory[m.external_id]) for m in connection.listings.all()
        }

    stock(tee, warehouse, 10)
    stock(mug, warehouse, 10)
    full = {"TEE-RED-M": 10, "MUG-WHITE": 10}
    assert pump(lambda: quantities(shop, marketplaces.shopify) == full, 10)
    assert pump(lambda: quantities(woo, marketplaces.woo) == full, 10)

    port = shop.server.server_address[1]
    shop.stop()  # refused from now on
    woo.outage = True  # 503 from now on
    pos_sale(tee, warehouse, 3)
    pos_sale(mug, warehouse, 2)
    down = (marketplaces.shopify, marketplaces.woo)
    assert pump(lambda: all(_state(c).breaker_state != "closed" for c in down), 15)
    # Taobao is unaffected and already exact.
    taobao_expected = {"TEE-RED-M": 7, "MUG-WHITE": 8}
    assert pump(
        lambda: quantities(marketplaces.taobao_sim, marketplaces.taobao) == taobao_expected, 10
    )
    woo_calls = woo.calls
    pos_sale(tee, warehouse, 1)  # changes keep coming while two marketplaces are down
    pump(lambda: False, 1.0)
    assert woo.calls - woo_calls <= 3  # only probes (cool-down 0.3 s, doubling)
    for connection in down:
        assert PendingStockPush.objects.filter(connection=connection).count() == 2
    assert not DeadLetter.objects.exists()

    back = ShopifySimulator(port=port)  # the same shop comes back on the same address
    back.inventory, back.sku_items = dict(shop.inventory), dict(shop.sku_items)
    back.start()
    try:
        woo.outage = False
        expected = {"TEE-RED-M": 6, "MUG-WHITE": 8}
        assert pump(
            lambda: (
                quantities(back, marketplaces.shopify) == expected
                and quantities(woo, marketplaces.woo) == expected
                and quantities(marketplaces.taobao_sim, marketplaces.taobao) == expected
            ),
            20,
        )
    finally:
        back.stop()
    for connection in (*down, marketplaces.taobao):
        assert _state(connection).breaker_state == "closed"
    assert not PendingStockPush.objects.exists()
    assert not DeadLetter.objects.exists()


def test_order_pushes_wait_for_the_breaker_instead_of_dying(
    marketplaces: Marketplaces,
    post_webhook: Callable[..., Any],
    tee: ProductVariant,
    warehouse: Location,
    stock: Stock,
) -> None:
    stock(tee, warehouse, 5)
    sim = marketplaces.shopify_sim
    remote = sim.place_order(lines=[("TEE-RED-M", 1, "129.00")])
    headers, body = sim.webhook(remote, "orders/create")
    post_webhook(marketplaces.shopify, headers, body)
    delivery = WebhookDelivery.objects.get(delivery_id=headers["X-Shopify-Webhook-Id"])
    webhook_process(delivery_id=delivery.pk)
    fulfilment = Order.objects.get(external_ref=str(remote["id"])).fulfilments.get()
    fulfilment_start_picking(fulfilment=fulfilment, actor=None)
    fulfilment_pack(fulfilment=fulfilment, actor=None)
    fulfilment_ship(fulfilment=fulfilment, carrier="SF", tracking_number="SF42", actor=None)
    outbox_relay()
    sim.outage = True
    for _ in range(breaker.FAILURE_THRESHOLD + 3):
        OrderPush.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        assert order_push_due() == 0
    push = OrderPush.objects.get()
    assert (push.status, push.attempts) == ("pending", breaker.FAILURE_THRESHOLD - 1)
    assert _state(marketplaces.shopify).breaker_state == "open"
    assert not DeadLetter.objects.exists()

    sim.outage = False
    _cool_down_over(marketplaces.shopify)
    OrderPush.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert order_push_due() == 1
    assert sim.orders[remote["id"]]["fulfillment_status"] == "fulfilled"
    assert _state(marketplaces.shopify).breaker_state == "closed"
