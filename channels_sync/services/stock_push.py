"""Stock out: coalesce changes per (connection, variant), push absolute quantities.

A stock change only marks ``PendingStockPush`` (one row per SKU however many changes,
``version`` bumped each time). The push reads the available-to-promise *at push time*,
so whatever order the pushes run in, the last one carries the current truth. A row is
deleted only if its version did not move during the push; otherwise it goes again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from channels_sync.connectors.base import Connector, QuantityUpdate
from channels_sync.errors import CompareMismatch, RateLimited, RemoteError
from channels_sync.models import (
    Connection,
    DeadLetter,
    ListingMapping,
    PendingStockPush,
    RemoteQuantity,
)
from channels_sync.services.connections import connector_of
from channels_sync.services.retry import MAX_ATTEMPTS, backoff_seconds
from oms.selectors import available_to_promise

#: changes within this window after the first one go out in the same push
DEBOUNCE_SECONDS = 0.25
CLAIM_SECONDS = 60
CLAIM_LIMIT = 1000
LEASE_SECONDS = 30


def stock_change_mark(*, variant_id: int, location_id: int) -> int:
    """Mark the variant dirty on every connection that sells from ``location_id``."""
    connection_ids = list(
        Connection.objects.filter(
            enabled=True,
            sales_channel__locations=location_id,
            listings__variant_id=variant_id,
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    if connection_ids:
        pending_mark_many(connection_ids=connection_ids, variant_id=variant_id)
    return len(connection_ids)


def pending_mark_many(*, connection_ids: list[int], variant_id: int) -> None:
    """Bump the row of each connection, creating missing ones (two queries when warm)."""
    rows = PendingStockPush.objects.filter(connection_id__in=connection_ids, variant_id=variant_id)
    if rows.update(version=F("version") + 1) == len(connection_ids):
        return
    now = timezone.now()
    existing = set(rows.values_list("connection_id", flat=True))
    missing = [c for c in connection_ids if c not in existing]
    PendingStockPush.objects.bulk_create(
        [
            PendingStockPush(
                connection_id=c,
                variant_id=variant_id,
                first_changed_at=now,
                due_at=now + timedelta(seconds=DEBOUNCE_SECONDS),
            )
            for c in missing
        ],
        ignore_conflicts=True,
    )


def pending_mark(*, connection_id: int, variant_id: int) -> None:
    pending_mark_many(connection_ids=[connection_id], variant_id=variant_id)


@dataclass
class PushReport:
    pushed: int = 0
    calls: int = 0
    throttled: int = 0
    failed: int = 0
    dead: int = 0
    connections: set[int] = field(default_factory=set)


def _claim(*, connection_id: int | None, limit: int) -> list[PendingStockPush]:
    now = timezone.now()
    with transaction.atomic():
        rows = PendingStockPush.objects.select_for_update(skip_locked=True).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            due_at__lte=now,
            connection__enabled=True,
        )
        if connection_id is not None:
            rows = rows.filter(connection_id=connection_id)
        claimed = list(rows.order_by("due_at")[:limit])
        PendingStockPush.objects.filter(pk__in=[r.pk for r in claimed]).update(
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS)
        )
    return claimed


def stock_push_due(*, connection_id: int | None = None, limit: int = CLAIM_LIMIT) -> PushReport:
    """Push due coalesced changes, one batch per connection per round.

    Claims are per connection and batch-sized, so several workers run in parallel and a
    slow or rate-limited marketplace never holds back the others. Safe to run anywhere.
    """
    report = PushReport()
    if connection_id is not None:
        connection_ids = [connection_id]
    else:
        connection_ids = list(
            PendingStockPush.objects.filter(due_at__lte=timezone.now(), connection__enabled=True)
            .values_list("connection_id", flat=True)
            .distinct()
        )
        random.shuffle(connection_ids)  # workers spread over the connections
    budget = limit
    for cid in connection_ids:
        lease = f"livehub:sync-push-lease:{cid}"
        # One pusher per connection at a time: parallel pushers would only queue on its
        # rate limit holding stale quantities; other workers serve other marketplaces.
        if not cache.add(lease, 1, timeout=LEASE_SECONDS):
            continue
        try:
            connection = Connection.objects.select_related("sales_channel").get(pk=cid)
            connector = connector_of(connection)
            while budget > 0:
                rows = _claim(connection_id=cid, limit=min(budget, connector.batch_size))
                if not rows:
                    break
                budget -= len(rows)
                report.connections.add(cid)
                if not _push_connection(
                    connection=connection, connector=connector, rows=rows, report=report
                ):
                    break  # throttled: leave this marketplace alone until its wait is over
        finally:
            cache.delete(lease)
    return report


def _push_connection(
    *,
    connection: Connection,
    connector: Connector,
    rows: list[PendingStockPush],
    report: PushReport,
) -> bool:
    """Push claimed rows in batches; False when the marketplace asked us to wait."""
    variant_ids = [r.variant_id for r in rows]
    mappings = {
        m.variant_id: m
        for m in ListingMapping.objects.filter(connection=connection, variant_id__in=variant_ids)
    }
    remote = dict(
        RemoteQuantity.objects.filter(
            connection=connection, variant_id__in=variant_ids
        ).values_list("variant_id", "quantity")
    )
    for unmapped in [r for r in rows if r.variant_id not in mappings]:
        PendingStockPush.objects.filter(pk=unmapped.pk).delete()  # listing was unmapped
    rows = [r for r in rows if r.variant_id in mappings]
    for start in range(0, len(rows), connector.batch_size):
        batch = rows[start : start + connector.batch_size]
        atp = available_to_promise(
            sales_channel=connection.sales_channel, variant_ids=[r.variant_id for r in batch]
        )
        by_sku = {mappings[r.variant_id].external_sku: r for r in batch}
        updates = [
            QuantityUpdate(
                sku=mappings[r.variant_id].external_sku,
                external_id=mappings[r.variant_id].external_id,
                external_sub_id=mappings[r.variant_id].external_sub_id,
                quantity=atp.get(r.variant_id, 0),
                compare_quantity=remote.get(r.variant_id) if connector.compare_and_swap else None,
            )
            for r in batch
        ]
        report.calls += 1
        try:
            outcomes = connector.push_quantities(updates)
        except RateLimited as limited:
            report.throttled += 1
            _count(connection, throttled=1)
            _release(rows[start:], delay_s=limited.retry_after)
            return False
        except RemoteError as error:
            report.failed += 1
            _count(connection, failed=1, error=error.message)
            for row in batch:
                sku = mappings[row.variant_id].external_sku
                _retry_or_bury(connection=connection, row=row, error=error, sku=sku)
            continue
        failures = [o for o in outcomes if not o.ok and o.error is not None]
        _count(
            connection,
            ok=len(outcomes) - len(failures),
            failed=len(failures),
            error=failures[0].error.message if failures and failures[0].error else "",
        )
        quantities = {u.sku: u.quantity for u in updates}
        for outcome in outcomes:
            row = by_sku[outcome.sku]
            if outcome.ok:
                _done(connection=connection, row=row, quantity=quantities[outcome.sku])
                report.pushed += 1
            elif isinstance(outcome.error, CompareMismatch):
                # Someone else changed it there: learn its value, set ours again at once.
                if outcome.error.actual is not None:
                    _remember(connection, row.variant_id, outcome.error.actual)
                _retry_or_bury(
                    connection=connection, row=row, error=outcome.error, sku=outcome.sku, delay_s=0
                )
            else:
                assert outcome.error is not None
                _retry_or_bury(connection=connection, row=row, error=outcome.error, sku=outcome.sku)
                report.failed += 1
    return True


def _count(
    connection: Connection, *, ok: int = 0, failed: int = 0, throttled: int = 0, error: str = ""
) -> None:
    changes: dict[str, object] = {
        "calls_ok": F("calls_ok") + ok,
        "calls_failed": F("calls_failed") + failed,
        "calls_throttled": F("calls_throttled") + throttled,
    }
    if ok:
        changes["last_success_at"] = timezone.now()
    if error:
        changes["last_error"] = error[:500]
    Connection.objects.filter(pk=connection.pk).update(**changes)


def _remember(connection: Connection, variant_id: int, quantity: int) -> None:
    RemoteQuantity.objects.update_or_create(
        connection=connection,
        variant_id=variant_id,
        defaults={"quantity": quantity, "pushed_at": timezone.now()},
    )


def _done(*, connection: Connection, row: PendingStockPush, quantity: int) -> None:
    now = timezone.now()
    _remember(connection, row.variant_id, quantity)
    lag_ms = int((now - row.first_changed_at).total_seconds() * 1000)
    Connection.objects.filter(pk=connection.pk).update(last_lag_ms=lag_ms)
    deleted, _ = PendingStockPush.objects.filter(pk=row.pk, version=row.version).delete()
    if not deleted:
        # Changed again while we pushed: push the newer quantity promptly.
        PendingStockPush.objects.filter(pk=row.pk).update(
            claimed_until=None, attempts=0, first_changed_at=now, due_at=now
        )


def _release(rows: list[PendingStockPush], *, delay_s: float) -> None:
    due = timezone.now() + timedelta(seconds=delay_s)
    PendingStockPush.objects.filter(pk__in=[r.pk for r in rows]).update(
        claimed_until=None, due_at=due
    )


def _retry_or_bury(
    *,
    connection: Connection,
    row: PendingStockPush,
    error: RemoteError,
    sku: str,
    delay_s: float | None = None,
) -> None:
    attempts = row.attempts + 1
    if not error.retryable or attempts >= MAX_ATTEMPTS:
        with transaction.atomic():
            DeadLetter.objects.create(
                connection=connection,
                kind="stock",
                key=sku,
                reason=error.message[:500],
                attempts=attempts,
                ref_id=row.variant_id,
            )
            PendingStockPush.objects.filter(pk=row.pk).delete()
        return
    wait = backoff_seconds(attempts) if delay_s is None else delay_s
    PendingStockPush.objects.filter(pk=row.pk).update(
        attempts=attempts,
        claimed_until=None,
        due_at=timezone.now() + timedelta(seconds=wait),
        last_error=error.message[:500],
    )


def next_due_in_seconds() -> float | None:
    """Seconds until the earliest pending push is due (None when nothing is pending)."""
    first = PendingStockPush.objects.order_by("due_at").values_list("due_at", flat=True).first()
    if first is None:
        return None
    return max(0.0, (first - timezone.now()).total_seconds())


def stock_resync(*, connection: Connection) -> int:
    """Mark every listed variant dirty: the next push sets the whole catalog there."""
    variant_ids = list(
        ListingMapping.objects.filter(connection=connection).values_list("variant_id", flat=True)
    )
    for variant_id in variant_ids:
        pending_mark(connection_id=connection.pk, variant_id=variant_id)
    return len(variant_ids)
