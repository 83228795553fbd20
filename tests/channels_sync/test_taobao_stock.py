"""Taobao stock: SKUs of one item travel in one signed ``taobao.skus.quantity.update``."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from channels_sync.connectors.base import ConnectorConfig, QuantityUpdate
from channels_sync.connectors.taobao.client import TaobaoConnector, TopRefusal
from channels_sync.connectors.taobao.mapping import (
    SKUS_PER_CALL,
    confirmed_skus,
    item_calls,
    skuid_quantities,
)
from channels_sync.errors import RateLimited, RemoteError
from channels_sync.models import Connection, DeadLetter, PendingStockPush
from channels_sync.services import breaker
from channels_sync.services.connections import connection_upsert, listing_map
from channels_sync.services.stock_push import stock_push_due
from channels_sync.simulators.taobao import TaobaoSimulator
from hub.kernel.outbox import outbox_relay
from oms.models import Location, ProductVariant, SalesChannel
from oms.selectors import available_to_promise
from tests.channels_sync.sales import pos_sale

Stock = Callable[[ProductVariant, Location, int], None]
CREDENTIALS = {
    "app_key": "12345678",
    "app_secret": "top_secret",
    "session": "6100top",
    "sign_method": "hmac-sha256",
}
#: a SKU id no item of the simulator has
UNKNOWN_SKU = "5999999999999"


def _update(sku_id: str, quantity: int, item: str = "600000000001") -> QuantityUpdate:
    return QuantityUpdate(
        sku=f"S{sku_id}",
        external_id=item,
        external_sub_id=sku_id,
        quantity=quantity,
        compare_quantity=None,
    )


def _post(sim: TaobaoSimulator, params: dict[str, str]) -> dict[str, Any]:
    body = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(f"{sim.url}/router/rest", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    assert isinstance(answer, dict)
    return answer


def _error(answer: dict[str, Any]) -> dict[str, Any]:
    error = dict(answer["error_response"])
    error.pop("request_id")
    return error


def _make_due() -> None:
    PendingStockPush.objects.update(due_at=timezone.now() - timedelta(seconds=1))


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[TaobaoSimulator]:
    server = TaobaoSimulator(bucket=(200, 200))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def connector(sim: TaobaoSimulator) -> TaobaoConnector:
    return TaobaoConnector(
        ConnectorConfig(base_url=sim.url, credentials=dict(CREDENTIALS), rate_limit_per_s=0)
    )


@dataclass
class TaobaoShop:
    """A Taobao sales channel whose variants are SKUs of two items (22 + 3 SKUs)."""

    connection: Connection
    sim: TaobaoSimulator
    variants: list[ProductVariant]
    items: list[str]

    def remote(self, variant: ProductVariant) -> int:
        mapping = self.connection.listings.get(variant=variant)
        return self.sim.sku_inventory[mapping.external_sub_id]

    def local(self) -> dict[int, int]:
        return available_to_promise(
            sales_channel=self.connection.sales_channel,
            variant_ids=[v.pk for v in self.variants],
        )

    def exact(self) -> bool:
        local = self.local()
        return all(self.remote(v) == local.get(v.pk, 0) for v in self.variants)


@pytest.fixture
def shop(
    warehouse: Location,
    make_variant: Callable[..., ProductVariant],
    sim: TaobaoSimulator,
) -> TaobaoShop:
    channel = SalesChannel.objects.create(
        code="taobao", name="Taobao", kind=SalesChannel.Kind.MARKETPLACE, currency="CNY"
    )
    channel.locations.set([warehouse])
    connection = connection_upsert(
        sales_channel=channel,
        platform="taobao",
        base_url=sim.url,
        credentials=dict(CREDENTIALS),
        rate_limit_per_s=100,
    )
    variants, items = [], []
    for item_index, size in enumerate((22, 3)):
        num_iid = f"60000000010{item_index}"
        items.append(num_iid)
        for n in range(size):
            variant = make_variant(f"I{item_index}-S{n:02d}")
            _, sku_id = sim.add_sku(sku=variant.sku, item_id=num_iid)
            listing_map(
                connection=connection,
                variant=variant,
                external_sku=variant.sku,
                external_id=num_iid,
                external_sub_id=sku_id,
            )
            variants.append(variant)
    return TaobaoShop(connection, sim, variants, items)


# ---- grouping -----------------------------------------------------------------------------


def test_item_calls_put_skus_of_one_item_together_twenty_at_most() -> None:
    a = [_update(str(5000 + n), n, item="A") for n in range(45)]
    b = [_update(str(6000 + n), n, item="B") for n in range(2)]
    plain = QuantityUpdate("PLAIN", "C", "", 4, None)  # an item without SKUs
    lone = _update("7000", 1, item="D")
    calls = item_calls([a[0], b[0], plain, *a[1:], lone, b[1]])
    assert [[u.external_sub_id or u.sku for u in c] for c in calls] == [
        [u.external_sub_id for u in a[:SKUS_PER_CALL]],
        ["6000", "6001"],
        ["PLAIN"],
        [u.external_sub_id for u in a[20:40]],
        [u.external_sub_id for u in a[40:]],
        ["7000"],
    ]
    assert SKUS_PER_CALL == 20


def test_the_same_sku_twice_goes_in_two_calls() -> None:
    calls = item_calls([_update("5001", 3), _update("5002", 1), _update("5001", 2)])
    assert [[(u.external_sub_id, u.quantity) for u in c] for c in calls] == [
        [("5001", 3), ("5002", 1)],
        [("5001", 2)],
    ]


def test_skuid_quantities_is_the_documented_wire_format() -> None:
    assert skuid_quantities([_update("5001", 3), _update("5002", 0)]) == "5001:3;5002:0"


def test_confirmed_skus_reads_the_recorded_response() -> None:
    recorded = {
        "skus_quantity_update_response": {
            "item": {
                "iid": "2000038123656",
                "modified": "2013-10-03 03:16:56",
                "num": 95,
                "num_iid": 2000038123656,
                "skus": {
                    "sku": [
                        {"modified": "2013-10-03 03:16:56", "quantity": 17, "sku_id": 30007221065},
                        {"modified": "2013-10-03 03:16:56", "quantity": 11, "sku_id": 30007221066},
                    ]
                },
            }
        }
    }
    assert confirmed_skus(recorded) == {"30007221065": 17, "30007221066": 11}


# ---- the simulator's method --------------------------------------------------------------


@pytest.mark.parametrize("sign_method", ["md5", "hmac", "hmac-sha256"])
def test_batch_call_is_signed_and_a_tampered_one_changes_nothing(
    sim: TaobaoSimulator, connector: TaobaoConnector, sign_method: str
) -> None:
    num_iid, first = sim.add_sku(sku="A", available=5)
    _, second = sim.add_sku(sku="B", available=5, item_id=num_iid)
    connector.sign_method = sign_method
    params = connector.signed_params(
        "taobao.skus.quantity.update",
        {"num_iid": num_iid, "type": "1", "skuid_quantities": f"{first}:7;{second}:0"},
    )
    tampered = {**params, "skuid_quantities": f"{first}:900;{second}:0"}
    assert _error(_post(sim, tampered)) == {"code": 25, "msg": "Invalid signature"}
    assert sim.sku_inventory == {first: 5, second: 5}

    item = _post(sim, params)["skus_quantity_update_response"]["item"]
    assert (item["num_iid"], item["num"]) == (int(num_iid), 7)
    assert [(s["sku_id"], s["quantity"]) for s in item["skus"]["sku"]] == [
        (int(first), 7),
        (int(second), 0),
    ]
    assert sim.sku_inventory == {first: 7, second: 0}
    assert sim.inventory == {num_iid: 7}


def test_a_batch_with_an_unknown_sku_is_refused_whole(
    sim: TaobaoSimulator, connector: TaobaoConnector
) -> None:
    num_iid, first = sim.add_sku(sku="A", available=5)
    params = connector.signed_params(
        "taobao.skus.quantity.update",
        {"num_iid": num_iid, "skuid_quantities": f"{first}:1;{UNKNOWN_SKU}:2"},
    )
    assert _error(_post(sim, params)) == {
        "code": 15,
        "msg": "Remote service error",
        "sub_code": "isv.invalid-parameter:sku-properties",
        "sub_msg": f"没有找到宝贝对应的SKU:{UNKNOWN_SKU}",
    }
    assert sim.sku_inventory == {first: 5}
    assert sim.stock_writes == []


def test_simulator_refuses_more_than_twenty_skus_and_bad_arguments(
    sim: TaobaoSimulator, connector: TaobaoConnector
) -> None:
    num_iid = ""
    for n in range(SKUS_PER_CALL + 1):
        num_iid, _ = sim.add_sku(sku=f"S{n}", available=1, item_id=num_iid)
    before = sim.sku_inventory
    too_many = ";".join(f"{sku_id}:0" for sku_id in before)

    def answer(params: dict[str, str]) -> dict[str, Any]:
        return _error(_post(sim, connector.signed_params("taobao.skus.quantity.update", params)))

    assert answer({"num_iid": num_iid, "skuid_quantities": too_many}) == {
        "code": 15,
        "msg": "Remote service error",
        "sub_code": "isv.invalid-parameter",
        "sub_msg": "最多支持20个SKU同时修改",
    }
    assert answer({"skuid_quantities": "1:1"}) == {
        "code": 40,
        "msg": "Missing required arguments:num_iid",
    }
    assert answer({"num_iid": num_iid, "skuid_quantities": "1-1"}) == {
        "code": 41,
        "msg": "Invalid arguments:skuid_quantities",
    }
    assert answer({"num_iid": "600999999999", "skuid_quantities": "1:1"})["sub_code"] == (
        "isv.item-not-exist:invalid-numIid-or-iid"
    )
    first = next(iter(before))
    assert answer({"num_iid": num_iid, "type": "1", "skuid_quantities": f"{first}:-1"})[
        "sub_code"
    ] == ("isv.invalid-parameter")
    assert sim.sku_inventory == before


def test_delta_type_and_outer_ids_follow_the_documentation(
    sim: TaobaoSimulator, connector: TaobaoConnector
) -> None:
    num_iid, red = sim.add_sku(sku="RED", available=5)
    _, blue = sim.add_sku(sku="BLUE", available=2, item_id=num_iid)
    # type 2 adds; a decrease below zero stops at zero
    connector._call(
        "taobao.skus.quantity.update",
        {"num_iid": num_iid, "type": "2", "skuid_quantities": f"{red}:3;{blue}:-9"},
    )
    assert sim.sku_inventory == {red: 8, blue: 0}
    # outerid_quantities names SKUs by the merchant's code
    connector._call(
        "taobao.skus.quantity.update",
        {"num_iid": num_iid, "outerid_quantities": "BLUE:4"},
    )
    assert sim.sku_inventory == {red: 8, blue: 4}
    # an item with SKUs has no quantity of its own to set
    with pytest.raises(TopRefusal) as refused:
        connector._call("taobao.item.quantity.update", {"num_iid": num_iid, "quantity": "1"})
    assert refused.value.sub_code == "isv.item-quantity-item-update-service-error"
    assert sim.inventory == {num_iid: 12}


def test_batch_calls_take_the_same_rate_limit(
    sim: TaobaoSimulator, connector: TaobaoConnector
) -> None:
    num_iid, first = sim.add_sku(sku="A", available=5)
    _, second = sim.add_sku(sku="B", available=5, item_id=num_iid)
    sim.bucket.rate = 1.0
    sim.bucket.fill()
    with pytest.raises(RateLimited) as limited:
        connector.push_quantities(
            [_update(first, 1, item=num_iid), _update(second, 2, item=num_iid)]
        )
    assert limited.value.retry_after == 1.0
    assert "accesscontrol.limited-by-app-access-count" in limited.value.message
    assert sim.throttled == 1
    assert sim.sku_inventory == {first: 5, second: 5}


# ---- the connector ---------------------------------------------------------------------


def test_push_sends_one_call_per_item_for_its_skus(
    sim: TaobaoSimulator, connector: TaobaoConnector
) -> None:
    item_a, item_b = "", ""
    a, b = [], []
    for n in range(25):
        item_a, sku_id = sim.add_sku(sku=f"A{n}", item_id=item_a)
        a.append(_update(sku_id, n, item=item_a))
    for n in range(3):
        item_b, sku_id = sim.add_sku(sku=f"B{n}", item_id=item_b)
        b.append(_update(sku_id, 10 + n, item=item_b))
    plain = sim.add_item(sku="PLAIN", available=1)
    updates = [*a, *b, QuantityUpdate("PLAIN", plain, "", 9, None)]
    outcomes = connector.push_quantities(updates)
    assert [(o.sku, o.ok, o.error) for o in outcomes] == [(u.sku, True, None) for u in updates]
    assert sim.calls == 4  # A: 20 + 5, B: 3, the plain item
    assert sim.sku_inventory == {u.external_sub_id: u.quantity for u in a + b}
    assert sim.inventory == {item_a: sum(range(25)), item_b: 33, plain: 9}


def test_one_bad_sku_in_a_batch_does_not_stop_the_others(
    sim: TaobaoSimulator, connector: TaobaoConnector
) -> None:
    num_iid, first = sim.add_sku(sku="A", available=5)
    _, second = sim.add_sku(sku="B", available=5, item_id=num_iid)
    updates = [
        _update(first, 1, item=num_iid),
        _update(UNKNOWN_SKU, 2, item=num_iid),
        _update(second, 3, item=num_iid),
    ]
    outcomes = connector.push_quantities(updates)
    assert [(o.sku, o.ok) for o in outcomes] == [
        (f"S{first}", True),
        (f"S{UNKNOWN_SKU}", False),
        (f"S{second}", True),
    ]
    refusal = outcomes[1].error
    assert isinstance(refusal, TopRefusal)
    assert (refusal.code, refusal.sub_code, refusal.retryable) == (
        15,
        "isv.invalid-parameter:sku-properties",
        False,
    )
    assert sim.sku_inventory == {first: 1, second: 3}
    assert sim.calls == 4  # the refused batch, then each SKU on its own


def test_a_missing_item_refuses_its_skus_without_one_call_each(
    sim: TaobaoSimulator, connector: TaobaoConnector
) -> None:
    updates = [_update("5001", 1, item="600999999999"), _update("5002", 2, item="600999999999")]
    outcomes = connector.push_quantities(updates)
    assert [o.ok for o in outcomes] == [False, False]
    for outcome in outcomes:
        assert isinstance(outcome.error, TopRefusal)
        assert outcome.error.sub_code == "isv.item-not-exist:invalid-numIid-or-iid"
    assert sim.calls == 1


def test_an_outage_fails_the_batch_retryably_and_sends_nothing_else(
    sim: TaobaoSimulator, connector: TaobaoConnector
) -> None:
    num_iid, first = sim.add_sku(sku="A", available=5)
    _, second = sim.add_sku(sku="B", available=5, item_id=num_iid)
    plain = sim.add_item(sku="PLAIN", available=1)
    sim.outage = True
    outcomes = connector.push_quantities(
        [
            _update(first, 1, item=num_iid),
            _update(second, 2, item=num_iid),
            QuantityUpdate("PLAIN", plain, "", 9, None),
        ]
    )
    assert [o.ok for o in outcomes] == [False, False, False]
    for outcome in outcomes:
        assert isinstance(outcome.error, RemoteError)
        assert outcome.error.retryable and "503" in outcome.error.message
    assert sim.sku_inventory == {first: 5, second: 5}


# ---- through the pusher ---------------------------------------------------------------------


def test_pusher_sends_dirty_skus_of_an_item_in_one_call(
    shop: TaobaoShop, warehouse: Location, stock: Stock
) -> None:
    for n, variant in enumerate(shop.variants):
        stock(variant, warehouse, n + 1)
    outbox_relay()
    assert PendingStockPush.objects.count() == 25
    _make_due()
    report = stock_push_due(connection_id=shop.connection.pk)
    assert report.pushed == 25
    # claims of 20 rows: item 0's first 20 SKUs, then its last 2 and item 1's 3
    assert shop.sim.calls == 3
    assert [shop.remote(v) for v in shop.variants] == list(range(1, 26))
    assert not PendingStockPush.objects.exists()


def test_not_yet_due_skus_of_a_due_item_ride_along_and_no_others(
    shop: TaobaoShop, warehouse: Location, stock: Stock
) -> None:
    due, mate, other_item = shop.variants[0], shop.variants[1], shop.variants[22]
    for variant in (due, mate, other_item):
        stock(variant, warehouse, 3)
    outbox_relay()
    now = timezone.now()
    PendingStockPush.objects.filter(variant=due).update(due_at=now - timedelta(seconds=1))
    PendingStockPush.objects.exclude(variant=due).update(due_at=now + timedelta(seconds=30))
    report = stock_push_due(connection_id=shop.connection.pk)
    assert report.pushed == 2
    assert shop.sim.calls == 1
    assert [shop.remote(v) for v in (due, mate, other_item)] == [3, 3, 0]
    assert list(PendingStockPush.objects.values_list("variant_id", flat=True)) == [other_item.pk]


def test_pusher_dead_letters_only_the_refused_sku_of_a_batch(
    shop: TaobaoShop, warehouse: Location, stock: Stock
) -> None:
    bad, good = shop.variants[22], shop.variants[23:25]  # the three SKUs of item 1
    shop.connection.listings.filter(variant=bad).update(external_sub_id=UNKNOWN_SKU)
    for variant in (bad, *good):
        stock(variant, warehouse, 4)
    outbox_relay()
    _make_due()
    report = stock_push_due(connection_id=shop.connection.pk)
    assert (report.pushed, report.failed) == (2, 1)
    assert [shop.remote(v) for v in good] == [4, 4]
    assert shop.sim.calls == 4  # the refused batch, then the three SKUs one by one
    letter = DeadLetter.objects.get()
    assert (letter.kind, letter.key, letter.attempts, letter.ref_id) == (
        "stock",
        bad.sku,
        1,
        bad.pk,
    )
    assert "isv.invalid-parameter:sku-properties" in letter.reason
    assert not PendingStockPush.objects.exists()
    connection = Connection.objects.get(pk=shop.connection.pk)
    assert (connection.breaker_state, connection.breaker_failures) == ("closed", 0)


def test_pusher_retries_a_failed_batch_then_ends_exact(
    shop: TaobaoShop,
    warehouse: Location,
    stock: Stock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(breaker, "FAILURE_THRESHOLD", 1000)
    monkeypatch.setattr(breaker, "ERROR_RATE_THRESHOLD", 2.0)
    skus = shop.variants[22:25]
    for variant in skus:
        stock(variant, warehouse, 6)
    outbox_relay()
    shop.sim.outage = True
    _make_due()
    assert stock_push_due(connection_id=shop.connection.pk).pushed == 0
    rows = list(PendingStockPush.objects.order_by("variant_id"))
    assert [(r.variant_id, r.attempts) for r in rows] == [(v.pk, 1) for v in skus]
    assert all(r.due_at > timezone.now() for r in rows)
    assert all("503" in r.last_error for r in rows)
    assert not DeadLetter.objects.exists()

    shop.sim.outage = False
    pos_sale(skus[0], warehouse, 2)  # a change while it was failing
    outbox_relay()
    _make_due()
    calls = shop.sim.calls
    assert stock_push_due(connection_id=shop.connection.pk).pushed == 3
    assert shop.sim.calls == calls + 1
    assert [shop.remote(v) for v in skus] == [4, 6, 6]
    assert not PendingStockPush.objects.exists()


def test_pusher_waits_out_a_ban_on_a_batch_without_spending_attempts(
    shop: TaobaoShop, warehouse: Location, stock: Stock
) -> None:
    for variant in shop.variants[22:25]:
        stock(variant, warehouse, 2)
    outbox_relay()
    shop.sim.bucket.rate = 1.0
    shop.sim.bucket.fill()
    _make_due()
    report = stock_push_due(connection_id=shop.connection.pk)
    assert (report.pushed, report.throttled) == (0, 1)
    rows = list(PendingStockPush.objects.all())
    assert len(rows) == 3
    assert all(r.attempts == 0 for r in rows)
    assert all(r.due_at >= timezone.now() + timedelta(seconds=0.8) for r in rows)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_sales_during_batched_pushes_end_exact(
    shop: TaobaoShop, warehouse: Location, stock: Stock
) -> None:
    """Sellers in threads while a pusher runs: the marketplace ends at our numbers."""
    for variant in shop.variants:
        stock(variant, warehouse, 20)
    errors: list[BaseException] = []
    done = threading.Event()

    def sell(offset: int) -> None:
        try:
            for n in range(12):
                pos_sale(shop.variants[(offset + 7 * n) % len(shop.variants)], warehouse)
                time.sleep(0.01)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            db_connection.close()

    def pump() -> None:
        try:
            while not done.is_set():
                outbox_relay()
                _make_due()
                stock_push_due(connection_id=shop.connection.pk)
                time.sleep(0.02)
        except BaseException as exc:
            errors.append(exc)
        finally:
            db_connection.close()

    pusher = threading.Thread(target=pump)
    pusher.start()
    sellers = [threading.Thread(target=sell, args=(i,)) for i in range(3)]
    for t in sellers:
        t.start()
    for t in sellers:
        t.join()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (
        shop.exact() and not PendingStockPush.objects.exists()
    ):
        time.sleep(0.1)
    done.set()
    pusher.join()
    assert errors == []
    assert shop.exact()
    assert sum(shop.local().values()) == 25 * 20 - 36
    assert not PendingStockPush.objects.exists()
    assert not DeadLetter.objects.exists()
    # Batches carried several SKUs: fewer calls than SKU writes.
    assert shop.sim.calls < len(shop.sim.stock_writes)
