"""Append to and verify the hash-chained audit log.

The log is ``LIVEHUB_AUDIT_CHAINS`` independent hash chains. An entry goes to the chain
of its aggregate (a stable hash of ``(aggregate_type, aggregate_id)``), so one
aggregate's history is one ordered chain, while writes whose aggregates sit on other
chains never wait for each other.

An entry is written with its content hash at once and *sealed* (numbered, linked to the
chain's previous entry, hashed) as its transaction commits, so a chain's order is its
commit order. On PostgreSQL a deferred trigger (migration ``0002``) seals at commit: it
locks the heads of the chains the transaction wrote to in chain order, after every
domain row (lock order: domain rows first, chain heads last) and only for the commit, so
no two writers deadlock on heads. SQLite has one writer at a time: it seals at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from hub.kernel.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
#: Upper bound of ``LIVEHUB_AUDIT_CHAINS`` (``AuditEvent.chain`` is a small integer).
MAX_CHAINS = 1024
#: The constraint trigger that seals entries at commit on PostgreSQL.
SEAL_TRIGGER = "kernel_audit_seal"
#: The columns an entry's content hash covers.
CONTENT_FIELDS = (
    "chain",
    "kind",
    "aggregate_type",
    "aggregate_id",
    "actor_id",
    "payload",
    "created_at",
)
#: The columns a pre-sharding entry's hash covers (entries without ``content_hash``).
LEGACY_HASHED_FIELDS = (
    "seq",
    "prev_hash",
    "kind",
    "aggregate_type",
    "aggregate_id",
    "actor_id",
    "payload",
    "created_at",
)


def audit_chain_count() -> int:
    """How many chains new entries are spread over (``LIVEHUB_AUDIT_CHAINS``)."""
    chains = getattr(settings, "LIVEHUB_AUDIT_CHAINS", 16)
    if not isinstance(chains, int) or isinstance(chains, bool) or not 1 <= chains <= MAX_CHAINS:
        raise ImproperlyConfigured(
            f"LIVEHUB_AUDIT_CHAINS must be an integer from 1 to {MAX_CHAINS}, got {chains!r}"
        )
    return chains


def audit_chain_for(aggregate_type: str, aggregate_id: str | int, chains: int | None = None) -> int:
    """The chain of an aggregate: the same on every process and every run.

    A stable digest, not Python's salted ``hash()``. Changing the number of chains moves
    aggregates to other chains from then on; their earlier entries stay, verified, where
    they were.
    """
    count = audit_chain_count() if chains is None else chains
    key = f"{aggregate_type}\x00{aggregate_id}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % count


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _entry_fields(
    *,
    kind: str,
    aggregate_type: str,
    aggregate_id: str,
    actor_id: int | None,
    payload: dict[str, Any],
    created_at: datetime,
) -> dict[str, Any]:
    """What every entry's hash covers, whatever the formula."""
    return {
        "kind": kind,
        "aggregate_type": aggregate_type,
        "aggregate_id": aggregate_id,
        "actor_id": actor_id,
        "payload": payload,
        "created_at": _iso(created_at),
    }


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(body)).hexdigest()


def content_hash(*, chain: int, **fields: Any) -> str:
    """sha256 of an entry's content, fixed when it is written."""
    return _digest({"chain": chain, **_entry_fields(**fields)})


def link_hash(*, chain: int, seq: int, prev_hash: str, content_hash: str) -> str:
    """An entry's hash: its content and its place in its chain (the trigger computes the
    same in SQL)."""
    return hashlib.sha256(f"{chain}:{seq}:{prev_hash}:{content_hash}".encode()).hexdigest()


def legacy_hash(*, seq: int, prev_hash: str, **fields: Any) -> str:
    """The hash of an entry written before the log was sharded (all of them chain 0)."""
    return _digest({"seq": seq, "prev_hash": prev_hash, **_entry_fields(**fields)})


def _seals_at_commit() -> bool:
    return connection.vendor == "postgresql"


def _locked_head(chain: int) -> AuditChainHead:
    """The chain's head row, locked until commit (created on a new chain's first entry)."""
    try:
        return AuditChainHead.objects.select_for_update().get(chain=chain)
    except AuditChainHead.DoesNotExist:
        AuditChainHead.objects.bulk_create([AuditChainHead(chain=chain)], ignore_conflicts=True)
        return AuditChainHead.objects.select_for_update().get(chain=chain)


