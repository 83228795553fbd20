"""Flash drops and buy-now: a quota gate in front of ``oms`` holds.

Two gates with the same guarantees (no oversell, exact quota under excess demand,
per-buyer limit, idempotent retries):

* database (embedded default): one transaction locks the drop row, checks the quota and
  the buyer's units, makes the oms hold and writes the claim;
* Redis: one Lua script checks and takes, and appends the take to a stream in the same
  step; a drainer turns stream entries into claims and oms holds and acknowledges them,
  so a crash between the take and the hold loses nothing. ``drop_reconcile`` compares
  the counters with the database and repairs drift with a compare-and-set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from hub.kernel.audit import audit_record
from hub.kernel.effects import after_commit
from hub.kernel.errors import InvalidTransition
from hub.kernel.states import require_transition
from live import events, locks, quota
from live.errors import (
    BuyerLimitReached,
    DropNotOpen,
    GateUnavailable,
    InvalidMessage,
    NotAllowed,
    SoldOut,
)
from live.models import Drop, DropClaim, LineupItem, Show, WaitlistEntry
from live.selectors import can_host
from live.services.replay import replay_mark
from live.states import CLAIM_TRANSITIONS, DROP_TRANSITIONS, TAKING, ClaimStatus, DropStatus
from oms.errors import OutOfStock
from oms.models import Hold, ProductVariant
from oms.services.holds import HoldRequest, hold_create_many
from oms.states import HoldStatus

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 100
#: stream entries made durable per transaction (one hold batch, one audit-chain append)
DRAIN_BATCH = 250
#: a batch that lost a race for some of its claims retries without them this often
MATERIALISE_ATTEMPTS = 5
MAX_COUNTDOWN_SECONDS = 3600
MAX_DURATION_SECONDS = 24 * 3600


@dataclass(frozen=True)
class BuyResult:
    status: str  #: "held" (oms hold exists) or "reserved" (quota taken; hold follows)
    drop_id: int
    sku: str
    quantity: int
    expires_at: datetime
    hold: str | None  #: oms hold token once made
    left: int | None
    replayed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "drop": self.drop_id,
            "sku": self.sku,
            "quantity": self.quantity,
            "expires_at": self.expires_at.isoformat(),
            "hold": self.hold,
            "left": self.left,
            "replayed": self.replayed,
        }


def drop_state(drop: Drop, *, left: int | None = None) -> dict[str, Any]:
    """What viewers see of a drop (countdown, remaining units)."""
    if left is None:
        left = _left(drop)
    return {
        "id": drop.pk,
        "kind": drop.kind,
        "status": drop.status,
        "item": drop.item.label,
        "product": drop.item.product.name_en,
        "product_zh": drop.item.product.name_zh,
        "price": drop.price_amount,
        "quota": drop.quota,
        "left": left,
        "per_buyer_limit": drop.per_buyer_limit,
        "starts_at": drop.starts_at.isoformat(),
        "ends_at": drop.ends_at.isoformat() if drop.ends_at else None,
    }


def _left(drop: Drop) -> int:
    if drop.status != DropStatus.OPEN:
        return 0
    if quota.enabled():
        value = quota.left(drop_id=drop.pk)
        return value if value is not None else 0
    return drop.remaining


# ---- opening and closing ----------------------------------------------------------------


def drop_open(
    *,
    show: Show,
    item: LineupItem,
    actor: User,
    kind: str = Drop.Kind.FLASH,
    quota_units: int | None = None,
    price_amount: int | None = None,
    per_buyer_limit: int | None = None,
    countdown_seconds: int = 0,
    duration_seconds: int | None = None,
) -> Drop:
    """Start a drop on a line-up item (closing any other open drop of the same item)."""
    if not can_host(actor, show):
        raise NotAllowed(_("only the show's host may start a drop"))
    if item.show_id != show.pk:
        raise InvalidMessage(_("that product is not in this show's line-up"))
    units = item.quota if quota_units is None else quota_units
    price = item.live_price_amount if price_amount is None else price_amount
    limit = item.per_buyer_limit if per_buyer_limit is None else per_buyer_limit
    for name, value, low, high in (
        ("quota", units, 1, 1_000_000),
        ("price", price, 0, 10**12),
        ("per_buyer_limit", limit, 1, 1000),
        ("countdown", countdown_seconds, 0, MAX_COUNTDOWN_SECONDS),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidMessage(
                format_lazy(
                    _("{name} must be an integer between {low} and {high}"),
                    name=name,
                    low=low,
                    high=high,
                )
            )
    if duration_seconds is not None and not 1 <= duration_seconds <= MAX_DURATION_SECONDS:
        raise InvalidMessage(
            format_lazy(_("duration must be between 1 and {max} seconds"), max=MAX_DURATION_SECONDS)
        )
    now = timezone.now()
    starts = now + timedelta(seconds=countdown_seconds)
    with transaction.atomic():
        for old in Drop.objects.filter(item=item, status=DropStatus.OPEN):
            _close(drop=old, actor=actor)
        drop = Drop.objects.create(
            show=show,
            item=item,
            kind=kind,
            price_amount=price,
            quota=units,
            remaining=units,
            per_buyer_limit=limit,
            hold_seconds=settings.LIVEHUB_LIVE_HOLD_SECONDS,
            starts_at=starts,
            ends_at=starts + timedelta(seconds=duration_seconds) if duration_seconds else None,
        )
        audit_record(
            kind="live.drop.opened",
            aggregate_type="live_drop",
            aggregate_id=drop.pk,
            actor_id=actor.pk,
            payload={"show": show.code, "item": item.label, "quota": units, "price": price},
        )
        if quota.enabled():
            quota.open_gate(drop_id=drop.pk, remaining=units)
        state = drop_state(drop, left=units)
        after_commit(lambda: events.broadcast(show.code, events.event("room.drop", drop=state)))
        if kind == Drop.Kind.FLASH:  # a pinned item's standing sale is marked by the pin
            replay_mark(show_id=show.pk, kind="drop", payload={
                "drop": drop.pk, "item": item.label, "price": price, "quota": units,
                "starts_at": starts.isoformat(),
            })  # fmt: skip
    return drop


def _close(*, drop: Drop, actor: User | None) -> None:
    require_transition(
        DROP_TRANSITIONS, aggregate="drop", current=drop.status, target=DropStatus.CLOSED
    )
    moved = Drop.objects.filter(pk=drop.pk, status=drop.status).update(status=DropStatus.CLOSED)
    if not moved:
        raise InvalidTransition("drop", "closed", DropStatus.CLOSED)
    drop.status = DropStatus.CLOSED
    audit_record(
        kind="live.drop.closed",
        aggregate_type="live_drop",
        aggregate_id=drop.pk,
        actor_id=actor.pk if actor else None,
        payload={},
    )
    if quota.enabled():
        drop_id = drop.pk
        after_commit(lambda: quota.close_gate(drop_id=drop_id))
    state = drop_state(drop, left=0)
    code = drop.show.code
    after_commit(lambda: events.broadcast(code, events.event("room.drop", drop=state)))


def drop_close(*, drop: Drop, actor: User | None) -> Drop:
    """End a drop: no more buys; existing holds keep their time."""
    if actor is not None and not can_host(actor, drop.show):
        raise NotAllowed(_("only the show's host may end a drop"))
    with transaction.atomic():
        drop = locks.lock_drop(drop.pk)
        _close(drop=drop, actor=actor)
    return drop


def drop_close_due() -> int:
    """Close drops whose duration ran out (beat)."""
    closed = 0
    for drop in Drop.objects.filter(status=DropStatus.OPEN, ends_at__lte=timezone.now()):
        try:
            drop_close(drop=drop, actor=None)
        except InvalidTransition:
            continue
        closed += 1
    return closed


# ---- buying ---------------------------------------------------------------------------


def _check_buy(*, drop: Drop, variant: ProductVariant, quantity: int, key: str) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise InvalidMessage(_("quantity must be a positive integer"))
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidMessage(
            format_lazy(
                _("an idempotency key of 1-{max} characters is required"), max=MAX_KEY_LENGTH
            )
        )
    if variant.product_id != drop.item.product_id:
        raise InvalidMessage(
            format_lazy(_("{sku} is not the product of this drop"), sku=variant.sku)
        )
    now = timezone.now()
    if drop.status != DropStatus.OPEN or (drop.ends_at and drop.ends_at <= now):
        raise DropNotOpen(_("this drop has ended"))
    if drop.starts_at > now:
        raise DropNotOpen(_("this drop has not started yet"), starts_at=drop.starts_at.isoformat())
    if quantity > drop.per_buyer_limit:
        raise BuyerLimitReached(
            format_lazy(_("at most {limit} per buyer"), limit=drop.per_buyer_limit)
        )


def _hold_for(*, drop: Drop, buyer: User, variant: ProductVariant, quantity: int) -> Hold:
    """The database gate's hold: a batch of one (same statements, same audit entry)."""
    (result,) = hold_create_many(
        sales_channel=drop.show.sales_channel,
        requests=[
            HoldRequest(
                quantities={variant.pk: quantity},
                owner_id=buyer.pk,
                reference=f"live-drop:{drop.pk}",
            )
        ],
        kind=Hold.Kind.LIVE_DROP,
        ttl_seconds=drop.hold_seconds,
        actor=buyer,
    )
    if isinstance(result, OutOfStock):
        raise result
    return result


