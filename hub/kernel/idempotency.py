"""Exactly-once handling of requests that carry an ``Idempotency-Key``.

The key row is inserted before the work runs, in the same transaction. A concurrent
duplicate blocks on the unique index until the first commits, then replays its stored
response; a crash rolls both back, so a retry runs the work afresh. Domain errors are
stored too: the retry gets the same 4xx, not a different outcome.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from hub.kernel.errors import DomainError, IdempotencyKeyReused, error_body
from hub.kernel.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class IdempotentResult:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def request_fingerprint(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_call(
    *,
    scope: str,
    key: str,
    fingerprint: str,
    work: Callable[[], tuple[int, dict[str, Any]]],
) -> IdempotentResult:
    """Run ``work`` once per (scope, key); later calls replay the first result."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise DomainError(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters")
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope,
                    key=key,
                    request_fingerprint=fingerprint,
                    status_code=0,
                    response_body={},
                )
        except IntegrityError:
            first = IdempotencyRecord.objects.get(scope=scope, key=key)
            if first.request_fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used with a different request"
                ) from None
            return IdempotentResult(first.status_code, first.response_body, replayed=True)
        try:
            with transaction.atomic():
                status_code, body = work()
        except DomainError as error:
            status_code, body = error.http_status, error_body(error)
        body = json.loads(json.dumps(body, default=str))
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=status_code, response_body=body
        )
        return IdempotentResult(status_code, body, replayed=False)
