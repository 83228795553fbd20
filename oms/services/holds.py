"""Holds: units set aside with an expiry (checkout, live drop, sales-channel listing)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from hub.kernel.audit import audit_record
from hub.kernel.errors import InvalidTransition
from hub.kernel.ids import opaque_token
from hub.kernel.states import require_transition
from hub.observability import HOLDS_CREATED, STOCK_REJECTIONS
from oms.errors import HoldNotActive, InvalidInput, OutOfStock
from oms.models import (
    Hold,
    HoldLine,
    Location,
    Order,
    ProductVariant,
    SalesChannel,
    StockLevel,
)
from oms.routing import (
    Placement,
    ShipTo,
    candidate_locations,
    plan_placements,
    route_candidates,
    shortage,
)
from oms.services.stock import LedgerEntry, StockDelta, stock_move, stock_move_many
from oms.states import HOLD_TRANSITIONS, HoldStatus

MAX_HOLD_SECONDS = 24 * 3600
MAX_LINE_QUANTITY = 10_000
#: re-plans after a concurrent buyer took the planned units at one location
ROUTING_ATTEMPTS = 3
#: holds per ``hold_create_many`` call (one transaction, one audit entry)
MAX_BATCH = 1000
#: expired holds swept in place by one batch that found its units pinned by them
SWEEP_LIMIT = 500


def validate_quantities(quantities: dict[ProductVariant, int]) -> None:
    if not quantities:
        raise InvalidInput("at least one line is required")
    for variant, quantity in quantities.items():
        if not isinstance(quantity, int) or quantity <= 0:
            raise InvalidInput(f"quantity for {variant.sku} must be a positive integer")
        if quantity > MAX_LINE_QUANTITY:
            raise InvalidInput(f"quantity for {variant.sku} exceeds {MAX_LINE_QUANTITY}")


def transition_hold(*, hold: Hold, target: str) -> None:
    """Move a hold with a compare-and-set on its status, so two movers cannot both win."""
    require_transition(HOLD_TRANSITIONS, aggregate="hold", current=hold.status, target=target)
    moved = Hold.objects.filter(pk=hold.pk, status=hold.status).update(status=target)
    if not moved:
        current = Hold.objects.values_list("status", flat=True).get(pk=hold.pk)
        raise InvalidTransition("hold", current, target)
    hold.status = target


def hold_create(
    *,
    sales_channel: SalesChannel,
    quantities: dict[ProductVariant, int],
    kind: str = Hold.Kind.CHECKOUT,
    owner: User | None = None,
    ttl_seconds: int,
    method: str = Order.FulfilmentMethod.SHIP,
    pickup_location: Location | None = None,
    ship_to: ShipTo | None = None,
    reference: str = "",
    actor: User | None = None,
) -> Hold:
    """Reserve the units where routing places them, or raise ``OutOfStock``; all or nothing.

    A batch of one on the ``hold_create_many`` machinery (``_reserve_requests``), with the
    routing of the order's method and address: one read of the stock rows, one
    conditional UPDATE per row, bulk INSERTs of the ledger and the hold's lines, and one
    audit entry (``hold.created``). Expired holds are looked at only when the hold cannot
    be placed whole at its first-choice location.
    """
    validate_quantities(quantities)
    if not 1 <= ttl_seconds <= MAX_HOLD_SECONDS:
        raise InvalidInput(f"ttl_seconds must be between 1 and {MAX_HOLD_SECONDS}")
    candidates, allow_split = route_candidates(
        sales_channel=sales_channel, method=method, pickup_location=pickup_location, ship_to=ship_to
    )
    location_ids = [loc.pk for loc in candidates]
    request = HoldRequest(
        quantities={v.pk: q for v, q in quantities.items()},
        owner_id=owner.pk if owner is not None else None,
        reference=reference,
    )
    token = opaque_token(12)
    now = timezone.now()
    hold: Hold | None = None
    with transaction.atomic():
        outcome = _reserve_requests(
            requests=[request],
            tokens=[token],
            location_ids=location_ids,
            allow_split=allow_split,
            keep_free=sales_channel.safety_stock,
            now=now,
            actor=actor,
        )
        (plan,) = outcome.plans
        if plan is not None:
            hold = Hold.objects.create(
                token=token,
                sales_channel=sales_channel,
                kind=kind,
                owner=owner,
                reference=reference,
                expires_at=now + timedelta(seconds=ttl_seconds),
            )
            HoldLine.objects.bulk_create(
                [
                    HoldLine(
                        hold=hold, variant_id=p.variant_id, location_id=p.location_id,
                        quantity=p.quantity,
                    )
                    for p in plan
                ]
            )  # fmt: skip
            audit_record(
                kind="hold.created",
                aggregate_type="hold",
                aggregate_id=hold.token,
                actor_id=actor.pk if actor else None,
                payload={
                    "sales_channel": sales_channel.code,
                    "kind": kind,
                    "expires_at": hold.expires_at.isoformat(),
                    "lines": [[p.variant_id, p.location_id, p.quantity] for p in plan],
                    "expired": outcome.expired,
                },
            )
        elif outcome.expired:
            _audit_swept(outcome.expired, sales_channel=sales_channel, actor=actor)
    if hold is None:
        STOCK_REJECTIONS.inc()
        if plan_placements(request.quantities, outcome.free, location_ids, allow_split):
            # The rows it last planned from had the units: concurrent buyers took them.
            raise OutOfStock(
                "the requested units were taken by other buyers", requested=len(quantities)
            )
        raise shortage(quantities, outcome.free, candidates)
    HOLDS_CREATED.labels(kind=kind).inc()
    return hold


def _audit_swept(expired: list[str], *, sales_channel: SalesChannel, actor: User | None) -> None:
    """The audit entry of holds expired in place by a request that was refused anyway."""
    audit_record(
        kind="hold.batch_expired",
        aggregate_type="hold_batch",
        aggregate_id=expired[0],
        actor_id=actor.pk if actor else None,
        payload={"sales_channel": sales_channel.code, "expired": expired},
    )


def _give_back(*, hold: Hold, target: str, actor: User | None) -> None:
    transition_hold(hold=hold, target=target)
    for line in hold.lines.all():
        stock_move(
            variant_id=line.variant_id,
            location_id=line.location_id,
            delta=StockDelta(reserved=-line.quantity),
            kind="release",
            reference=f"hold:{hold.token}",
            reason=target,
            actor=actor,
        )
    audit_record(
        kind=f"hold.{target}",
        aggregate_type="hold",
        aggregate_id=hold.token,
        actor_id=actor.pk if actor else None,
        payload={},
    )


def hold_release(*, hold: Hold, actor: User | None = None) -> Hold:
    """Give a hold's units back now (checkout abandoned, buyer changed their mind)."""
    with transaction.atomic():
        if hold.status != HoldStatus.ACTIVE:
            raise HoldNotActive(f"hold is {hold.status}, not active", status=hold.status)
        _give_back(hold=hold, target=HoldStatus.RELEASED, actor=actor)
    return hold


