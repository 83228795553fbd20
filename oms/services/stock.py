"""Stock movements: the only code that changes ``StockLevel`` rows.

Every movement is one conditional ``UPDATE ... WHERE`` that checks the invariant in
the database (no read-then-write), plus a ledger row and an audit entry in the same
transaction. On PostgreSQL the UPDATE re-checks its WHERE against the newest row
version after waiting for a concurrent writer; on SQLite writers are serialised by
``BEGIN IMMEDIATE``. Either way two buyers can never both take the last unit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from hub.kernel.audit import audit_record
from hub.kernel.outbox import outbox_publish
from oms.errors import InvalidInput, OutOfStock
from oms.models import Location, ProductVariant, StockLevel, StockMovement

Kind = StockMovement.Kind


@dataclass(frozen=True)
class StockDelta:
    on_hand: int = 0
    allocated: int = 0
    reserved: int = 0

    @property
    def free(self) -> int:
        return self.on_hand - self.allocated - self.reserved


def _move_row(variant_id: int, location_id: int, delta: StockDelta, keep_free: int) -> bool:
    """The one conditional UPDATE: applies ``delta`` only if the row stays valid."""
    conditions: dict[str, object] = {}
    if delta.on_hand < 0:
        conditions["on_hand__gte"] = -delta.on_hand
    if delta.allocated < 0:
        conditions["allocated__gte"] = -delta.allocated
    if delta.reserved < 0:
        conditions["reserved__gte"] = -delta.reserved
    if delta.free < 0:
        # free after the move must stay >= keep_free:
        # on_hand + d_oh - (allocated + d_al) - (reserved + d_re) >= keep_free
        conditions["on_hand__gte"] = F("allocated") + F("reserved") + (keep_free - delta.free)
    updated = StockLevel.objects.filter(
        variant_id=variant_id, location_id=location_id, **conditions
    ).update(
        on_hand=F("on_hand") + delta.on_hand,
        allocated=F("allocated") + delta.allocated,
        reserved=F("reserved") + delta.reserved,
    )
    return bool(updated)


def stock_move(
    *,
    variant_id: int,
    location_id: int,
    delta: StockDelta,
    kind: str,
    reference: str = "",
    reason: str = "",
    keep_free: int = 0,
    actor: User | None = None,
) -> bool:
    """Apply ``delta`` if the row stays valid; return False (and write nothing) if not.

    ``keep_free`` is a safety buffer that must remain free after a move that takes
    free units (a sales channel's safety stock).
    """
    if not _move_row(variant_id, location_id, delta, keep_free):
        return False
    actor_id = actor.pk if actor is not None else None
    StockMovement.objects.create(
        variant_id=variant_id,
        location_id=location_id,
        kind=kind,
        on_hand_delta=delta.on_hand,
        allocated_delta=delta.allocated,
        reserved_delta=delta.reserved,
        reference=reference,
        reason=reason,
        actor_id=actor_id,
    )
    audit_record(
        kind=f"stock.{kind}",
        aggregate_type="stock",
        aggregate_id=f"{variant_id}@{location_id}",
        actor_id=actor_id,
        payload={
            "on_hand": delta.on_hand,
            "allocated": delta.allocated,
            "reserved": delta.reserved,
            "reference": reference,
        },
    )
    if delta.free:
        outbox_publish(
            topic="stock.changed", payload={"variant_id": variant_id, "location_id": location_id}
        )
    return True


@dataclass(frozen=True)
class LedgerEntry:
    """One movement of a batch: its own ledger row, summed with the others per stock row."""

    variant_id: int
    location_id: int
    delta: StockDelta
    reference: str = ""
    reason: str = ""


class _RowRefused(Exception):
    """A row of the batch would break the invariant; the savepoint rolls the batch back."""


def stock_move_many(
    *,
    entries: Sequence[LedgerEntry],
    kind: str,
    keep_free: int = 0,
    actor: User | None = None,
) -> dict[tuple[int, int], StockDelta] | None:
    """Apply many movements of one kind: one conditional UPDATE per stock row; all or nothing.

    The entries are summed per (variant, location) and each row is moved once, with the
    same ``WHERE`` guard as ``stock_move`` (and the same CHECK constraints behind it), in
    ascending (variant, location) order so concurrent batches lock rows in one order.
    Every entry still gets its own ledger row (one bulk INSERT). Returns the applied
    totals per row, or ``None`` (and writes nothing) if any row would become invalid.
    The caller appends one audit entry for the whole batch (``hold_create``,
    ``hold_create_many``).
    """
    totals: dict[tuple[int, int], StockDelta] = {}
    sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for entry in entries:
        row = sums[(entry.variant_id, entry.location_id)]
        row[0] += entry.delta.on_hand
        row[1] += entry.delta.allocated
        row[2] += entry.delta.reserved
    for key in sorted(sums):
        on_hand, allocated, reserved = sums[key]
        totals[key] = StockDelta(on_hand=on_hand, allocated=allocated, reserved=reserved)
    if len(totals) == 1:
        # One row: an UPDATE that matches nothing changed nothing, no savepoint needed.
        ((variant_id, location_id), delta), *_ = totals.items()
        if not _move_row(variant_id, location_id, delta, keep_free):
            return None
    else:
        try:
            with transaction.atomic():
                for (variant_id, location_id), delta in totals.items():
                    if not _move_row(variant_id, location_id, delta, keep_free):
                        raise _RowRefused
        except _RowRefused:
            return None
    actor_id = actor.pk if actor is not None else None
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                variant_id=e.variant_id,
                location_id=e.location_id,
                kind=kind,
                on_hand_delta=e.delta.on_hand,
                allocated_delta=e.delta.allocated,
                reserved_delta=e.delta.reserved,
                reference=e.reference,
                reason=e.reason,
                actor_id=actor_id,
            )
            for e in entries
        ],
        batch_size=500,
    )
    for (variant_id, location_id), delta in totals.items():
        if delta.free:
            outbox_publish(
                topic="stock.changed",
                payload={"variant_id": variant_id, "location_id": location_id},
            )
    return totals


def stock_receive(
    *,
    variant: ProductVariant,
    location: Location,
    quantity: int,
    reason: str = "",
    reference: str = "",
    actor: User | None = None,
) -> StockLevel:
    """Goods arrived at a location (purchase delivery, transfer, initial count)."""
    if quantity <= 0:
        raise InvalidInput("quantity must be a positive number of units")
    with transaction.atomic():
        StockLevel.objects.get_or_create(variant=variant, location=location)
        stock_move(
            variant_id=variant.pk,
            location_id=location.pk,
            delta=StockDelta(on_hand=quantity),
            kind=Kind.RECEIVE,
            reason=reason,
            reference=reference,
            actor=actor,
        )
        return StockLevel.objects.get(variant=variant, location=location)


def stock_adjust(
    *,
    variant: ProductVariant,
    location: Location,
    delta: int,
    reason: str,
    actor: User | None = None,
) -> StockLevel:
    """Correct on-hand after a count; refused if it would take promised units."""
    if delta == 0:
        raise InvalidInput("an adjustment must change the quantity")
    if not reason.strip():
        raise InvalidInput("an adjustment needs a reason")
    with transaction.atomic():
        StockLevel.objects.get_or_create(variant=variant, location=location)
        moved = stock_move(
            variant_id=variant.pk,
            location_id=location.pk,
            delta=StockDelta(on_hand=delta),
            kind=Kind.ADJUST,
            reason=reason,
            actor=actor,
        )
        if not moved:
            raise OutOfStock(
                f"cannot remove {-delta} of {variant.sku} at {location.code}: "
                "units are allocated or held",
                sku=variant.sku,
                location=location.code,
            )
        return StockLevel.objects.get(variant=variant, location=location)
