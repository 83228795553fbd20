"""Per-connection circuit breaker: stop calling a marketplace that is down.

Why: without it, a marketplace outage costs one failing call per due batch for as long
as it lasts, and every queued change burns its retry attempts until it is parked as a
dead letter. With it, the calls stop after a few failures, the changes simply wait in
their queues (``PendingStockPush`` / ``OrderPush``, attempts untouched), one probe call
per cool-down checks whether the marketplace is back, and the first successful probe
flushes everything queued at once.

States and moves are a table (``states.BREAKER_TRANSITIONS``)::

    closed --N failures in a row, or a high recent error rate--> open
    open --cool-down over, one worker takes the probe--> half_open
    half_open --probe succeeded--> closed   (queues flushed)
    half_open --probe failed--> open        (cool-down doubles, capped)

The state lives on the ``Connection`` row, so every worker process sees the same one.
Only platform-level failures count (5xx, timeouts, refused connections): a 429 is the
rate limit working, a 4xx or a stale compare-and-swap is about one request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from channels_sync.models import Connection, OrderPush, PendingStockPush
from channels_sync.states import BREAKER_TRANSITIONS, BreakerState, PushStatus
from hub.kernel.audit import audit_record
from hub.kernel.effects import after_commit
from hub.kernel.states import require_transition

#: failed calls in a row that open the breaker
FAILURE_THRESHOLD = 5
#: ... or a recent error rate at least this high (once ``ERROR_RATE_MIN_CALLS`` were made)
ERROR_RATE_THRESHOLD = 0.6
ERROR_RATE_MIN_CALLS = 10
#: weight of the newest call in ``recent_error_rate`` (about the last 10 calls count)
ERROR_RATE_WEIGHT = 0.1
#: first cool-down; doubles with each failed probe up to ``MAX_COOL_DOWN_S``
COOL_DOWN_S = 5.0
MAX_COOL_DOWN_S = 120.0
#: a probe that never reported back (worker died) lapses after this
PROBE_TIMEOUT_S = 30.0

Gate = Literal["pass", "probe", "wait"]


def cool_down_seconds(trips: int) -> float:
    return float(min(MAX_COOL_DOWN_S, COOL_DOWN_S * 2 ** max(0, trips - 1)))


def breaker_allow(*, connection_id: int) -> Gate:
    """May this worker call the marketplace now? ``probe``: exactly one call, then report.

    Taking the probe is a conditional UPDATE, so of several workers only one probes.
    """
    state, retry_at = (
        Connection.objects.filter(pk=connection_id)
        .values_list("breaker_state", "breaker_retry_at")
        .get()
    )
    if state == BreakerState.CLOSED:
        return "pass"
    now = timezone.now()
    if retry_at is not None and retry_at > now:
        return "wait"
    if state == BreakerState.OPEN:
        require_transition(
            BREAKER_TRANSITIONS,
            aggregate="circuit breaker",
            current=state,
            target=BreakerState.HALF_OPEN,
        )
    # open -> half_open, or a lapsed half-open probe taken over by this worker
    taken = Connection.objects.filter(
        pk=connection_id, breaker_state=state, breaker_retry_at=retry_at
    ).update(
        breaker_state=BreakerState.HALF_OPEN,
        breaker_retry_at=now + timedelta(seconds=PROBE_TIMEOUT_S),
    )
    return "probe" if taken else "wait"


def breaker_record(
    *,
    connection_id: int,
    ok: int = 0,
    failed: int = 0,
    rejected: int = 0,
    throttled: int = 0,
    error: str = "",
    lag_ms: int | None = None,
) -> str:
    """Count one round of calls; move the state.

    ``ok``: succeeded; ``failed``: the platform failed (5xx, timeout, refused);
    ``rejected``: the platform answered but refused the request (4xx, stale compare):
    it is up, so this counts as an answer for the breaker and as an error for the
    lifetime error rate; ``throttled``: a 429 (neither).

    Returns the breaker state after the round. One locked read and one UPDATE; a state
    change also writes an audit entry and, on closing, makes every queued push due now.
    """
    now = timezone.now()
    with transaction.atomic():
        c = (
            Connection.objects.select_for_update()
            .only(
                "breaker_state",
                "breaker_failures",
                "breaker_trips",
                "recent_error_rate",
                "calls_ok",
                "calls_failed",
                "sales_channel_id",
            )
            .get(pk=connection_id)
        )
        keep = 1 - ERROR_RATE_WEIGHT
        rate = c.recent_error_rate * keep ** (ok + rejected)
        rate = 1 - (1 - rate) * keep**failed
        answered = ok + rejected
        failures = 0 if answered else c.breaker_failures + failed
        changes: dict[str, object] = {
            "calls_ok": F("calls_ok") + ok,
            "calls_failed": F("calls_failed") + failed + rejected,
            "calls_throttled": F("calls_throttled") + throttled,
            "recent_error_rate": round(rate, 4),
            "breaker_failures": failures,
        }
        if ok:
            changes["last_success_at"] = now
        if error:
            changes["last_error"] = error[:500]
        if lag_ms is not None:
            changes["last_lag_ms"] = max(0, lag_ms)
        state = c.breaker_state
        target = state
        calls = c.calls_ok + c.calls_failed + ok + failed + rejected
        if state == BreakerState.CLOSED and failed:
            too_many = failures >= FAILURE_THRESHOLD
            too_often = calls >= ERROR_RATE_MIN_CALLS and rate >= ERROR_RATE_THRESHOLD
            if too_many or too_often:
                target = BreakerState.OPEN
        elif state == BreakerState.HALF_OPEN and (answered or failed):
            target = BreakerState.CLOSED if answered else BreakerState.OPEN
        if target != state:
            require_transition(
                BREAKER_TRANSITIONS, aggregate="circuit breaker", current=state, target=target
            )
            changes["breaker_state"] = target
            if target == BreakerState.OPEN:
                trips = c.breaker_trips + 1
                changes["breaker_trips"] = trips
                changes["breaker_retry_at"] = now + timedelta(seconds=cool_down_seconds(trips))
                if state == BreakerState.CLOSED:
                    changes["breaker_opened_at"] = now
            else:
                changes.update(
                    breaker_trips=0,
                    breaker_retry_at=None,
                    breaker_opened_at=None,
                    breaker_failures=0,
                )
                _flush_queues(connection_id)
            audit_record(
                kind=f"sync.breaker_{target}",
                aggregate_type="sync_connection",
                aggregate_id=connection_id,
                payload={
                    "from": state,
                    "to": str(target),
                    "failures": failures,
                    "error": error[:200],
                },
            )
        Connection.objects.filter(pk=connection_id).update(**changes)
    return str(target)


def _flush_queues(connection_id: int) -> None:
    """The marketplace is back: everything that waited for it is due now."""
    from channels_sync import events

    now = timezone.now()
    # Rows claimed right now are the probe's own: its bookkeeping settles them.
    PendingStockPush.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), connection_id=connection_id
    ).update(due_at=now, attempts=0)
    OrderPush.objects.filter(connection_id=connection_id, status=PushStatus.PENDING).update(
        next_attempt_at=now
    )
    after_commit(events.schedule_stock_push)
    after_commit(events.schedule_order_push)


def breaker_probe_now(*, connection: Connection) -> bool:
    """The health view's "retry": an open breaker probes at the next push, not later."""
    return bool(
        Connection.objects.filter(pk=connection.pk, breaker_state=BreakerState.OPEN).update(
            breaker_retry_at=timezone.now()
        )
    )


def breaker_probe_unused(*, connection_id: int) -> None:
    """A worker took the probe but had nothing to send: hand it back (probe due now)."""
    Connection.objects.filter(pk=connection_id, breaker_state=BreakerState.HALF_OPEN).update(
        breaker_state=BreakerState.OPEN, breaker_retry_at=timezone.now()
    )
