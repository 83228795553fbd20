"""Choices of the sync aggregates."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    TAOBAO = "taobao", _("Taobao/Tmall")


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored (stale or not an order)")
    FAILED = "failed", _("Failed")


class PushKind(models.TextChoices):
    FULFILMENT = "fulfilment", _("Fulfilment and tracking")
    CANCEL = "cancel", _("Cancellation")


class PushStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    DEAD = "dead", _("Dead letter")


class BreakerState(models.TextChoices):
    """Per-connection circuit breaker (see ``services/breaker.py``)."""

    CLOSED = "closed", _("Closed (calls flow)")
    OPEN = "open", _("Open (no calls until the cool-down ends)")
    HALF_OPEN = "half_open", _("Half-open (one probe call)")


#: closed --trip--> open --cool-down over--> half_open --probe ok--> closed
#:                   ^------------------ probe failed ----------------'
BREAKER_TRANSITIONS: dict[str, frozenset[str]] = {
    BreakerState.CLOSED: frozenset({BreakerState.OPEN}),
    BreakerState.OPEN: frozenset({BreakerState.HALF_OPEN}),
    BreakerState.HALF_OPEN: frozenset({BreakerState.CLOSED, BreakerState.OPEN}),
}
