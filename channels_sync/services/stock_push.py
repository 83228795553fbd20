"""Stock out: coalesce changes per (connection, variant), push absolute quantities.

A stock change only marks ``PendingStockPush`` (one row per SKU however many changes,
``version`` bumped each time). The push reads the available-to-promise *at push time*,
so whatever order the pushes run in, the last one carries the current truth. A row is
deleted only if its version did not move during the push; otherwise it goes again.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from channels_sync.connectors.base import Connector, PushOutcome, QuantityUpdate
from channels_sync.errors import CompareMismatch, RateLimited, RemoteError
from channels_sync.models import (
    Connection,
    DeadLetter,
    ListingMapping,
    PendingStockPush,
    RemoteQuantity,
)
from channels_sync.ratelimit import rate_gate_forget, rate_gate_prepay
from channels_sync.services.breaker import breaker_allow, breaker_probe_unused, breaker_record
from channels_sync.services.connections import connector_of
from channels_sync.services.retry import MAX_ATTEMPTS, backoff_seconds
from channels_sync.states import BreakerState
from oms.models import SalesChannel
from oms.selectors import available_to_promise

#: a new change waits this long for others before it may go out; after that the
#: connection's rate limit is the coalescing window (see ``stock_push_due``)
DEBOUNCE_SECONDS = 0.5
#: per platform: where every SKU costs its own call (TOP), waiting only saves a call when
#: the same SKU changes again within the window, rare at sale rates per SKU, so the
#: window is short; batch APIs carry every SKU of the window in one call
COALESCE_SECONDS: dict[str, float] = {"taobao": 0.2}
CLAIM_SECONDS = 60
CLAIM_LIMIT = 1000
LEASE_SECONDS = 30


def stock_changes_mark(*, changes: Iterable[tuple[int, int]]) -> int:
    """Mark each changed (variant, location) dirty on every connection selling it there.

    Called once per outbox relay round with all of the round's stock changes, so a
    burst of sales costs a handful of queries, not a few per sale. Returns how many
    (connection, variant) rows were marked.
    """
    pairs = set(changes)
    if not pairs:
        return 0
    through = SalesChannel.locations.through
    by_location: dict[int, set[int]] = defaultdict(set)
    windows: dict[int, float] = {}
    for connection_id, location_id, platform in through.objects.filter(
        location_id__in={location for _, location in pairs},
        saleschannel__sync_connection__enabled=True,
    ).values_list(
        "saleschannel__sync_connection__id",
        "location_id",
        "saleschannel__sync_connection__platform",
    ):
        by_location[location_id].add(connection_id)
        windows[connection_id] = COALESCE_SECONDS.get(platform, DEBOUNCE_SECONDS)
    if not by_location:
        return 0
    connection_ids = set().union(*by_location.values())
    listed = set(
        ListingMapping.objects.filter(
            connection_id__in=connection_ids, variant_id__in={variant for variant, _ in pairs}
        ).values_list("connection_id", "variant_id")
    )
    targets: dict[int, set[int]] = defaultdict(set)
    for variant_id, location_id in pairs:
        for connection_id in by_location.get(location_id, ()):
            if (connection_id, variant_id) in listed:
                targets[connection_id].add(variant_id)
    for connection_id, variant_ids in sorted(targets.items()):
        pending_mark_many(
            connection_id=connection_id, variant_ids=variant_ids, window_s=windows[connection_id]
        )
    return sum(len(v) for v in targets.values())


def stock_change_mark(*, variant_id: int, location_id: int) -> int:
    """One change (see ``stock_changes_mark``)."""
    return stock_changes_mark(changes=[(variant_id, location_id)])


def pending_mark_many(
    *, connection_id: int, variant_ids: Iterable[int], window_s: float = DEBOUNCE_SECONDS
) -> None:
    """Bump the rows of one connection, creating missing ones (one query when warm)."""
    wanted = set(variant_ids)
    # Rows are locked in primary-key order here and in ``_settle``: a relay and a pusher
    # touching the same rows then wait for each other instead of deadlocking.
    with transaction.atomic():
        found = dict(
            PendingStockPush.objects.select_for_update()
            .filter(connection_id=connection_id, variant_id__in=wanted)
            .order_by("pk")
            .values_list("pk", "variant_id")
        )
        if found:
            PendingStockPush.objects.filter(pk__in=list(found)).update(version=F("version") + 1)
    missing = wanted - set(found.values())
    if not missing:
        return
    now = timezone.now()
    PendingStockPush.objects.bulk_create(
        [
            PendingStockPush(
                connection_id=connection_id,
                variant_id=variant_id,
                first_changed_at=now,
                due_at=now + timedelta(seconds=window_s),
            )
            for variant_id in sorted(missing)
        ],
        ignore_conflicts=True,
    )


def pending_mark(*, connection_id: int, variant_id: int) -> None:
    pending_mark_many(connection_id=connection_id, variant_ids=[variant_id])


@dataclass
class PushReport:
    pushed: int = 0
    calls: int = 0
    throttled: int = 0
    failed: int = 0
    dead: int = 0
    connections: set[int] = field(default_factory=set)


def _claim(
    *, connection_id: int, limit: int, ride_along: bool, item_mates: bool = False
) -> list[PendingStockPush]:
    """Claim due rows, oldest first; ``ride_along``: once one is due, take the rest too.

    For a platform with a batch endpoint, the changes not yet due travel free in the call
    the due one pays for, instead of costing a call of their own a moment later.
    ``item_mates`` (a platform that batches the SKUs of one item, such as TOP): the not
    yet due changes of the items of the due rows ride along, and no others.
    """
    now = timezone.now()
    with transaction.atomic():
        rows = PendingStockPush.objects.select_for_update(skip_locked=True).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            connection_id=connection_id,
            connection__enabled=True,
        )
        if not ride_along:
            rows = rows.filter(due_at__lte=now)
        claimed = list(rows.order_by("due_at", "pk")[:limit])
        if claimed and claimed[0].due_at > now:
            return []  # nothing due yet
        if item_mates and claimed and len(claimed) < limit:
            claimed += _item_mates(
                connection_id=connection_id, claimed=claimed, room=limit - len(claimed), now=now
            )
        PendingStockPush.objects.filter(pk__in=[r.pk for r in claimed]).update(
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS)
        )
    return claimed


def _item_mates(
    *, connection_id: int, claimed: list[PendingStockPush], room: int, now: datetime
) -> list[PendingStockPush]:
    """Unclaimed rows, not yet due, of SKUs on the same marketplace items as ``claimed``."""
    listings = ListingMapping.objects.filter(connection_id=connection_id)
    items = (
        listings.filter(variant_id__in=[r.variant_id for r in claimed])
        .exclude(external_sub_id="")
        .values("external_id")
    )
    return list(
        PendingStockPush.objects.select_for_update(skip_locked=True)
        .filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            connection_id=connection_id,
            due_at__gt=now,
            variant_id__in=listings.filter(external_id__in=items).values("variant_id"),
        )
        .order_by("due_at", "pk")[:room]
    )


def _waiting_on_breaker(now: datetime) -> Q:
    return Q(
        connection__breaker_state__in=[BreakerState.OPEN, BreakerState.HALF_OPEN],
        connection__breaker_retry_at__gt=now,
    )


def stock_push_due(*, connection_id: int | None = None, limit: int = CLAIM_LIMIT) -> PushReport:
    """Push due coalesced changes, connection by connection.

    Per call: wait for the connection's rate-limit token first, *then* claim everything
    due and read available-to-promise, so each call the budget allows carries the newest
    absolute quantity of every SKU changed meanwhile (the rate limit is the coalescing
    window; no call is spent on a quantity that is already stale). One pusher per
    connection at a time (cache lease); other workers serve other marketplaces. A
    connection whose circuit breaker is open is skipped: its changes wait in the queue.
    """
    report = PushReport()
    if connection_id is not None:
        connection_ids = [connection_id]
    else:
        now = timezone.now()
        connection_ids = list(
            PendingStockPush.objects.filter(due_at__lte=now, connection__enabled=True)
            .exclude(_waiting_on_breaker(now))
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
            budget = _push_connection_due(connection_id=cid, budget=budget, report=report)
        finally:
            cache.delete(lease)
    return report


def _push_connection_due(*, connection_id: int, budget: int, report: PushReport) -> int:
    gate = breaker_allow(connection_id=connection_id)
    if gate == "wait":
        return budget
    connection = Connection.objects.select_related("sales_channel").get(pk=connection_id)
    connector = connector_of(connection)
    rate_key = f"connection:{connection.pk}"
    while budget > 0:
        if gate == "pass":
            rate_gate_prepay(key=rate_key, rate_per_s=connection.rate_limit_per_s)
        # A probe is one call with one SKU: enough to learn whether the platform is back.
        size = 1 if gate == "probe" else min(budget, connector.batch_size)
        rows = _claim(
            connection_id=connection.pk,
            limit=size,
            ride_along=not connector.one_call_per_sku,
            item_mates=getattr(connector, "batches_by_item", False) and gate != "probe",
        )
        if not rows:
            rate_gate_forget(key=rate_key)
            if gate == "probe":  # nothing to probe with: the next push takes it
                breaker_probe_unused(connection_id=connection.pk)
            break
        budget -= len(rows)
        report.connections.add(connection.pk)
        try:
            state = _push_rows(
                connection=connection,
                connector=connector,
                rows=rows,
                report=report,
                probe=gate == "probe",
            )
        except Exception:
            # A bug or a database error: hand the rows back now, not when the claim lapses.
            PendingStockPush.objects.filter(pk__in=[r.pk for r in rows]).update(claimed_until=None)
            raise
        if state != BreakerState.CLOSED:
            break  # throttled (wait for the platform) or the breaker is open
        gate = "pass"
    return budget


def _push_rows(
    *,
    connection: Connection,
    connector: Connector,
    rows: list[PendingStockPush],
    report: PushReport,
    probe: bool,
) -> str:
    """Push one claimed batch; returns the breaker state after it, or ``"throttled"``."""
    variant_ids = [r.variant_id for r in rows]
    mappings = {
        m.variant_id: m
        for m in ListingMapping.objects.filter(connection=connection, variant_id__in=variant_ids)
    }
    remote: dict[int, int] = {}
    if connector.compare_and_swap:
        remote = dict(
            RemoteQuantity.objects.filter(
                connection=connection, variant_id__in=variant_ids
            ).values_list("variant_id", "quantity")
        )
    unmapped = [r.pk for r in rows if r.variant_id not in mappings]
    if unmapped:
        PendingStockPush.objects.filter(pk__in=unmapped).delete()  # listing was unmapped
    rows = [r for r in rows if r.variant_id in mappings]
    if not rows:
        return BreakerState.CLOSED
    atp = available_to_promise(sales_channel=connection.sales_channel, variant_ids=variant_ids)
    by_sku = {mappings[r.variant_id].external_sku: r for r in rows}
    updates = [
        QuantityUpdate(
            sku=mappings[r.variant_id].external_sku,
            external_id=mappings[r.variant_id].external_id,
            external_sub_id=mappings[r.variant_id].external_sub_id,
            quantity=atp.get(r.variant_id, 0),
            compare_quantity=remote.get(r.variant_id) if connector.compare_and_swap else None,
        )
        for r in rows
    ]
    report.calls += 1
    try:
        outcomes = connector.push_quantities(updates)
    except RateLimited as limited:
        report.throttled += 1
        breaker_record(connection_id=connection.pk, throttled=1)
        _release(rows, delay_s=limited.retry_after)
        return "throttled"
    except RemoteError as error:
        report.failed += 1
        outcomes = [PushOutcome(sku=u.sku, ok=False, error=error) for u in updates]
    ok = [o for o in outcomes if o.ok]
    down = [
        o
        for o in outcomes
        if o.error is not None and o.error.retryable and not isinstance(o.error, CompareMismatch)
    ]
    refused = [o for o in outcomes if not o.ok and o not in down]
    first_error = next((o.error.message for o in outcomes if o.error is not None), "")
    now = timezone.now()
    quantities = {u.sku: u.quantity for u in updates}
    done = [(by_sku[o.sku], quantities[o.sku]) for o in ok]
    lag_ms = max(
        (int((now - r.first_changed_at).total_seconds() * 1000) for r, _ in done), default=None
    )
    state = breaker_record(
        connection_id=connection.pk,
        ok=len(ok),
        failed=len(down),
        rejected=len(refused),
        error=first_error,
        lag_ms=lag_ms,
    )
    if done:
        _settle(connection=connection, done=done, now=now)
        report.pushed += len(done)
    for outcome in down + refused:
        row = by_sku[outcome.sku]
        assert outcome.error is not None
        report.failed += 0 if isinstance(outcome.error, CompareMismatch) else 1
        if isinstance(outcome.error, CompareMismatch):
            # Someone else changed it there: learn its value, set ours again at once.
            if outcome.error.actual is not None:
                _remember(connection, row.variant_id, outcome.error.actual)
            _retry_or_bury(
                connection=connection, row=row, error=outcome.error, sku=outcome.sku, delay_s=0
            )
        elif outcome.error.retryable and (probe or state != BreakerState.CLOSED):
            # The platform is down, not this SKU: the change waits for the breaker
            # without spending one of its attempts (an outage never dead-letters it).
            _release([row], delay_s=0)
        else:
            _retry_or_bury(connection=connection, row=row, error=outcome.error, sku=outcome.sku)
    return state


def _settle(
    *, connection: Connection, done: list[tuple[PendingStockPush, int]], now: datetime
) -> None:
    """Record what the marketplace now shows; drop rows that did not change meanwhile."""
    RemoteQuantity.objects.bulk_create(
        [
            RemoteQuantity(
                connection=connection, variant_id=row.variant_id, quantity=qty, pushed_at=now
            )
            for row, qty in done
        ],
        update_conflicts=True,
        unique_fields=["connection", "variant"],
        update_fields=["quantity", "pushed_at"],
    )
    pushed = {row.pk: row.version for row, _ in done}
    with transaction.atomic():
        current = dict(
            PendingStockPush.objects.select_for_update()
            .filter(pk__in=list(pushed))
            .order_by("pk")
            .values_list("pk", "version")
        )
        unchanged = [pk for pk, version in current.items() if pushed[pk] == version]
        if unchanged:
            PendingStockPush.objects.filter(pk__in=unchanged).delete()
        if len(unchanged) < len(current):
            # Changed again while we pushed: push the newer quantity with the next call.
            PendingStockPush.objects.filter(pk__in=list(current)).exclude(pk__in=unchanged).update(
                claimed_until=None, attempts=0, first_changed_at=now, due_at=now
            )


def _remember(connection: Connection, variant_id: int, quantity: int) -> None:
    RemoteQuantity.objects.update_or_create(
        connection=connection,
        variant_id=variant_id,
        defaults={"quantity": quantity, "pushed_at": timezone.now()},
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
    """Seconds until the earliest pending push may go (None when nothing is pending).

    Rows another worker has claimed are its business; rows of a connection whose
    breaker is open are due when its probe is.
    """
    now = timezone.now()
    waiting = _waiting_on_breaker(now)
    first = (
        PendingStockPush.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), connection__enabled=True
        )
        .exclude(waiting)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    probe = (
        PendingStockPush.objects.filter(waiting, connection__enabled=True)
        .order_by("connection__breaker_retry_at")
        .values_list("connection__breaker_retry_at", flat=True)
        .first()
    )
    moments = [m for m in (first, probe) if m is not None]
    if not moments:
        return None
    return max(0.0, (min(moments) - now).total_seconds())


def stock_resync(*, connection: Connection) -> int:
    """Mark every listed variant dirty: the next push sets the whole catalog there."""
    variant_ids = list(
        ListingMapping.objects.filter(connection=connection).values_list("variant_id", flat=True)
    )
    for variant_id in variant_ids:
        pending_mark(connection_id=connection.pk, variant_id=variant_id)
    return len(variant_ids)