def hold_expire_due(*, variant_ids: Iterable[int] | None = None, limit: int = 500) -> int:
    """Expire active holds past their time and return their units; returns how many."""
    due = Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=timezone.now())
    if variant_ids is not None:
        due = due.filter(lines__variant_id__in=list(variant_ids)).distinct()
    expired = 0
    for hold in due.order_by("expires_at")[:limit]:
        try:
            with transaction.atomic():
                _give_back(hold=hold, target=HoldStatus.EXPIRED, actor=None)
        except InvalidTransition:
            continue  # converted or released meanwhile: nothing to give back
        expired += 1
    return expired


def hold_convert(*, hold: Hold, reference: str, actor: User | None) -> list[HoldLine]:
    """Turn a hold's reservations into allocations (the order was paid)."""
    if hold.status != HoldStatus.ACTIVE:
        raise HoldNotActive(f"hold is {hold.status}, not active", status=hold.status)
    if hold.expires_at <= timezone.now():
        raise HoldNotActive("hold has expired", status=HoldStatus.EXPIRED)
    transition_hold(hold=hold, target=HoldStatus.CONVERTED)
    lines = list(hold.lines.all())
    for line in lines:
        stock_move(
            variant_id=line.variant_id,
            location_id=line.location_id,
            delta=StockDelta(reserved=-line.quantity, allocated=line.quantity),
            kind="allocate",
            reference=reference,
            actor=actor,
        )
    audit_record(
        kind="hold.converted",
        aggregate_type="hold",
        aggregate_id=hold.token,
        actor_id=actor.pk if actor else None,
        payload={"reference": reference},
    )
    return lines


