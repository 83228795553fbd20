"""Sending one encrypted message to one push endpoint (pywebpush: VAPID + aes128gcm)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from pywebpush import WebPushException, webpush

from webapp.push.vapid import vapid

#: how long a push service keeps an undelivered notice (seconds)
TTL_SECONDS = 3600
TIMEOUT_SECONDS = 10
#: the push service says the subscription is gone for good: forget it
GONE = {404, 410}


@dataclass(frozen=True)
class PushResult:
    status: int  #: HTTP status of the push service; 0 when it could not be reached
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status in GONE


def endpoint_allowed(endpoint: str) -> bool:
    """https push services only; plain http only for the configured local simulators."""
    parts = urlsplit(endpoint)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and parts.hostname in settings.LIVEHUB_PUSH_INSECURE_HOSTS


def push_send(*, endpoint: str, p256dh: str, auth: str, payload: dict[str, Any]) -> PushResult:
    """POST one notice; never raises for the push service's refusals."""
    if not endpoint_allowed(endpoint):
        return PushResult(status=0, error="endpoint not allowed")
    try:
        response = webpush(
            {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
            data=json.dumps(payload, ensure_ascii=False),
            vapid_private_key=vapid(),
            vapid_claims={"sub": settings.LIVEHUB_VAPID_SUBJECT},
            content_encoding="aes128gcm",
            ttl=TTL_SECONDS,
            timeout=TIMEOUT_SECONDS,
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else 0
        return PushResult(status=status, error=str(exc)[:500])
    except Exception as exc:  # unreachable service, TLS failure: retried on the next notice
        return PushResult(status=0, error=repr(exc)[:500])
    return PushResult(status=int(getattr(response, "status_code", 201)))
