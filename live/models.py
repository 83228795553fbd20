"""Live-room tables: shows and their line-up, drops and claims, comments, moderation, coupons."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from live.states import ClaimStatus, DropStatus, ShowStatus
from oms.models import Hold, Product, ProductVariant, SalesChannel

USER = settings.AUTH_USER_MODEL


class Show(models.Model):
    """One live sale by one host."""

    code = models.CharField(max_length=24, unique=True)  #: opaque id in URLs and ws paths
    host = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="live_shows")
    title = models.CharField(max_length=200)
    cover = models.ImageField(upload_to="live/covers/", blank=True)
    scheduled_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=ShowStatus.choices, default="scheduled")
    sales_channel = models.ForeignKey(SalesChannel, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    pinned_item = models.ForeignKey(
        "LineupItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    slow_mode_seconds = models.PositiveIntegerField(default=0)  #: 0 = off
    #: lower-case words; a comment containing one is refused
    blocked_words = models.JSONField(default=list, blank=True)
    like_count = models.PositiveBigIntegerField(default=0)
    peak_viewers = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ShowModerator(models.Model):
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="moderators")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["show", "user"], name="one_moderator_row_per_user")
        ]


class LineupItem(models.Model):
    """A product the host will sell in the show, with its live price, quota and limit."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="lineup")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=16)  #: what viewers type: "SOLD A12"
    position = models.PositiveIntegerField(default=0)
    live_price_amount = models.PositiveBigIntegerField()  #: minor units
    quota = models.PositiveIntegerField()  #: units for sale in this show
    per_buyer_limit = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["show", "label"], name="one_label_per_show")]


class Drop(models.Model):
    """A quota gate on one line-up item: the pinned item's standing sale or a flash drop."""

    class Kind(models.TextChoices):
        PINNED = "pinned", "Pinned product"
        FLASH = "flash", "Flash drop"

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="drops")
    item = models.ForeignKey(LineupItem, on_delete=models.CASCADE, related_name="drops")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=DropStatus.choices, default="open")
    price_amount = models.PositiveBigIntegerField()
    quota = models.PositiveIntegerField()
    #: the embedded (database) gate's counter; the Redis gate keeps its own
    remaining = models.PositiveIntegerField()
    per_buyer_limit = models.PositiveIntegerField()
    hold_seconds = models.PositiveIntegerField()
    starts_at = models.DateTimeField()  #: buys before this are refused (countdown)
    ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(remaining__lte=models.F("quota")), name="drop_le")
        ]


class DropClaim(models.Model):
    """A buyer's units of a drop; ``(drop, buyer, key)`` makes a retried buy a replay."""

    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="claims")
    buyer = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)  #: the buyer's idempotency key
    variant = models.ForeignKey(ProductVariant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ClaimStatus.choices)
    hold = models.ForeignKey(
        Hold, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["drop", "buyer", "key"], name="one_claim_per_key")
        ]
        indexes = [models.Index(fields=["drop", "status"])]


class WaitlistEntry(models.Model):
    """A sold-out buyer waiting for released units, served first come first served."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        SERVED = "served", "Served"
        SKIPPED = "skipped", "Skipped"

    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="waitlist")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(ProductVariant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default="waiting")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["drop", "user"], condition=Q(status="waiting"), name="one_wait_per_user"
            )
        ]


class Comment(models.Model):
    """A chat message, stored in batches after it was fanned out."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="comments")
    cid = models.CharField(max_length=24, unique=True)  #: opaque id given at post time
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=150)
    role = models.CharField(max_length=16)  #: viewer / host / moderator
    text = models.CharField(max_length=500)
    posted_at = models.DateTimeField()
    deleted = models.BooleanField(default=False)

    class Meta:
        ordering = ["posted_at", "id"]
        indexes = [models.Index(fields=["show", "posted_at"])]


class ShowMute(models.Model):
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="mutes")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    until = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["show", "user"], name="one_mute_per_user")]


class ShowBan(models.Model):
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["show", "user"], name="one_ban_per_user")]


class CouponDrop(models.Model):
    """A coupon code handed out in the room; the code belongs to the members app."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="coupon_drops")
    code = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    remaining = models.PositiveIntegerField()
    claim_limit = models.PositiveIntegerField(default=1)  #: claims per user
    created_at = models.DateTimeField(auto_now_add=True)


class CouponClaim(models.Model):
    coupon_drop = models.ForeignKey(CouponDrop, on_delete=models.CASCADE, related_name="claims")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coupon_drop", "user", "key"], name="one_coupon_key")
        ]
