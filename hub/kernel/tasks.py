"""Celery entry points for kernel services (thin: ids in, service call)."""

from __future__ import annotations

from celery import shared_task

from hub.kernel import outbox


@shared_task(name="kernel.outbox_relay")
def outbox_relay() -> int:
    return outbox.outbox_relay()
