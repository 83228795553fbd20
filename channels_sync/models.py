"""Marketplace connections, listing mappings, raw webhooks and the push queues."""

from __future__ import annotations

from django.db import models

from channels_sync.states import BreakerState, DeliveryStatus, Platform, PushKind, PushStatus
from oms.models import Fulfilment, Order, ProductVariant, SalesChannel


class Connection(models.Model):
    """One sales channel's link to its marketplace account; credentials are encrypted."""

    sales_channel = models.OneToOneField(
        SalesChannel, on_delete=models.CASCADE, related_name="sync_connection"
    )
    platform = models.CharField(max_length=16, choices=Platform.choices)
    base_url = models.URLField(max_length=300)
    #: Fernet token of a JSON object (access token, app/webhook secrets, keys)
    credentials_encrypted = models.TextField()
    #: the marketplace location our stock is pushed to (Shopify location gid, ...)
    remote_location_id = models.CharField(max_length=100, blank=True)
    enabled = models.BooleanField(default=True)
    #: calls per second we allow ourselves towards this account
    rate_limit_per_s = models.FloatField(default=2.0)
    #: reconciliation cursor: the platform's updated-at of the newest order seen
    order_cursor = models.CharField(max_length=64, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_lag_ms = models.PositiveIntegerField(default=0)
    calls_ok = models.PositiveBigIntegerField(default=0)
    calls_failed = models.PositiveBigIntegerField(default=0)
    calls_throttled = models.PositiveBigIntegerField(default=0)
    last_reconcile_at = models.DateTimeField(null=True, blank=True)
    last_reconcile_report = models.JSONField(default=dict, blank=True)
    #: failed share of recent calls (exponentially weighted, ~ the last 10 calls)
    recent_error_rate = models.FloatField(default=0.0)
    breaker_state = models.CharField(
        max_length=16, choices=BreakerState.choices, default=BreakerState.CLOSED
    )
    #: failed calls in a row (reset by any success)
    breaker_failures = models.PositiveIntegerField(default=0)
    #: consecutive trips without a successful probe in between (cool-down doubles)
    breaker_trips = models.PositiveIntegerField(default=0)
    breaker_opened_at = models.DateTimeField(null=True, blank=True)
    #: open: when a probe may start; half-open: when an unanswered probe lapses
    breaker_retry_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.sales_channel.code}:{self.platform}"


class ListingMapping(models.Model):
    """Our variant <-> the marketplace listing (SKU, ids used by its inventory API)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="listings")
    variant = models.ForeignKey(ProductVariant, on_delete=models.CASCADE, related_name="+")
    external_sku = models.CharField(max_length=100)
    #: Shopify InventoryItem gid / WooCommerce product id / Taobao num_iid
    external_id = models.CharField(max_length=100)
    #: Taobao sku_id or WooCommerce parent product id for variations (optional)
    external_sub_id = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "variant"], name="listing_variant_uniq"),
            models.UniqueConstraint(
                fields=["connection", "external_sku"], name="listing_external_sku_uniq"
            ),
        ]


class WebhookDelivery(models.Model):
    """A webhook stored raw, before any processing; one row per platform delivery id."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=100)
    topic = models.CharField(max_length=64)
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "delivery_id"], name="webhook_delivery_uniq"
            )
        ]


class ExternalOrder(models.Model):
    """The newest version we applied of a marketplace order (out-of-order guard)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(max_length=100)
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, related_name="+")
    platform_updated_at = models.DateTimeField()
    platform_status = models.CharField(max_length=40)
    #: the marketplace cancelled it: our cancellation is not pushed back
    platform_cancelled = models.BooleanField(default=False)
    #: lines whose SKU maps to nothing of ours: reported, never dropped silently
    unmapped = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_id"], name="external_order_uniq"
            )
        ]


class PendingStockPush(models.Model):
    """Coalesced 'this SKU changed' for one connection; one row however many changes."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="pending")
    variant = models.ForeignKey(ProductVariant, on_delete=models.CASCADE, related_name="+")
    #: bumped by each change; a push deletes the row only if nothing changed meanwhile
    version = models.PositiveIntegerField(default=1)
    first_changed_at = models.DateTimeField()
    due_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "variant"], name="pending_push_uniq")
        ]


class RemoteQuantity(models.Model):
    """What we last know the marketplace shows: the compare value of the next CAS."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(ProductVariant, on_delete=models.CASCADE, related_name="+")
    quantity = models.IntegerField()
    pushed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "variant"], name="remote_qty_uniq")
        ]


class OrderPush(models.Model):
    """Fulfilment/tracking or a cancellation to send back to the marketplace."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    #: ``kind:order number:fulfilment id``: one push per fact, however often it is announced
    dedupe_key = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=PushKind.choices)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    fulfilment = models.ForeignKey(
        Fulfilment, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    external_order_id = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=PushStatus.choices, default=PushStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class DeadLetter(models.Model):
    """A push that kept failing, parked with its reason until someone retries it."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="dead")
    kind = models.CharField(max_length=16)  #: stock / fulfilment / cancel / webhook
    key = models.CharField(max_length=100)  #: SKU, order number or delivery id
    reason = models.CharField(max_length=500)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    retried_at = models.DateTimeField(null=True, blank=True)
    #: what ``dead_letters_retry`` needs to requeue it (variant id, push id, delivery id)
    ref_id = models.BigIntegerField(null=True, blank=True)
