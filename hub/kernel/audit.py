"""Append to and verify the hash-chained audit log.

Appends lock the chain head row until commit, so chain order is commit order. Services
append as their last write, which keeps the lock short and the lock order fixed
(domain rows first, chain head last): no deadlocks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from hub.kernel.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
#: The columns an entry's hash covers (everything but the hash itself).
HASHED_FIELDS = (
    "seq",
    "prev_hash",
    "kind",
    "aggregate_type",
    "aggregate_id",
    "actor_id",
    "payload",
    "created_at",
)


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(
    *,
    seq: int,
    prev_hash: str,
    kind: str,
    aggregate_type: str,
    aggregate_id: str,
    actor_id: int | None,
    payload: dict[str, Any],
    created_at: datetime,
) -> str:
    body = {
        "seq": seq,
        "prev_hash": prev_hash,
        "kind": kind,
        "aggregate_type": aggregate_type,
        "aggregate_id": aggregate_id,
        "actor_id": actor_id,
        "payload": payload,
        "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
    }
    return hashlib.sha256(_canonical(body)).hexdigest()


def audit_record(
    *,
    kind: str,
    aggregate_type: str,
    aggregate_id: str | int,
    payload: dict[str, Any],
    actor_id: int | None = None,
) -> AuditEvent:
    """Append one entry to the chain; must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the write's transaction")
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    seq = head.last_seq + 1
    created_at = timezone.now()
    # Round-trip through JSON so the hashed payload equals what the database returns.
    payload = json.loads(_canonical(payload))
    fields: dict[str, Any] = {
        "seq": seq,
        "prev_hash": head.last_hash,
        "kind": kind,
        "aggregate_type": aggregate_type,
        "aggregate_id": str(aggregate_id),
        "actor_id": actor_id,
        "payload": payload,
        "created_at": created_at,
    }
    digest = compute_hash(**fields)
    event = AuditEvent.objects.create(hash=digest, **fields)
    AuditChainHead.objects.filter(pk=1).update(last_seq=seq, last_hash=digest)
    return event


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    breaks: list[ChainBreak]

    @property
    def intact(self) -> bool:
        return not self.breaks


def audit_verify_chain(events: Iterable[AuditEvent] | None = None) -> ChainReport:
    """Recompute every hash in order; report the first entries that do not match."""
    rows = events if events is not None else AuditEvent.objects.order_by("seq").iterator()
    expected_prev = GENESIS_HASH
    expected_seq = 1
    breaks: list[ChainBreak] = []
    checked = 0
    for event in rows:
        checked += 1
        if event.seq != expected_seq:
            breaks.append(ChainBreak(event.seq, f"expected seq {expected_seq} (entry missing)"))
        if event.prev_hash != expected_prev:
            breaks.append(ChainBreak(event.seq, "prev_hash does not match the previous entry"))
        recomputed = compute_hash(**{name: getattr(event, name) for name in HASHED_FIELDS})
        if recomputed != event.hash:
            breaks.append(ChainBreak(event.seq, "content does not match its hash (edited)"))
        expected_prev = event.hash
        expected_seq = event.seq + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and events is None and head.last_seq != expected_seq - 1:
        breaks.append(ChainBreak(head.last_seq, "chain head points past the last entry"))
    return ChainReport(checked=checked, breaks=breaks)