# ---- batches: many holds in one transaction ------------------------------------------------


@dataclass(frozen=True)
class HoldRequest:
    """One all-or-nothing hold of a batch: variant id -> units, for one owner."""

    quantities: Mapping[int, int]
    owner_id: int | None = None
    reference: str = ""


def _validate_batch(requests: Sequence[HoldRequest], ttl_seconds: int) -> None:
    if not 1 <= len(requests) <= MAX_BATCH:
        raise InvalidInput(f"a batch holds 1-{MAX_BATCH} requests")
    if not 1 <= ttl_seconds <= MAX_HOLD_SECONDS:
        raise InvalidInput(f"ttl_seconds must be between 1 and {MAX_HOLD_SECONDS}")
    for request in requests:
        if not request.quantities:
            raise InvalidInput("at least one line is required")
        for variant_id, quantity in request.quantities.items():
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
                raise InvalidInput(f"quantity for variant {variant_id} must be a positive integer")
            if quantity > MAX_LINE_QUANTITY:
                raise InvalidInput(f"quantity for variant {variant_id} exceeds {MAX_LINE_QUANTITY}")


def plan_batch(
    *,
    requests: Sequence[HoldRequest],
    free: dict[tuple[int, int], int],
    location_ids: Sequence[int],
    allow_split: bool,
) -> list[list[Placement] | None]:
    """Place requests in order against ``free`` (which it decrements); ``None`` = refused.

    Each request gets the routing rule of ``route_order`` (``plan_placements``): the first
    location in ``location_ids`` order that can fill the whole request, else, if the sales
    channel allows it, a split across locations in the same order.
    """
    plans: list[list[Placement] | None] = []
    for request in requests:
        plan = plan_placements(request.quantities, free, location_ids, allow_split)
        if plan is not None:
            for placement in plan:
                free[(placement.variant_id, placement.location_id)] -= placement.quantity
        plans.append(plan)
    return plans


def _first_choice(plan: list[Placement] | None, location_ids: Sequence[int]) -> bool:
    """Placed whole at the best-ranked location: expired holds could not change the plan."""
    return plan is not None and all(p.location_id == location_ids[0] for p in plan)


def _free_rows(
    variant_ids: Iterable[int], location_ids: Iterable[int], keep_free: int
) -> dict[tuple[int, int], int]:
    """Free units per row now (expired holds still count: they are swept, not assumed)."""
    rows = StockLevel.objects.filter(
        variant_id__in=list(variant_ids), location_id__in=list(location_ids)
    ).values_list("variant_id", "location_id", "on_hand", "allocated", "reserved")
    return {(v, loc): max(0, oh - al - re - keep_free) for v, loc, oh, al, re in rows}


def _expire_pinning(variant_ids: Iterable[int], now: datetime) -> list[str]:
    """Expire, in the caller's transaction, active holds past their time on these variants.

    Only called when a request was not placed whole at its first-choice location, so the
    common case (enough free units there) never looks at expired holds. Holds being
    converted right now are skipped (``SKIP LOCKED``); no audit entry here: the caller's
    single entry lists them.
    """
    due = list(
        Hold.objects.filter(
            status=HoldStatus.ACTIVE,
            expires_at__lte=now,
            lines__variant_id__in=list(variant_ids),
        )
        .values_list("pk", flat=True)
        .distinct()[:SWEEP_LIMIT]
    )
    if not due:
        return []
    require_transition(
        HOLD_TRANSITIONS, aggregate="hold", current=HoldStatus.ACTIVE, target=HoldStatus.EXPIRED
    )
    holds = list(
        Hold.objects.select_for_update(skip_locked=True)
        .filter(pk__in=due, status=HoldStatus.ACTIVE, expires_at__lte=now)
        .order_by("pk")
    )
    if not holds:
        return []
    Hold.objects.filter(pk__in=[h.pk for h in holds], status=HoldStatus.ACTIVE).update(
        status=HoldStatus.EXPIRED
    )
    tokens = {h.pk: h.token for h in holds}
    entries = [
        LedgerEntry(
            variant_id=line.variant_id,
            location_id=line.location_id,
            delta=StockDelta(reserved=-line.quantity),
            reference=f"hold:{tokens[line.hold_id]}",
            reason=HoldStatus.EXPIRED,
        )
        for line in HoldLine.objects.filter(hold_id__in=tokens)
    ]
    if entries and stock_move_many(entries=entries, kind="release") is None:
        raise RuntimeError("an expired hold's reserved units are missing from its stock row")
    return list(tokens.values())


