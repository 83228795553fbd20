"""SMS providers behind one Protocol; the console backend logs codes for the demo."""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsBackend(Protocol):
    def send(self, *, phone: str, message: str) -> None: ...


class ConsoleSmsBackend:
    """Writes each message to the log (and keeps the last ones for the demo and tests)."""

    outbox: list[tuple[str, str]] = []

    def send(self, *, phone: str, message: str) -> None:
        ConsoleSmsBackend.outbox = [*ConsoleSmsBackend.outbox[-99:], (phone, message)]
        logger.info("sms", extra={"phone": phone, "sms": message})
        print(f"[sms to {phone}] {message}", flush=True)


def sms_backend() -> SmsBackend:
    path = getattr(settings, "LIVEHUB_SMS_BACKEND", "members.sms.ConsoleSmsBackend")
    backend: SmsBackend = import_string(path)()
    return backend