def _result(claim: DropClaim, *, replayed: bool, left: int | None = None) -> BuyResult:
    hold = claim.hold
    expires = (
        hold.expires_at if hold else claim.created_at + timedelta(seconds=claim.drop.hold_seconds)
    )
    return BuyResult(
        status="held" if hold else "reserved",
        drop_id=claim.drop_id,
        sku=claim.variant.sku,
        quantity=claim.quantity,
        expires_at=expires,
        hold=hold.token if hold else None,
        left=left,
        replayed=replayed,
    )


def drop_buy(
    *, drop: Drop, buyer: User, variant: ProductVariant, quantity: int, key: str
) -> BuyResult:
    """Take ``quantity`` units of the drop for ``buyer`` once per ``key``."""
    _check_buy(drop=drop, variant=variant, quantity=quantity, key=key)
    if quota.enabled():
        return _buy_redis(drop=drop, buyer=buyer, variant=variant, quantity=quantity, key=key)
    return _buy_database(drop=drop, buyer=buyer, variant=variant, quantity=quantity, key=key)


def _buy_database(
    *, drop: Drop, buyer: User, variant: ProductVariant, quantity: int, key: str
) -> BuyResult:
    with transaction.atomic():
        locked = locks.lock_drop(drop.pk)
        prior = DropClaim.objects.filter(drop=locked, buyer=buyer, key=key).first()
        if prior is not None:
            return _result(prior, replayed=True, left=locked.remaining)
        if locked.status != DropStatus.OPEN:
            raise DropNotOpen(_("this drop has ended"))
        used = _units(locked, buyer.pk)
        if used + quantity > locked.per_buyer_limit:
            raise BuyerLimitReached(
                format_lazy(_("at most {limit} per buyer"), limit=locked.per_buyer_limit),
                already=used,
            )
        if locked.remaining < quantity:
            raise SoldOut(_("sold out"), left=locked.remaining)
        hold = _hold_for(drop=locked, buyer=buyer, variant=variant, quantity=quantity)
        Drop.objects.filter(pk=locked.pk).update(remaining=F("remaining") - quantity)
        claim = DropClaim.objects.create(
            drop=locked,
            buyer=buyer,
            key=key,
            variant=variant,
            quantity=quantity,
            status=ClaimStatus.HELD,
            hold=hold,
        )
        left = locked.remaining - quantity
        _announce_left(drop=locked, left=left)
        return _result(claim, replayed=False, left=left)