def hold_create_many(
    *,
    sales_channel: SalesChannel,
    requests: Sequence[HoldRequest],
    kind: str = Hold.Kind.CHECKOUT,
    ttl_seconds: int,
    actor: User | None = None,
) -> list[Hold | OutOfStock]:
    """Make many holds in one transaction; each request is all or nothing on its own.

    Returns, per request in order, its ``Hold`` or the ``OutOfStock`` that refused it.
    Costs a fixed number of statements per batch, not per hold: one read of the stock
    rows, one conditional UPDATE per stock row touched (the ``stock_move`` guard, CHECK
    constraints behind it), bulk INSERTs of holds, lines and ledger rows, and one audit
    entry (``hold.batch_created``) listing every hold, so the audit chain head is locked
    once per batch. Expired holds are looked at only when some request is not placed
    whole at its first-choice location.
    A concurrent writer taking the planned units makes a row's UPDATE match nothing: the
    batch re-plans from fresh rows, and after ``ROUTING_ATTEMPTS`` places the requests
    one at a time, so progress never depends on winning a race for the whole batch.
    """
    _validate_batch(requests, ttl_seconds)
    locations = candidate_locations(
        sales_channel=sales_channel, method=Order.FulfilmentMethod.SHIP, ship_to=None
    )
    tokens = [opaque_token(12) for _ in requests]
    now = timezone.now()
    with transaction.atomic():
        outcome = _reserve_requests(
            requests=requests,
            tokens=tokens,
            location_ids=[loc.pk for loc in locations],
            allow_split=sales_channel.allow_split,
            keep_free=sales_channel.safety_stock,
            now=now,
            actor=actor,
        )
        results = _write_holds(
            sales_channel=sales_channel,
            requests=requests,
            tokens=tokens,
            plans=outcome.plans,
            kind=kind,
            expires_at=now + timedelta(seconds=ttl_seconds),
            expired=outcome.expired,
            actor=actor,
        )
    made = sum(isinstance(r, Hold) for r in results)
    if made:
        HOLDS_CREATED.labels(kind=kind).inc(made)
    if made < len(results):
        STOCK_REJECTIONS.inc(len(results) - made)
    return results


@dataclass
class _Reservation:
    #: per request, its reserved placements or ``None`` (refused)
    plans: list[list[Placement] | None]
    #: tokens of the expired holds swept in place (this transaction)
    expired: list[str]
    #: free units per row that the last plan was made from
    free: dict[tuple[int, int], int]


def _reserve_requests(
    *,
    requests: Sequence[HoldRequest],
    tokens: Sequence[str],
    location_ids: Sequence[int],
    allow_split: bool,
    keep_free: int,
    now: datetime,
    actor: User | None,
) -> _Reservation:
    """Plan and reserve requests in the caller's transaction (``hold_create`` and
    ``hold_create_many``); writes the ledger, not the holds.

    Expired holds are looked at only when a request is not placed whole at its
    first-choice location (refused, split or sent further away): then the active holds
    past their time on its variants are expired here and the requests re-planned, so the
    routing choice is the one it would be had they been swept already.
    """
    if not location_ids:
        return _Reservation([None] * len(requests), [], {})
    variant_ids = sorted({v for r in requests for v in r.quantities})
    expired: list[str] = []
    swept = False
    free: dict[tuple[int, int], int] = {}
    for _attempt in range(ROUTING_ATTEMPTS):
        free = _free_rows(variant_ids, location_ids, keep_free)
        candidate = plan_batch(
            requests=requests, free=dict(free), location_ids=location_ids, allow_split=allow_split
        )
        if not swept:
            unsettled = {
                v
                for r, p in zip(requests, candidate, strict=True)
                if not _first_choice(p, location_ids)
                for v in r.quantities
            }
            if unsettled:
                swept = True
                pinned = _expire_pinning(unsettled, now)
                if pinned:
                    expired += pinned
                    continue  # re-plan with the units they gave back
        entries = _ledger(tokens, candidate)
        if not entries or stock_move_many(
            entries=entries, kind="reserve", keep_free=keep_free, actor=actor
        ):
            return _Reservation(candidate, expired, free)
    plans, free = _place_each(
        requests=requests,
        tokens=tokens,
        location_ids=location_ids,
        allow_split=allow_split,
        keep_free=keep_free,
        actor=actor,
    )
    return _Reservation(plans, expired, free)


