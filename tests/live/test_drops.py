"""Drop buys: exact quota, per-buyer limit, idempotent retries, expiry, waitlist, reconcile.

Runs on the database gate (embedded run) and on the Redis Lua gate (REDIS_URL set).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import close_old_connections, connections
from django.utils import timezone

from hub.kernel.errors import DomainError
from hub.kernel.models import AuditEvent
from live import quota
from live.errors import BuyerLimitReached, DropNotOpen, SoldOut
from live.models import Drop, DropClaim, LineupItem, Show, WaitlistEntry
from live.services.drops import (
    StreamTake,
    drop_buy,
    drop_claims_drain,
    drop_claims_materialise,
    drop_claims_release,
    drop_open,
    drop_reconcile,
    waitlist_join,
)
from live.states import ClaimStatus
from oms.models import Hold, Location, ProductVariant, StockLevel
from oms.services.holds import hold_release
from oms.states import HoldStatus

StockFn = Callable[[ProductVariant, Location, int], None]


def _settle(drop: Drop) -> None:
    """Redis gate: make the takes durable (the in-process drainer does this live)."""
    drop_claims_drain(drop_id=drop.pk)


def _open(show: Show, item: LineupItem, host: User, **kwargs: int) -> Drop:
    return drop_open(show=show, item=item, actor=host, **kwargs)


def test_a_buy_holds_units_at_the_live_price_and_a_retry_replays_it(
    show, item, host, shopper, hoodie_xl, warehouse, stock: StockFn
) -> None:
    stock(hoodie_xl, warehouse, 50)
    drop = _open(show, item, host, quota_units=5)
    first = drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=2, key="k1")
    _settle(drop)
    again = drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=2, key="k1")
    assert (first.replayed, again.replayed, again.quantity) == (False, True, 2)
    claim = DropClaim.objects.get(drop=drop)
    assert (claim.status, claim.quantity, claim.hold.kind) == ("held", 2, Hold.Kind.LIVE_DROP)
    assert again.hold == claim.hold.token
    assert Hold.objects.count() == 1
    assert StockLevel.objects.get(variant=hoodie_xl).reserved == 2


def test_the_per_buyer_limit_counts_every_buy_of_the_buyer(
    show, item, host, shopper, hoodie_xl, warehouse, stock: StockFn
) -> None:
    stock(hoodie_xl, warehouse, 50)
    drop = _open(show, item, host, quota_units=5, per_buyer_limit=2)
    drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=1, key="a")
    drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=1, key="b")
    with pytest.raises(BuyerLimitReached):
        drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=1, key="c")
    _settle(drop)
    assert DropClaim.objects.filter(drop=drop).count() == 2
    assert StockLevel.objects.get(variant=hoodie_xl).reserved == 2


def test_a_drop_refuses_buys_before_its_countdown_ends(
    show, item, host, shopper, hoodie_xl, warehouse, stock: StockFn
) -> None:
    stock(hoodie_xl, warehouse, 5)
    drop = _open(show, item, host, quota_units=5, countdown_seconds=30)
    with pytest.raises(DropNotOpen):
        drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=1, key="early")
    assert DropClaim.objects.count() == 0
    assert StockLevel.objects.get(variant=hoodie_xl).reserved == 0


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_more_buyers_than_units_sell_exactly_the_quota(
    show, item, host, hoodie_xl, warehouse, stock: StockFn, buyers
) -> None:
    stock(hoodie_xl, warehouse, 100)
    drop = _open(show, item, host, quota_units=7, per_buyer_limit=1)
    people = buyers(24)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(user: User) -> None:
        close_old_connections()
        try:
            for attempt in range(2):  # every buyer retries once with the same key
                try:
                    drop_buy(drop=drop, buyer=user, variant=hoodie_xl, quantity=1, key="tap")
                    outcome = "ok"
                except SoldOut:
                    outcome = "sold_out"
                if attempt == 0:
                    with lock:
                        outcomes.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _settle(drop)
    assert (outcomes.count("ok"), outcomes.count("sold_out")) == (7, 17)
    assert DropClaim.objects.filter(drop=drop, status="held").count() == 7
    assert Hold.objects.filter(status="active").count() == 7
    assert StockLevel.objects.get(variant=hoodie_xl).reserved == 7
    assert drop_reconcile(drop=drop).drift == 0


def test_lapsed_holds_return_their_units_to_the_waitlist_in_order(
    show, item, host, hoodie_xl, warehouse, stock: StockFn, buyers
) -> None:
    stock(hoodie_xl, warehouse, 10)
    first, second, third = buyers(3)
    drop = _open(show, item, host, quota_units=1)
    drop_buy(drop=drop, buyer=first, variant=hoodie_xl, quantity=1, key="x")
    _settle(drop)
    with pytest.raises(SoldOut):
        drop_buy(drop=drop, buyer=second, variant=hoodie_xl, quantity=1, key="x")
    waitlist_join(drop=drop, user=second, variant=hoodie_xl, quantity=1)
    waitlist_join(drop=drop, user=third, variant=hoodie_xl, quantity=1)
    hold_release(hold=DropClaim.objects.get(buyer=first).hold)

    assert drop_claims_release() == 1

    assert DropClaim.objects.get(buyer=first).status == ClaimStatus.RELEASED
    served = DropClaim.objects.get(buyer=second)
    assert (served.status, served.key) == ("held", f"waitlist-{served.drop.waitlist.first().pk}")
    statuses = list(WaitlistEntry.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["served", "waiting"]
    assert StockLevel.objects.get(variant=hoodie_xl).reserved == 1


def test_expired_holds_free_their_quota(
    show, item, host, shopper, other_shopper, hoodie_xl, warehouse, stock: StockFn
) -> None:
    stock(hoodie_xl, warehouse, 10)
    drop = _open(show, item, host, quota_units=1)
    drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=1, key="x")
    _settle(drop)
    Hold.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    drop_claims_release()  # nothing yet: oms has not expired the hold
    from oms.services.holds import hold_expire_due

    assert hold_expire_due() == 1
    assert drop_claims_release() == 1
    result = drop_buy(drop=drop, buyer=other_shopper, variant=hoodie_xl, quantity=1, key="y")
    assert result.replayed is False
    _settle(drop)
    assert Hold.objects.filter(status=HoldStatus.ACTIVE).count() == 1


def test_missing_stock_rejects_the_buy_and_keeps_the_quota(
    show, item, host, shopper, hoodie_xl, warehouse, stock: StockFn
) -> None:
    stock(hoodie_xl, warehouse, 1)
    drop = _open(show, item, host, quota_units=5)
    drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=1, key="a")
    try:
        drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=1, key="b")
    except DomainError as error:
        assert error.code == "out_of_stock"  # database gate: refused in the same transaction
    _settle(drop)
    assert DropClaim.objects.filter(status="held").count() == 1
    assert StockLevel.objects.get(variant=hoodie_xl).reserved == 1
    report = drop_reconcile(drop=drop)
    assert (report.drift, report.database_left) == (0, 4)


def test_reconcile_repairs_a_drifted_counter(
    show, item, host, shopper, hoodie_xl, warehouse, stock: StockFn
) -> None:
    stock(hoodie_xl, warehouse, 10)
    drop = _open(show, item, host, quota_units=5)
    drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=2, key="a")
    _settle(drop)
    if quota.enabled():
        quota.client().set(quota.keys(drop.pk)["left"], 5)  # lost decrement
    else:
        Drop.objects.filter(pk=drop.pk).update(remaining=5)

    report = drop_reconcile(drop=drop)

    assert (report.drift, report.database_left, report.repaired) == (2, 3, True)
    assert drop_reconcile(drop=drop).drift == 0


@pytest.mark.skipif("not __import__('django.conf').conf.settings.REDIS_URL")
def test_a_take_that_crashed_before_its_hold_is_made_durable_by_the_drainer(
    show, item, host, shopper, hoodie_xl, warehouse, stock: StockFn
) -> None:
    stock(hoodie_xl, warehouse, 10)
    drop = _open(show, item, host, quota_units=5)
    drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=1, key="a")
    # a process read the entry and died before acknowledging it
    quota.read_claims(drop_id=drop.pk, consumer="crashed-node")
    assert DropClaim.objects.count() == 0
    quota.client().xclaim(
        quota.keys(drop.pk)["claims"], quota.CLAIMS_GROUP, "crashed-node", 0,
        [e[0] for e in quota.client().xrange(quota.keys(drop.pk)["claims"])], idle=60_000,
    )  # fmt: skip
    assert drop_claims_drain(drop_id=drop.pk, consumer="survivor") == 1
    assert DropClaim.objects.get().status == "held"
    assert quota.pending_count(drop_id=drop.pk) == 0


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_drainers_materialising_the_same_takes_make_each_hold_once(
    show, item, host, hoodie_xl, warehouse, stock: StockFn, buyers
) -> None:
    stock(hoodie_xl, warehouse, 100)
    drop = _open(show, item, host, quota_units=20)
    takes = [
        StreamTake(buyer_id=u.pk, key="tap", variant_id=hoodie_xl.pk, quantity=1)
        for u in buyers(12)
    ]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def drain(batch: list[StreamTake]) -> None:
        barrier.wait()
        try:
            drop_claims_materialise(drop=Drop.objects.get(pk=drop.pk), takes=batch)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    # two drainers got every entry (one took the other's over), two got overlapping halves
    threads = [
        threading.Thread(target=drain, args=(batch,))
        for batch in (takes, list(reversed(takes)), takes[:8], takes[4:])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert DropClaim.objects.filter(drop=drop, status="held").count() == 12
    assert Hold.objects.filter(status="active").count() == 12
    assert StockLevel.objects.get(variant=hoodie_xl).reserved == 12


@pytest.mark.skipif("not __import__('django.conf').conf.settings.REDIS_URL")
def test_a_drain_batch_makes_many_holds_in_a_few_statements(
    show, item, host, hoodie_xl, warehouse, stock: StockFn, buyers,
    django_assert_max_num_queries,
) -> None:  # fmt: skip
    stock(hoodie_xl, warehouse, 100)
    drop = _open(show, item, host, quota_units=60, per_buyer_limit=1)
    for user in buyers(60):
        drop_buy(drop=drop, buyer=user, variant=hoodie_xl, quantity=1, key="tap")
    with django_assert_max_num_queries(30):
        assert drop_claims_drain(drop_id=drop.pk) == 60
    assert DropClaim.objects.filter(drop=drop, status="held").count() == 60
    assert StockLevel.objects.get(variant=hoodie_xl).reserved == 60
    assert AuditEvent.objects.filter(kind="hold.batch_created").count() == 1
    assert drop_reconcile(drop=drop).drift == 0


@pytest.mark.skipif("not __import__('django.conf').conf.settings.REDIS_URL")
def test_a_take_whose_units_were_given_back_before_a_crash_is_rejected_not_held(
    show, item, host, shopper, hoodie_xl, warehouse, stock: StockFn
) -> None:
    stock(hoodie_xl, warehouse, 10)
    drop = _open(show, item, host, quota_units=5)
    drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=1, key="a")
    # the last drainer gave the units back, then died before committing the rejection
    quota.give_back(drop_id=drop.pk, buyer_id=shopper.pk, quantity=1, token=f"{shopper.pk}:a")
    assert quota.left(drop_id=drop.pk) == 5
    assert drop_claims_drain(drop_id=drop.pk) == 1
    assert DropClaim.objects.get().status == ClaimStatus.REJECTED
    assert not Hold.objects.exists()
    assert drop_reconcile(drop=drop).drift == 0