def audit_record(
    *,
    kind: str,
    aggregate_type: str,
    aggregate_id: str | int,
    payload: dict[str, Any],
    actor_id: int | None = None,
) -> AuditEvent:
    """Append one entry to its aggregate's chain; must run inside the caller's transaction.

    On PostgreSQL the returned entry has no ``seq`` yet: it gets it at commit
    (``audit_seal_pending`` seals earlier).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the write's transaction")
    chain = audit_chain_for(aggregate_type, aggregate_id)
    # Round-trip through JSON so the hashed payload equals what the database returns.
    payload = json.loads(_canonical(payload))
    fields: dict[str, Any] = {
        "chain": chain,
        "kind": kind,
        "aggregate_type": aggregate_type,
        "aggregate_id": str(aggregate_id),
        "actor_id": actor_id,
        "payload": payload,
        "created_at": timezone.now(),
    }
    digest = content_hash(**fields)
    if _seals_at_commit():
        return AuditEvent.objects.create(content_hash=digest, **fields)
    head = _locked_head(chain)
    seq = head.last_seq + 1
    sealed = link_hash(chain=chain, seq=seq, prev_hash=head.last_hash, content_hash=digest)
    event = AuditEvent.objects.create(
        seq=seq, prev_hash=head.last_hash, content_hash=digest, hash=sealed, **fields
    )
    AuditChainHead.objects.filter(pk=head.pk).update(last_seq=seq, last_hash=sealed)
    return event


def audit_seal_pending() -> None:
    """Seal this transaction's entries now instead of at commit (PostgreSQL).

    Takes the chain heads' locks until commit; for reading ``seq`` back inside the
    writing transaction (tests, verification).
    """
    if _seals_at_commit() and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {SEAL_TRIGGER} IMMEDIATE")
            cursor.execute(f"SET CONSTRAINTS {SEAL_TRIGGER} DEFERRED")


@dataclass(frozen=True)
class ChainBreak:
    chain: int
    seq: int  #: 0 for an entry that was never sealed
    reason: str


@dataclass(frozen=True)
class ChainReport:
    checked: int  #: entries recomputed
    chains: int  #: chains holding entries
    breaks: list[ChainBreak]

    @property
    def intact(self) -> bool:
        return not self.breaks


@dataclass
class _ChainState:
    next_seq: int = 1
    last_hash: str = GENESIS_HASH


def _expected_hash(event: AuditEvent) -> tuple[str, str | None]:
    """(recomputed hash, reason it differs) for one sealed entry."""
    assert event.seq is not None
    if not event.content_hash:
        if event.chain != 0:
            return "", "entry outside chain 0 without a content hash"
        fields = {name: getattr(event, name) for name in LEGACY_HASHED_FIELDS}
        return legacy_hash(**fields), None
    recomputed = content_hash(**{name: getattr(event, name) for name in CONTENT_FIELDS})
    if recomputed != event.content_hash:
        return "", "content does not match its hash (edited)"
    return link_hash(
        chain=event.chain, seq=event.seq, prev_hash=event.prev_hash, content_hash=recomputed
    ), None


def audit_verify_chain(events: Iterable[AuditEvent] | None = None) -> ChainReport:
    """Recompute every hash of every chain; report the entries that do not match.

    ``events`` (sealed, ordered by chain, then seq) checks just those entries; without
    it every stored entry is checked, each chain's head must point at its last entry, and
    no committed entry may be left unsealed.
    """
    if events is None:
        audit_seal_pending()
    rows = (
        events
        if events is not None
        else AuditEvent.objects.filter(seq__isnull=False)
        .order_by("chain", "seq")
        .iterator(chunk_size=2000)
    )
    chains: dict[int, _ChainState] = {}
    breaks: list[ChainBreak] = []
    checked = 0
    for event in rows:
        assert event.seq is not None
        checked += 1
        state = chains.setdefault(event.chain, _ChainState())
        if event.seq != state.next_seq:
            breaks.append(
                ChainBreak(event.chain, event.seq, f"expected seq {state.next_seq} (entry missing)")
            )
        if event.prev_hash != state.last_hash:
            breaks.append(
                ChainBreak(event.chain, event.seq, "prev_hash does not match the previous entry")
            )
        recomputed, problem = _expected_hash(event)
        if problem is None and recomputed != event.hash:
            problem = "content does not match its hash (edited)"
        if problem is not None:
            breaks.append(ChainBreak(event.chain, event.seq, problem))
        state.last_hash = event.hash or ""
        state.next_seq = event.seq + 1
    if events is None:
        breaks.extend(_head_breaks(chains))
        breaks.extend(
            ChainBreak(chain, 0, "entry was never sealed")
            for chain in AuditEvent.objects.filter(seq__isnull=True).values_list("chain", flat=True)
        )
    breaks.sort(key=lambda b: (b.chain, b.seq))
    return ChainReport(checked=checked, chains=len(chains), breaks=breaks)


def _head_breaks(chains: dict[int, _ChainState]) -> list[ChainBreak]:
    """Each head must name its chain's last entry; every chain with entries needs a head."""
    breaks: list[ChainBreak] = []
    heads = {head.chain: head for head in AuditChainHead.objects.all()}
    for chain, head in heads.items():
        state = chains.get(chain, _ChainState())
        last_seq = state.next_seq - 1
        if head.last_seq > last_seq:
            breaks.append(ChainBreak(chain, head.last_seq, "chain head points past the last entry"))
        elif head.last_seq < last_seq:
            breaks.append(ChainBreak(chain, last_seq, "entry beyond the chain head"))
        elif head.last_hash != state.last_hash:
            breaks.append(
                ChainBreak(chain, head.last_seq, "chain head hash does not match the last entry")
            )
    for chain in chains.keys() - heads.keys():
        breaks.append(ChainBreak(chain, chains[chain].next_seq - 1, "chain has no head"))
    return breaks
