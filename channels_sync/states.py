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