def _announce_drop(drop: Drop) -> None:
    code, state = drop.show.code, drop_state(drop)
    after_commit(lambda: events.broadcast(code, events.event("room.drop", drop=state)))


def _units(drop: Drop, buyer_id: int) -> int:
    taken = DropClaim.objects.filter(drop=drop, buyer_id=buyer_id, status__in=TAKING).aggregate(
        n=Sum("quantity")
    )["n"]
    return int(taken or 0)


def _announce_left(*, drop: Drop, left: int) -> None:
    code, drop_id = drop.show.code, drop.pk
    after_commit(
        lambda: events.broadcast(code, events.event("room.drop_left", drop=drop_id, left=left))
    )


def _buy_redis(
    *, drop: Drop, buyer: User, variant: ProductVariant, quantity: int, key: str
) -> BuyResult:
    took = quota.take(**_take_request(drop, buyer, variant, quantity, key))
    fresh = _taken(took, drop=drop, variant=variant, quantity=quantity)
    return fresh or _replayed(took, drop=drop, buyer=buyer, variant=variant, key=key)


async def drop_buy_async(
    *, drop: Drop, buyer: User, variant: ProductVariant, quantity: int, key: str
) -> BuyResult:
    """``drop_buy`` on the event loop through the Redis gate (``quota.enabled()`` only).

    The take is pipelined with the other buys of this process: no thread hop and no
    round trip of its own, so a burst of buys costs a few Redis round trips in all.
    """
    _check_buy(drop=drop, variant=variant, quantity=quantity, key=key)
    try:
        took = await quota.take_async(**_take_request(drop, buyer, variant, quantity, key))
    except RedisError:
        # taken or not, the same key replays the outcome once Redis answers again
        logger.warning("drop quota gate unavailable", extra={"drop": drop.pk}, exc_info=True)
        raise GateUnavailable(_("the sale did not answer; tap buy again")) from None
    fresh = _taken(took, drop=drop, variant=variant, quantity=quantity)
    if fresh is not None:
        return fresh
    return await database_sync_to_async(_replayed)(
        took, drop=drop, buyer=buyer, variant=variant, key=key
    )


