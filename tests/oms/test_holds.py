from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hub.kernel.audit import audit_verify_chain
from hub.kernel.models import AuditEvent
from oms.errors import HoldNotActive, InvalidInput, OutOfStock
from oms.models import Hold, StockLevel
from oms.selectors import available_to_promise, ledger_totals
from oms.services.holds import (
    HoldRequest,
    hold_create,
    hold_create_many,
    hold_expire_due,
    hold_release,
)


def _level(variant, location) -> tuple[int, int, int]:
    level = StockLevel.objects.get(variant=variant, location=location)
    return level.on_hand, level.allocated, level.reserved


@pytest.mark.django_db
def test_a_hold_reserves_units_and_lowers_availability(web, tee, warehouse, stock, shopper) -> None:
    stock(tee, warehouse, 5)
    hold = hold_create(sales_channel=web, quantities={tee: 2}, owner=shopper, ttl_seconds=60)
    assert hold.status == "active"
    assert _level(tee, warehouse) == (5, 0, 2)
    assert available_to_promise(sales_channel=web, variant_ids=[tee.pk]) == {tee.pk: 3}


@pytest.mark.django_db
def test_a_hold_beyond_availability_is_refused_and_writes_nothing(
    web, tee, warehouse, stock
) -> None:
    stock(tee, warehouse, 1)
    with pytest.raises(OutOfStock, match="only 1 of TEE-RED-M available, 2 requested"):
        hold_create(sales_channel=web, quantities={tee: 2}, ttl_seconds=60)
    assert _level(tee, warehouse) == (1, 0, 0)
    assert not Hold.objects.exists()


@pytest.mark.django_db
def test_release_gives_units_back_once(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 5)
    hold = hold_create(sales_channel=web, quantities={tee: 2}, ttl_seconds=60)
    hold_release(hold=hold)
    assert _level(tee, warehouse) == (5, 0, 0)
    with pytest.raises(HoldNotActive):
        hold_release(hold=hold)
    assert _level(tee, warehouse) == (5, 0, 0)


@pytest.mark.django_db
def test_expired_holds_do_not_count_and_are_swept(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 3)
    hold = hold_create(sales_channel=web, quantities={tee: 3}, ttl_seconds=60)
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert available_to_promise(sales_channel=web, variant_ids=[tee.pk]) == {tee.pk: 3}
    assert hold_expire_due() == 1
    assert hold_expire_due() == 0
    hold.refresh_from_db()
    assert hold.status == "expired"
    assert _level(tee, warehouse) == (3, 0, 0)


@pytest.mark.django_db
def test_a_new_hold_takes_units_pinned_by_an_expired_hold(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 1)
    stale = hold_create(sales_channel=web, quantities={tee: 1}, ttl_seconds=60)
    Hold.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    fresh = hold_create(sales_channel=web, quantities={tee: 1}, ttl_seconds=60)
    stale.refresh_from_db()
    assert (stale.status, fresh.status) == ("expired", "active")
    assert _level(tee, warehouse) == (1, 0, 1)


@pytest.mark.django_db
def test_safety_stock_of_the_sales_channel_is_kept_back(web, tee, warehouse, stock) -> None:
    web.safety_stock = 2
    web.save()
    stock(tee, warehouse, 5)
    assert available_to_promise(sales_channel=web, variant_ids=[tee.pk]) == {tee.pk: 3}
    with pytest.raises(OutOfStock):
        hold_create(sales_channel=web, quantities={tee: 4}, ttl_seconds=60)
    hold_create(sales_channel=web, quantities={tee: 3}, ttl_seconds=60)


@pytest.mark.django_db
def test_hold_input_is_validated(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 5)
    with pytest.raises(InvalidInput):
        hold_create(sales_channel=web, quantities={tee: -1}, ttl_seconds=60)
    with pytest.raises(InvalidInput):
        hold_create(sales_channel=web, quantities={}, ttl_seconds=60)
    with pytest.raises(InvalidInput):
        hold_create(sales_channel=web, quantities={tee: 1}, ttl_seconds=0)
    assert _level(tee, warehouse) == (5, 0, 0)


# ---- the cost of one hold ----------------------------------------------------------------

#: one read of the locations and of the stock rows, one conditional UPDATE per row, the
#: ledger, the outbox (one per row), the hold, its lines, one audit entry (3 statements),
#: plus the SAVEPOINT/RELEASE pairs the test transaction turns atomic blocks into.
#: Before it shared the batch machinery a one-line hold cost 16 and a two-line hold 22.
ONE_LINE_HOLD_QUERIES = 12
TWO_LINE_HOLD_QUERIES = 16


