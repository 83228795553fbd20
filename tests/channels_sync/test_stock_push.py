"""Stock out: coalescing, absolute quantities, CAS, rate limits, outage and dead letters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from channels_sync.models import DeadLetter, PendingStockPush, RemoteQuantity
from channels_sync.services import breaker, stock_push
from channels_sync.services.stock_push import stock_push_due
from hub.kernel.outbox import outbox_relay
from oms.models import Location, ProductVariant
from tests.channels_sync.conftest import Marketplaces

Stock = Callable[[ProductVariant, Location, int], None]


def _make_due() -> None:
    PendingStockPush.objects.update(due_at=timezone.now() - timedelta(seconds=1))


def _all_remote(m: Marketplaces, sku: str) -> list[int]:
    return [m.remote(c, sku) for c in (m.shopify, m.woo, m.taobao)]


def test_many_changes_coalesce_into_one_push_per_marketplace(
    marketplaces: Marketplaces, tee: ProductVariant, warehouse: Location, stock: Stock
) -> None:
    for _ in range(5):
        stock(tee, warehouse, 2)
    outbox_relay()
    # One relay round hands the batch handler all five changes: one mark per marketplace.
    rows = PendingStockPush.objects.filter(variant=tee)
    assert sorted(r.version for r in rows) == [1, 1, 1]
    calls_before = [
        s.calls for s in (marketplaces.shopify_sim, marketplaces.woo_sim, marketplaces.taobao_sim)
    ]
    _make_due()
    report = stock_push_due()
    assert report.pushed == 3
    assert _all_remote(marketplaces, "TEE-RED-M") == [10, 10, 10]
    calls = [
        s.calls for s in (marketplaces.shopify_sim, marketplaces.woo_sim, marketplaces.taobao_sim)
    ]
    assert [a - b for a, b in zip(calls, calls_before, strict=True)] == [1, 1, 1]
    assert PendingStockPush.objects.count() == 0


def test_push_is_not_due_before_the_debounce(
    marketplaces: Marketplaces,
    tee: ProductVariant,
    warehouse: Location,
    stock: Stock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Long windows, so a slow machine cannot make the rows due between relay and push.
    monkeypatch.setattr(stock_push, "DEBOUNCE_SECONDS", 30.0)
    monkeypatch.setitem(stock_push.COALESCE_SECONDS, "taobao", 30.0)
    stock(tee, warehouse, 3)
    outbox_relay()
    assert stock_push_due().pushed == 0
    assert PendingStockPush.objects.count() == 3
    assert _all_remote(marketplaces, "TEE-RED-M") == [0, 0, 0]
    waits = {
        r.connection.platform: (r.due_at - r.first_changed_at).total_seconds()
        for r in PendingStockPush.objects.select_related("connection")
    }
    assert waits == {"shopify": 30.0, "woocommerce": 30.0, "taobao": 30.0}


def test_safety_stock_is_kept_back_per_sales_channel(
    marketplaces: Marketplaces, tee: ProductVariant, warehouse: Location, stock: Stock
) -> None:
    channel = marketplaces.taobao.sales_channel
    channel.safety_stock = 2
    channel.save()
    stock(tee, warehouse, 7)
    outbox_relay()
    _make_due()
    stock_push_due()
    assert _all_remote(marketplaces, "TEE-RED-M") == [7, 7, 5]


def test_shopify_compare_and_swap_mismatch_learns_and_sets_again(
    marketplaces: Marketplaces, tee: ProductVariant, warehouse: Location, stock: Stock
) -> None:
    stock(tee, warehouse, 10)
    outbox_relay()
    _make_due()
    stock_push_due()
    sim = marketplaces.shopify_sim
    item = marketplaces.shopify.listings.get(variant=tee).external_id
    sim.inventory[item] = 4  # a merchant edited it in the Shopify admin meanwhile
    stock(tee, warehouse, 1)
    outbox_relay()
    _make_due()
    report = stock_push_due(connection_id=marketplaces.shopify.pk)
    # The stale compare was refused, Shopify's 4 learned, and the set retried at once.
    assert (report.calls, report.pushed) == (2, 1)
    assert sim.inventory[item] == 11
    assert RemoteQuantity.objects.get(connection=marketplaces.shopify, variant=tee).quantity == 11
    assert not PendingStockPush.objects.filter(connection=marketplaces.shopify).exists()


def test_graphql_throttle_delays_the_push_and_counts_it(
    marketplaces: Marketplaces, tee: ProductVariant, warehouse: Location, stock: Stock
) -> None:
    sim = marketplaces.shopify_sim
    sim.graphql.rate = 1.0  # restores slowly, so the bucket is still full when we call
    sim.graphql.fill()  # bucket full: the next mutation is THROTTLED
    stock(tee, warehouse, 3)
    outbox_relay()
    _make_due()
    report = stock_push_due(connection_id=marketplaces.shopify.pk)
    assert (report.pushed, report.throttled) == (0, 1)
    row = PendingStockPush.objects.get(connection=marketplaces.shopify)
    assert row.attempts == 0  # a throttle is not a failure
    assert row.due_at > timezone.now()
    marketplaces.shopify.refresh_from_db()
    assert marketplaces.shopify.calls_throttled == 1
    sim.graphql.drain()
    _make_due()
    assert stock_push_due(connection_id=marketplaces.shopify.pk).pushed == 1
    assert marketplaces.remote(marketplaces.shopify, "TEE-RED-M") == 3


def test_woocommerce_429_retry_after_is_respected(
    marketplaces: Marketplaces, tee: ProductVariant, warehouse: Location, stock: Stock
) -> None:
    sim = marketplaces.woo_sim
    sim.bucket.rate = 1.0  # restores slowly, so the bucket is still full when we call
    sim.bucket.fill()
    stock(tee, warehouse, 2)
    outbox_relay()
    _make_due()
    report = stock_push_due(connection_id=marketplaces.woo.pk)
    assert report.throttled == 1
    assert sim.throttled == 1
    row = PendingStockPush.objects.get(connection=marketplaces.woo)
    assert row.due_at >= timezone.now() + timedelta(seconds=0.5)


def test_item_failures_back_off_then_dead_letter_and_retry_recovers(
    marketplaces: Marketplaces,
    tee: ProductVariant,
    warehouse: Location,
    stock: Stock,
    admin_user: User,
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The breaker would stop the calls after 5 failures (tests/channels_sync/test_breaker.py);
    # here it never trips, as when one SKU keeps failing while the marketplace is up.
    monkeypatch.setattr(breaker, "FAILURE_THRESHOLD", 1000)
    monkeypatch.setattr(breaker, "ERROR_RATE_THRESHOLD", 2.0)
    sim = marketplaces.taobao_sim
    sim.outage = True
    stock(tee, warehouse, 6)
    outbox_relay()
    dues = []
    for _ in range(8):
        _make_due()
        stock_push_due(connection_id=marketplaces.taobao.pk)
        row = PendingStockPush.objects.filter(connection=marketplaces.taobao).first()
        if row is not None:
            dues.append((row.due_at - timezone.now()).total_seconds())
    # Backoff grows (equal jitter: attempt n waits between 2^(n-2)/4 .. 2^(n-2)/2 s) ...
    assert dues[0] < 0.5 < dues[3] and dues[3] < dues[6]
    # ... and after MAX_ATTEMPTS the push is parked with its reason.
    assert not PendingStockPush.objects.filter(connection=marketplaces.taobao).exists()
    letter = DeadLetter.objects.get(connection=marketplaces.taobao)
    assert (letter.kind, letter.key, letter.attempts) == ("stock", "TEE-RED-M", 8)
    assert "503" in letter.reason
    client.force_login(admin_user)
    health = {h["sales_channel"]: h for h in client.get("/api/sync/connections/").json()}
    assert health["taobao"]["dead_letters"] == 1
    assert health["taobao"]["error_rate"] == 1.0
    assert health["shopify"]["dead_letters"] == 0

    sim.outage = False
    response = client.post(f"/api/sync/connections/{marketplaces.taobao.pk}/retry/")
    assert response.status_code == 200
    assert response.json()["requeued"] == 1
    assert response.json()["health"]["queue_depth"] == 1
    _make_due()
    assert stock_push_due(connection_id=marketplaces.taobao.pk).pushed == 1
    assert marketplaces.remote(marketplaces.taobao, "TEE-RED-M") == 6
    assert DeadLetter.objects.get().retried_at is not None


def test_health_api_is_for_merchant_admins_only(
    marketplaces: Marketplaces, shopper: User, client: Any
) -> None:
    client.force_login(shopper)
    assert client.get("/api/sync/connections/").status_code == 403
    response = client.post(f"/api/sync/connections/{marketplaces.taobao.pk}/retry/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_stock_for_an_unlisted_location_marks_nothing(
    marketplaces: Marketplaces, tee: ProductVariant, store_jingan: Location, stock: Stock
) -> None:
    stock(tee, store_jingan, 4)
    outbox_relay()
    assert PendingStockPush.objects.count() == 0


def test_top_app_call_limited_waits_the_announced_ban(
    marketplaces: Marketplaces, tee: ProductVariant, warehouse: Location, stock: Stock
) -> None:
    sim = marketplaces.taobao_sim
    sim.bucket.rate = 1.0  # restores slowly, so the bucket is still full when we call
    sim.bucket.fill()
    stock(tee, warehouse, 2)
    outbox_relay()
    _make_due()
    report = stock_push_due(connection_id=marketplaces.taobao.pk)
    assert (report.pushed, report.throttled) == (0, 1)
    row = PendingStockPush.objects.get(connection=marketplaces.taobao)
    # "This ban will last for 1 more seconds" -> not due for about a second.
    assert timezone.now() + timedelta(seconds=0.8) <= row.due_at
    assert row.attempts == 0