def _take_request(
    drop: Drop, buyer: User, variant: ProductVariant, quantity: int, key: str
) -> dict[str, Any]:
    """The arguments of a Redis take (``quota.take`` / ``quota.take_async``)."""
    return {
        "drop_id": drop.pk,
        "buyer_id": buyer.pk,
        "key": key,
        "quantity": quantity,
        "limit": drop.per_buyer_limit,
        "variant_id": variant.pk,
    }


def _taken(
    took: quota.Take, *, drop: Drop, variant: ProductVariant, quantity: int
) -> BuyResult | None:
    """The answer to a Redis take; ``None`` for a replayed key (see ``_replayed``)."""
    if took.outcome == "closed":
        raise DropNotOpen(_("this drop has ended"))
    if took.outcome == "limit":
        raise BuyerLimitReached(
            format_lazy(_("at most {limit} per buyer"), limit=drop.per_buyer_limit),
            already=int(took.detail),
        )
    if took.outcome == "sold_out":
        raise SoldOut(_("sold out"), left=int(took.detail))
    if took.outcome == "replay":
        return None
    return BuyResult(
        status="reserved",
        drop_id=drop.pk,
        sku=variant.sku,
        quantity=quantity,
        expires_at=timezone.now() + timedelta(seconds=drop.hold_seconds),
        hold=None,
        left=took.left,
        replayed=False,
    )


def _replayed(
    took: quota.Take, *, drop: Drop, buyer: User, variant: ProductVariant, key: str
) -> BuyResult:
    """The first answer again: the claim once the drainer made it, else the Redis take."""
    prior = (
        DropClaim.objects.select_related("hold", "variant", "drop")
        .filter(drop=drop, buyer=buyer, key=key)
        .first()
    )
    if prior is not None:
        return _result(prior, replayed=True)
    return BuyResult(
        status="reserved",
        drop_id=drop.pk,
        sku=variant.sku,
        quantity=int(took.detail),
        expires_at=timezone.now() + timedelta(seconds=drop.hold_seconds),
        hold=None,
        left=None,
        replayed=True,
    )


# ---- the Redis stream drainer ------------------------------------------------------------


def drainer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class StreamTake:
    """One stream entry: a take the Lua gate acknowledged to a buyer."""

    buyer_id: int
    key: str
    variant_id: int
    quantity: int


def drop_claims_drain(*, drop_id: int, consumer: str | None = None, rounds: int = 50) -> int:
    """Turn stream entries of a drop into claims and oms holds; returns how many."""
    if not quota.enabled():
        return 0
    drop = Drop.objects.select_related("show__sales_channel", "item").get(pk=drop_id)
    name = consumer or drainer_name()
    done = 0
    for _round in range(rounds):
        entries = quota.read_claims(drop_id=drop_id, consumer=name, count=DRAIN_BATCH)
        if not entries:
            break
        takes = [
            StreamTake(
                buyer_id=int(f["buyer"]),
                key=f["key"],
                variant_id=int(f["variant"]),
                quantity=int(f["qty"]),
            )
            for _i, f in entries
        ]
        # One transaction and one hold batch per read: a flash sale's holds cost a
        # handful of statements and one audit-chain append per batch, not per buyer.
        # Entries are acknowledged only after commit (a crash re-delivers them, and the
        # unique (drop, buyer, key) claim makes the retry a no-op).
        drop_claims_materialise(drop=drop, takes=takes)
        quota.ack(drop_id=drop_id, ids=[entry_id for entry_id, _f in entries])
        done += len(entries)
    return done


