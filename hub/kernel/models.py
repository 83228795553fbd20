"""Kernel tables: the hash-chained audit log, idempotency records and the outbox."""

from __future__ import annotations

from django.db import models


class AuditChainHead(models.Model):
    """The single row that serialises appends to the audit chain (locked per append)."""

    last_seq = models.PositiveBigIntegerField(default=0)  #: seq of the newest entry
    last_hash = models.CharField(max_length=64, default="0" * 64)  #: its hash


class AuditEvent(models.Model):
    """One append-only entry; ``hash`` covers its content and ``prev_hash``.

    Editing or deleting any entry breaks every hash after it, which
    ``manage.py verify_audit_chain`` detects.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=64, db_index=True)  #: e.g. ``order.created``
    aggregate_type = models.CharField(max_length=32)  #: ``order``, ``stock``, ``hold`` ...
    aggregate_id = models.CharField(max_length=64, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)  #: acting user, None for system
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["aggregate_type", "aggregate_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.aggregate_type}:{self.aggregate_id}"


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