def _ledger(tokens: Sequence[str], plans: Sequence[list[Placement] | None]) -> list[LedgerEntry]:
    return [
        LedgerEntry(
            variant_id=p.variant_id,
            location_id=p.location_id,
            delta=StockDelta(reserved=p.quantity),
            reference=f"hold:{token}",
        )
        for token, plan in zip(tokens, plans, strict=True)
        if plan is not None
        for p in plan
    ]


def _place_each(
    *,
    requests: Sequence[HoldRequest],
    tokens: Sequence[str],
    location_ids: Sequence[int],
    allow_split: bool,
    keep_free: int,
    actor: User | None,
) -> tuple[list[list[Placement] | None], dict[tuple[int, int], int]]:
    """Last resort under heavy contention: plan and reserve one request at a time."""
    plans: list[list[Placement] | None] = []
    free: dict[tuple[int, int], int] = {}
    for request, token in zip(requests, tokens, strict=True):
        free = _free_rows(request.quantities, location_ids, keep_free)
        (plan,) = plan_batch(
            requests=[request], free=dict(free), location_ids=location_ids, allow_split=allow_split
        )
        if plan is not None and not stock_move_many(
            entries=_ledger([token], [plan]), kind="reserve", keep_free=keep_free, actor=actor
        ):
            plan = None
        plans.append(plan)
    return plans, free


def _write_holds(
    *,
    sales_channel: SalesChannel,
    requests: Sequence[HoldRequest],
    tokens: Sequence[str],
    plans: Sequence[list[Placement] | None],
    kind: str,
    expires_at: datetime,
    expired: list[str],
    actor: User | None,
) -> list[Hold | OutOfStock]:
    """Insert the placed holds and their lines in bulk; append the batch's audit entry."""
    placed = [
        (Hold(token=token, sales_channel=sales_channel, kind=kind, owner_id=request.owner_id,
              reference=request.reference, expires_at=expires_at), plan)
        for request, token, plan in zip(requests, tokens, plans, strict=True)
        if plan is not None
    ]  # fmt: skip
    Hold.objects.bulk_create([hold for hold, _plan in placed], batch_size=500)
    HoldLine.objects.bulk_create(
        [
            HoldLine(
                hold=hold, variant_id=p.variant_id, location_id=p.location_id, quantity=p.quantity
            )
            for hold, plan in placed
            for p in plan
        ],
        batch_size=500,
    )
    reserved: dict[tuple[int, int], int] = defaultdict(int)
    for _hold, plan in placed:
        for p in plan:
            reserved[(p.variant_id, p.location_id)] += p.quantity
    if placed or expired:
        audit_record(
            kind="hold.batch_created",
            aggregate_type="hold_batch",
            aggregate_id=placed[0][0].token if placed else expired[0],
            actor_id=actor.pk if actor else None,
            payload={
                "sales_channel": sales_channel.code,
                "kind": kind,
                "expires_at": expires_at.isoformat(),
                "holds": [
                    [hold.token, hold.owner_id, hold.reference,
                     [[p.variant_id, p.location_id, p.quantity] for p in plan]]
                    for hold, plan in placed
                ],
                "reserved": [[v, loc, q] for (v, loc), q in sorted(reserved.items())],
                "expired": expired,
                "refused": sum(plan is None for plan in plans),
            },
        )  # fmt: skip
    holds = iter(hold for hold, _plan in placed)
    skus: dict[int, str] = {}
    if len(placed) < len(plans):
        refused = {
            v for r, p in zip(requests, plans, strict=True) if p is None for v in r.quantities
        }
        skus = dict(ProductVariant.objects.filter(pk__in=refused).values_list("pk", "sku"))
    results: list[Hold | OutOfStock] = []
    for request, planned in zip(requests, plans, strict=True):
        if planned is None:
            wanted = ", ".join(f"{q} of {skus.get(v, v)}" for v, q in request.quantities.items())
            results.append(OutOfStock(f"not enough units for {wanted}", requested=wanted))
        else:
            results.append(next(holds))
    return results
