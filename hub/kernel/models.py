"""Kernel tables: the hash-chained audit log, idempotency records and the outbox."""

from __future__ import annotations

from django.db import models


class AuditChainHead(models.Model):
    """The head of one audit chain, locked by every append to that chain until commit.

    There is one row per chain (``LIVEHUB_AUDIT_CHAINS`` of them, created on first use),
    so appends to different chains never wait for each other.
    """

    chain = models.PositiveSmallIntegerField(unique=True)  #: 0 .. LIVEHUB_AUDIT_CHAINS - 1
    last_seq = models.PositiveBigIntegerField(default=0)  #: seq of the chain's newest entry
    last_hash = models.CharField(max_length=64, default="0" * 64)  #: its hash

    def __str__(self) -> str:
        return f"chain {self.chain} at #{self.last_seq}"


class AuditEvent(models.Model):
    """One append-only entry; ``hash`` covers its content and its chain position.

    Entries form ``LIVEHUB_AUDIT_CHAINS`` independent chains; an aggregate's entries all
    go to one chain (``hub.kernel.audit.audit_chain_for``), in commit order. An entry is
    *sealed* (given ``seq``, ``prev_hash`` and ``hash``) as its transaction commits.
    Editing or deleting any entry breaks every hash after it in its chain, which
    ``manage.py verify_audit_chain`` detects.
    """

    chain = models.PositiveSmallIntegerField(default=0)  #: the chain it belongs to
    seq = models.PositiveBigIntegerField(null=True, blank=True)  #: from 1 per chain, no gaps
    prev_hash = models.CharField(max_length=64, blank=True)  #: hash of the chain's previous
    #: sha256 of the content (kind .. created_at, chain); "" for entries from before sharding
    content_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    kind = models.CharField(max_length=64, db_index=True)  #: e.g. ``order.created``
    aggregate_type = models.CharField(max_length=32)  #: ``order``, ``stock``, ``hold`` ...
    aggregate_id = models.CharField(max_length=64, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)  #: acting user, None for system
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]  #: write order; each chain's own order is by seq
        indexes = [models.Index(fields=["aggregate_type", "aggregate_id"])]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq} {self.kind} {self.aggregate_type}:{self.aggregate_id}"


class IdempotencyRecord(models.Model):
    """The first response to a request carrying an ``Idempotency-Key``."""

    scope = models.CharField(max_length=128)  #: endpoint and caller, keys are per scope
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)  #: sha256 of the request body
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")
        ]


class OutboxMessage(models.Model):
    """A message written in the same transaction as the change it announces.

    A relay task delivers it after commit; a periodic relay retries anything a crash
    left behind, so no announced change is lost.
    """

    topic = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.topic}#{self.pk}"