def _expiry_lookups(captured: list[dict[str, str]]) -> list[str]:
    return [q["sql"] for q in captured if '"oms_hold' in q["sql"] and q["sql"].startswith("SELECT")]


@pytest.mark.django_db
def test_one_hold_costs_a_fixed_few_statements_and_never_looks_at_expired_holds(
    web, tee, mug, warehouse, stock
) -> None:
    stock(tee, warehouse, 10)
    stock(mug, warehouse, 10)
    with CaptureQueriesContext(connection) as one_line:
        hold_create(sales_channel=web, quantities={tee: 1}, ttl_seconds=60)
    with CaptureQueriesContext(connection) as two_lines:
        hold_create(sales_channel=web, quantities={tee: 1, mug: 2}, ttl_seconds=60)
    assert len(one_line.captured_queries) <= ONE_LINE_HOLD_QUERIES
    assert len(two_lines.captured_queries) <= TWO_LINE_HOLD_QUERIES
    assert _expiry_lookups(one_line.captured_queries + two_lines.captured_queries) == []
    # one audit entry per hold, listing its lines; one ledger row per line
    entries = list(AuditEvent.objects.filter(kind__startswith="hold.").order_by("id"))
    assert [e.kind for e in entries] == ["hold.created", "hold.created"]
    assert entries[1].payload["lines"] == [[tee.pk, warehouse.pk, 1], [mug.pk, warehouse.pk, 2]]
    assert not AuditEvent.objects.filter(kind="stock.reserve").exists()
    assert _books_balance(tee, [warehouse]) and _books_balance(mug, [warehouse])


@pytest.mark.django_db
def test_expired_holds_at_the_first_choice_location_keep_the_routing_choice(
    web, tee, warehouse, store_jingan, stock
) -> None:
    stock(tee, warehouse, 2)  # priority 10: first choice
    stock(tee, store_jingan, 5)
    stale = hold_create(sales_channel=web, quantities={tee: 2}, ttl_seconds=60)
    assert [line.location_id for line in stale.lines.all()] == [warehouse.pk]
    Hold.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    fresh = hold_create(sales_channel=web, quantities={tee: 2}, ttl_seconds=60)
    # as if the stale hold had been swept already: the warehouse, not the store
    assert [line.location_id for line in fresh.lines.all()] == [warehouse.pk]
    stale.refresh_from_db()
    assert stale.status == "expired"
    assert _level(tee, warehouse) == (2, 0, 2)
    assert _level(tee, store_jingan) == (5, 0, 0)
    entry = AuditEvent.objects.get(kind="hold.created", aggregate_id=fresh.token)
    assert entry.payload["expired"] == [stale.token]
    assert _books_balance(tee, [warehouse, store_jingan])


@pytest.mark.django_db
def test_a_refused_hold_still_returns_the_units_of_the_expired_holds_it_swept(
    web, tee, warehouse, stock
) -> None:
    stock(tee, warehouse, 2)
    stale = hold_create(sales_channel=web, quantities={tee: 1}, ttl_seconds=60)
    Hold.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(OutOfStock, match="only 2 of TEE-RED-M available, 3 requested"):
        hold_create(sales_channel=web, quantities={tee: 3}, ttl_seconds=60)
    stale.refresh_from_db()
    assert stale.status == "expired"
    assert _level(tee, warehouse) == (2, 0, 0)
    entry = AuditEvent.objects.get(kind="hold.batch_expired")
    assert entry.payload["expired"] == [stale.token]
    assert _books_balance(tee, [warehouse])


# ---- hold_create_many --------------------------------------------------------------------


def _one_each(n: int, variant_id: int, quantity: int = 1) -> list[HoldRequest]:
    return [HoldRequest(quantities={variant_id: quantity}, reference=f"r{i}") for i in range(n)]


def _books_balance(variant, locations) -> bool:
    for location in locations:
        level = StockLevel.objects.get(variant=variant, location=location)
        totals = ledger_totals(variant_id=variant.pk, location_id=location.pk)
        if totals != {"on_hand": level.on_hand, "allocated": level.allocated,
                      "reserved": level.reserved}:  # fmt: skip
            return False
    return audit_verify_chain().intact