def drop_claims_materialise(*, drop: Drop, takes: list[StreamTake]) -> list[DropClaim]:
    """Make Redis takes durable: claim rows and their oms holds, in one transaction.

    Idempotent per (drop, buyer, key): takes that already have a claim are left alone
    (a pending one, left by an older drainer, is finished). New claims are inserted with
    their final state after the hold batch; the unique (drop, buyer, key) constraint
    makes a concurrent drainer of the same entries fail and roll back everything it
    wrote (holds included), and its retry finds the claims. Takes whose units were given
    back already (a crash after the give-back) are rejected without trying again.
    """
    if not takes:
        return []
    for attempt in range(MATERIALISE_ATTEMPTS):
        try:
            return _materialise(drop, takes)
        except IntegrityError:
            # another drainer committed some of these claims first: they are found
            # (and skipped) on the next attempt, so each retry makes progress
            if attempt == MATERIALISE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _materialise(drop: Drop, takes: list[StreamTake]) -> list[DropClaim]:
    wanted = {(t.buyer_id, t.key): t for t in takes}
    with transaction.atomic():
        existing = {
            (c.buyer_id, c.key): c
            for c in DropClaim.objects.select_for_update()
            .filter(
                drop=drop, buyer_id__in={b for b, _k in wanted}, key__in={k for _b, k in wanted}
            )
            .order_by("pk")
            if (c.buyer_id, c.key) in wanted
        }
        todo = [
            existing.get(ident)
            or DropClaim(
                drop=drop, buyer_id=t.buyer_id, key=t.key, variant_id=t.variant_id,
                quantity=t.quantity, status=ClaimStatus.PENDING,
            )
            for ident, t in wanted.items()
            if ident not in existing or existing[ident].status == ClaimStatus.PENDING
        ]  # fmt: skip
        if not todo:
            return list(existing.values())
        given = (
            quota.given_back(drop_id=drop.pk, tokens=[_token(c) for c in todo])
            if quota.enabled()
            else set()
        )
        trying = [c for c in todo if _token(c) not in given]
        results: list[Hold | OutOfStock] = []
        if trying:
            results = hold_create_many(
                sales_channel=drop.show.sales_channel,
                requests=[
                    HoldRequest(
                        quantities={c.variant_id: c.quantity},
                        owner_id=c.buyer_id,
                        reference=f"live-drop:{drop.pk}",
                    )
                    for c in trying
                ],
                kind=Hold.Kind.LIVE_DROP,
                ttl_seconds=drop.hold_seconds,
            )
        outcome: dict[tuple[int, str], Hold | OutOfStock] = {
            (c.buyer_id, c.key): r for c, r in zip(trying, results, strict=True)
        }
        gone = OutOfStock("the units of this buy were given back")
        for claim in todo:
            result = outcome.get((claim.buyer_id, claim.key), gone)
            target = ClaimStatus.HELD if isinstance(result, Hold) else ClaimStatus.REJECTED
            require_transition(
                CLAIM_TRANSITIONS, aggregate="claim", current=claim.status, target=target
            )
            claim.status = target
            if isinstance(result, Hold):
                claim.hold = result
            else:
                claim.reason = result.message[:200]
        fresh = [c for c in todo if c.pk is None]
        for claim in todo:
            if claim.pk is not None:  # pending, left by an older drainer: rare
                claim.save(update_fields=["status", "hold", "reason"])
        # Inserting the claims takes ownership of the takes (unique per key): only then
        # are refused units given back, so two drainers can never both give back.
        DropClaim.objects.bulk_create(fresh, batch_size=500)
        refused = [c for c in todo if c.status == ClaimStatus.REJECTED and _token(c) not in given]
        for claim in refused if quota.enabled() else []:
            quota.give_back(
                drop_id=drop.pk, buyer_id=claim.buyer_id, quantity=claim.quantity,
                token=_token(claim),
            )  # fmt: skip
        _confirm(drop, todo, outcome)
    return list(existing.values()) + fresh


def _token(claim: DropClaim) -> str:
    """The give-back token of a claim (Redis ``given`` set): one give-back per take."""
    return f"{claim.buyer_id}:{claim.key}"


