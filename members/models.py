"""Members: profiles, tiers, the points ledger, coupons and sign-in codes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Tier(models.Model):
    """A membership level reached by rolling 12-month spend (configurable rows)."""

    code = models.SlugField(max_length=32, unique=True)
    name_en = models.CharField(max_length=64)
    name_zh = models.CharField(max_length=64)
    threshold_amount = models.PositiveBigIntegerField()  #: 12-month spend, minor units
    discount_bp = models.PositiveIntegerField(default=0)  #: member price, basis points off
    points_multiplier_pct = models.PositiveIntegerField(default=100)  #: 150 = 1.5x points

    class Meta:
        ordering = ["threshold_amount"]

    def __str__(self) -> str:
        return self.code


class MemberProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member"
    )
    phone = models.CharField(max_length=20, unique=True, null=True, blank=True)
    wechat_openid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    birthday = models.DateField(null=True, blank=True)
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL)
    last_birthday_reward_year = models.PositiveIntegerField(null=True, blank=True)


class PointsEntry(models.Model):
    """One append-only ledger line; the balance is the sum of unexpired ``remaining``."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        REVERSE = "reverse", _("Reversed")
        EXPIRE = "expire", _("Expired")
        BIRTHDAY = "birthday", _("Birthday reward")
        RESTORE = "restore", _("Restored")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    delta = models.IntegerField()  #: positive credits, negative debits
    remaining = models.IntegerField(default=0)  #: unspent part of a credit (FIFO redemption)
    order_number = models.CharField(max_length=16, blank=True, db_index=True)
    source_key = models.CharField(max_length=100, unique=True)  #: one entry per cause
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class Coupon(models.Model):
    class Kind(models.TextChoices):
        FIXED = "fixed", _("Fixed amount off")
        PERCENT = "percent", _("Percentage off")
        FREE_SHIPPING = "free_shipping", _("Free shipping")

    code = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.PositiveBigIntegerField(default=0)  #: minor units, or basis points
    currency = models.CharField(max_length=3, default="CNY")
    min_spend = models.PositiveBigIntegerField(default=0)  #: on eligible lines, minor units
    per_user_limit = models.PositiveIntegerField(default=1)
    total_limit = models.PositiveIntegerField(null=True, blank=True)
    sales_channel = models.ForeignKey(
        "oms.SalesChannel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    skus = models.JSONField(default=list, blank=True)  #: empty = every product
    live_room = models.CharField(max_length=64, blank=True)  #: dropped in this live room
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.code


class CouponRedemption(models.Model):
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    order_number = models.CharField(max_length=16, unique=True)
    amount = models.PositiveBigIntegerField()
    reversed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class BlocklistEntry(models.Model):
    """A phone, device, IP, address or user that may not pay."""

    class Kind(models.TextChoices):
        USER = "user", _("User")
        PHONE = "phone", _("Phone")
        DEVICE = "device", _("Device")
        IP = "ip", _("IP address")
        ADDRESS = "address", _("Address")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=200)  #: addresses are normalised (see risk.py)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="one_block_entry")]


class RiskAssessment(models.Model):
    """The risk check an order passed (or failed) before payment; staff decide flagged ones."""

    class Status(models.TextChoices):
        CLEAR = "clear", _("Clear")
        FLAGGED = "flagged", _("Flagged for review")
        APPROVED = "approved", _("Approved by staff")
        REJECTED = "rejected", _("Rejected by staff")

    order = models.OneToOneField("oms.Order", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices)
    reasons = models.JSONField(default=list)  #: shown to staff, e.g. "5 orders in 1 hour"
    device_id = models.CharField(max_length=64, blank=True, db_index=True)
    client_ip = models.CharField(max_length=45, blank=True, db_index=True)
    address_key = models.CharField(max_length=64, blank=True, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