@pytest.mark.django_db
def test_a_batch_places_requests_in_order_and_refuses_only_what_does_not_fit(
    web, tee, warehouse, stock, shopper
) -> None:
    stock(tee, warehouse, 5)
    requests = [
        HoldRequest(quantities={tee.pk: 2}, owner_id=shopper.pk, reference="a"),
        HoldRequest(quantities={tee.pk: 4}, reference="b"),  # does not fit after a
        HoldRequest(quantities={tee.pk: 3}, reference="c"),  # fits exactly
        HoldRequest(quantities={tee.pk: 1}, reference="d"),  # nothing left
    ]
    results = hold_create_many(sales_channel=web, requests=requests, ttl_seconds=60)
    assert [type(r).__name__ for r in results] == ["Hold", "OutOfStock", "Hold", "OutOfStock"]
    assert isinstance(results[1], OutOfStock)
    assert results[1].message == "not enough units for 4 of TEE-RED-M"
    first = results[0]
    assert isinstance(first, Hold)
    assert (first.owner_id, first.reference, first.status) == (shopper.pk, "a", "active")
    assert [(line.quantity, line.location_id) for line in first.lines.all()] == [(2, warehouse.pk)]
    assert _level(tee, warehouse) == (5, 0, 5)
    assert Hold.objects.count() == 2
    assert AuditEvent.objects.filter(kind="hold.batch_created").count() == 1
    assert _books_balance(tee, [warehouse])


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_for_ten_or_two_hundred_holds(
    web, tee, warehouse, stock, django_assert_max_num_queries
) -> None:
    stock(tee, warehouse, 1000)
    with django_assert_max_num_queries(20):
        small = hold_create_many(sales_channel=web, requests=_one_each(10, tee.pk), ttl_seconds=60)
    with django_assert_max_num_queries(20):
        big = hold_create_many(sales_channel=web, requests=_one_each(200, tee.pk), ttl_seconds=60)
    assert all(isinstance(r, Hold) for r in small + big)
    assert _level(tee, warehouse) == (1000, 0, 210)
    assert _books_balance(tee, [warehouse])


@pytest.mark.django_db
def test_a_batch_sweeps_expired_holds_that_pin_its_units(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 2)
    stale = hold_create(sales_channel=web, quantities={tee: 2}, ttl_seconds=60)
    Hold.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    results = hold_create_many(sales_channel=web, requests=_one_each(3, tee.pk), ttl_seconds=60)
    assert [isinstance(r, Hold) for r in results] == [True, True, False]
    stale.refresh_from_db()
    assert stale.status == "expired"
    assert _level(tee, warehouse) == (2, 0, 2)
    entry = AuditEvent.objects.get(kind="hold.batch_created")
    assert entry.payload["expired"] == [stale.token]
    assert _books_balance(tee, [warehouse])


@pytest.mark.django_db
def test_a_batch_keeps_safety_stock_and_splits_only_when_allowed(
    web, tee, warehouse, store_jingan, stock
) -> None:
    web.safety_stock = 1
    web.allow_split = False
    web.save()
    stock(tee, warehouse, 3)  # 2 promisable
    stock(tee, store_jingan, 3)  # 2 promisable
    (whole,) = hold_create_many(
        sales_channel=web, requests=_one_each(1, tee.pk, quantity=3), ttl_seconds=60
    )
    assert isinstance(whole, OutOfStock)
    web.allow_split = True
    web.save()
    split, last = hold_create_many(
        sales_channel=web, requests=_one_each(2, tee.pk, quantity=3), ttl_seconds=60
    )
    assert isinstance(split, Hold) and isinstance(last, OutOfStock)
    placed = sorted((line.location_id, line.quantity) for line in split.lines.all())
    assert placed == sorted([(warehouse.pk, 2), (store_jingan.pk, 1)])
    assert _level(tee, warehouse) == (3, 0, 2)
    assert _level(tee, store_jingan) == (3, 0, 1)
    assert _books_balance(tee, [warehouse, store_jingan])


@pytest.mark.django_db
def test_batch_input_is_validated_and_writes_nothing(web, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 5)
    for requests, ttl in (
        ([], 60),
        ([HoldRequest(quantities={})], 60),
        ([HoldRequest(quantities={tee.pk: 0})], 60),
        ([HoldRequest(quantities={tee.pk: 1})], 0),
    ):
        with pytest.raises(InvalidInput):
            hold_create_many(sales_channel=web, requests=requests, ttl_seconds=ttl)
    assert _level(tee, warehouse) == (5, 0, 0)
    assert not Hold.objects.exists()