def _confirm(
    drop: Drop, claims: list[DropClaim], outcome: dict[tuple[int, str], Hold | OutOfStock]
) -> None:
    """Private confirmations to the buyers, sent together after commit."""
    skus = dict(
        ProductVariant.objects.filter(pk__in={c.variant_id for c in claims}).values_list(
            "pk", "sku"
        )
    )
    notices: list[tuple[int, dict[str, Any]]] = []
    for claim in claims:
        result = outcome.get((claim.buyer_id, claim.key))
        if isinstance(result, Hold):
            notice = events.private_message(
                "hold", drop=drop.pk, key=claim.key, hold=result.token,
                sku=skus[claim.variant_id], quantity=claim.quantity,
                expires_at=result.expires_at.isoformat(),
            )  # fmt: skip
        else:
            notice = events.private_message(
                "buy.failed", drop=drop.pk, key=claim.key, code=OutOfStock.code,
                message=claim.reason,
            )  # fmt: skip
        notices.append((claim.buyer_id, notice))
    code = drop.show.code
    batches = [
        events.private_events(notices[start : start + events.PRIVATE_PER_EVENT])
        for start in range(0, len(notices), events.PRIVATE_PER_EVENT)
    ]
    after_commit(lambda: _broadcast_all(code, batches))


def _claim_move(claim: DropClaim, target: str, *, reason: str = "") -> None:
    require_transition(CLAIM_TRANSITIONS, aggregate="claim", current=claim.status, target=target)
    claim.status = target
    claim.reason = reason[:200]
    claim.save(update_fields=["status", "reason", "hold"])


def _broadcast_all(code: str, payloads: list[dict[str, Any]]) -> None:
    """Publish a few events through one event loop (concurrent publishes, pipelined)."""

    async def send() -> None:
        await asyncio.gather(*(events.broadcast_async(code, p) for p in payloads))

    if payloads:
        async_to_sync(send)()


def _notify(drop: Drop, user_id: int, kind: str, /, **payload: Any) -> None:
    code = drop.show.code
    message = events.private_event(user_id, kind, **{"drop": drop.pk, **payload})
    after_commit(lambda: events.broadcast(code, message))


# ---- expiry, waitlist -----------------------------------------------------------------


def drop_claims_release(*, limit: int = 500) -> int:
    """Give the units of lapsed holds back to their drop and serve its waitlist."""
    lapsed = (
        DropClaim.objects.filter(status=ClaimStatus.HELD)
        .exclude(hold__status=HoldStatus.ACTIVE)
        .select_related("drop__show", "hold")[:limit]
    )
    touched: set[int] = set()
    moved = 0
    for claim in lapsed:
        with transaction.atomic():
            locked = locks.lock_claim(claim.pk)
            if locked.status != ClaimStatus.HELD:
                continue
            hold_status = Hold.objects.values_list("status", flat=True).get(pk=claim.hold_id or 0)
            if hold_status == HoldStatus.CONVERTED:
                _claim_move(locked, ClaimStatus.CONVERTED)
                continue
            if quota.enabled():
                quota.give_back(
                    drop_id=locked.drop_id,
                    buyer_id=locked.buyer_id,
                    quantity=locked.quantity,
                    token=f"{locked.buyer_id}:{locked.key}",
                )
            else:
                Drop.objects.filter(pk=locked.drop_id).update(
                    remaining=F("remaining") + locked.quantity
                )
            _claim_move(locked, ClaimStatus.RELEASED, reason=f"hold {hold_status}")
            touched.add(locked.drop_id)
            moved += 1
    for drop in Drop.objects.filter(pk__in=touched, status=DropStatus.OPEN).select_related(
        "show", "item"
    ):
        waitlist_serve(drop=drop)
        _announce_drop(drop)
    return moved


def waitlist_join(
    *, drop: Drop, user: User, variant: ProductVariant, quantity: int
) -> WaitlistEntry:
    """Queue a sold-out buyer; released units are offered in join order."""
    if variant.product_id != drop.item.product_id:
        raise InvalidMessage(
            format_lazy(_("{sku} is not the product of this drop"), sku=variant.sku)
        )
    if not isinstance(quantity, int) or not 1 <= quantity <= drop.per_buyer_limit:
        raise InvalidMessage(
            format_lazy(_("quantity must be between 1 and {limit}"), limit=drop.per_buyer_limit)
        )
    if drop.status != DropStatus.OPEN:
        raise DropNotOpen(_("this drop has ended"))
    existing = WaitlistEntry.objects.filter(
        drop=drop, user=user, status=WaitlistEntry.Status.WAITING
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(
                drop=drop, user=user, variant=variant, quantity=quantity
            )
    except IntegrityError:
        return WaitlistEntry.objects.get(drop=drop, user=user, status=WaitlistEntry.Status.WAITING)


def waitlist_serve(*, drop: Drop) -> int:
    """Offer free units to waiting buyers in order; stops at the first sold-out."""
    served = 0
    for entry in WaitlistEntry.objects.filter(
        drop=drop, status=WaitlistEntry.Status.WAITING
    ).select_related("user", "variant"):
        try:
            result = drop_buy(
                drop=drop,
                buyer=entry.user,
                variant=entry.variant,
                quantity=entry.quantity,
                key=f"waitlist-{entry.pk}",
            )
        except SoldOut:
            break
        except (BuyerLimitReached, OutOfStock, DropNotOpen, InvalidMessage):
            WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistEntry.Status.SKIPPED)
            continue
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistEntry.Status.SERVED)
        with transaction.atomic():
            _notify(drop, entry.user_id, "waitlist.served", **result.as_dict())
        served += 1
    if served and quota.enabled():
        drop_claims_drain(drop_id=drop.pk)
    return served


# ---- reconcile --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconcileReport:
    drop_id: int
    redis_left: int | None
    database_left: int
    drift: int
    buyers_drift: int
    repaired: bool
    busy: bool

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def drop_reconcile(*, drop: Drop, repair: bool = True) -> ReconcileReport:
    """Compare the quota counters with the claims in the database; repair drift.

    The repair is a compare-and-set on (units left, newest stream id) taken before the
    drain, so a buy or give-back that happens meanwhile makes it a no-op (next run).
    """
    taken_rows = (
        DropClaim.objects.filter(drop=drop, status__in=TAKING)
        .values("buyer_id")
        .annotate(n=Sum("quantity"))
    )
    if not quota.enabled():
        with transaction.atomic():
            locked = locks.lock_drop(drop.pk)
            per_buyer = {r["buyer_id"]: int(r["n"]) for r in taken_rows}
            expected = locked.quota - sum(per_buyer.values())
            drift = locked.remaining - expected
            if drift and repair:
                Drop.objects.filter(pk=locked.pk).update(remaining=max(expected, 0))
                _audit_drift(locked, drift, 0)
        return ReconcileReport(drop.pk, None, expected, drift, 0, bool(drift and repair), False)
    seen_left, seen_top = quota.snapshot(drop_id=drop.pk)
    drop_claims_drain(drop_id=drop.pk)
    busy = quota.pending_count(drop_id=drop.pk) > 0
    per_buyer = {r["buyer_id"]: int(r["n"]) for r in taken_rows}
    expected = drop.quota - sum(per_buyer.values())
    redis_left = int(seen_left) if seen_left != "" else None
    redis_buyers = quota.buyers(drop_id=drop.pk)
    buyers_drift = sum(
        abs(redis_buyers.get(b, 0) - per_buyer.get(b, 0))
        for b in set(redis_buyers) | set(per_buyer)
    )
    drift = (redis_left - expected) if redis_left is not None else 0
    repaired = False
    if (drift or buyers_drift) and repair and not busy and redis_left is not None:
        repaired = quota.repair(
            drop_id=drop.pk,
            seen_left=seen_left,
            seen_top=seen_top,
            left=max(expected, 0),
            per_buyer=per_buyer,
        )
        if repaired:
            with transaction.atomic():
                _audit_drift(drop, drift, buyers_drift)
    return ReconcileReport(drop.pk, redis_left, expected, drift, buyers_drift, repaired, busy)


def _audit_drift(drop: Drop, drift: int, buyers_drift: int) -> None:
    logger.warning("live drop drift repaired", extra={"drop": drop.pk, "drift": drift})
    audit_record(
        kind="live.drop.reconciled",
        aggregate_type="live_drop",
        aggregate_id=drop.pk,
        payload={"drift": drift, "buyers_drift": buyers_drift},
    )


def drops_reconcile_open() -> list[ReconcileReport]:
    """Reconcile every open drop and drops closed in the last hour (beat)."""
    recent = timezone.now() - timedelta(hours=1)
    drops = Drop.objects.filter(status=DropStatus.OPEN) | Drop.objects.filter(
        status=DropStatus.CLOSED, created_at__gte=recent
    )
    return [drop_reconcile(drop=d) for d in drops.select_related("show")]
