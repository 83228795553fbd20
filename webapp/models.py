"""Web push: a shopper's browser subscriptions, show reminders, and the notices sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models

USER = settings.AUTH_USER_MODEL


class PushSubscription(models.Model):
    """One browser's push endpoint (``PushManager.subscribe``), given with consent."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)  #: the push service's URL
    p256dh = models.CharField(max_length=200)  #: the browser's ECDH public key (base64url)
    auth = models.CharField(max_length=64)  #: the browser's auth secret (base64url)
    locale = models.CharField(max_length=8, default="zh-CN")  #: language of the notices
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  #: consecutive failed deliveries

    class Meta:
        ordering = ["id"]


class ShowReminder(models.Model):
    """ "Remind me": push when this show goes live (once)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    show = models.ForeignKey("live.Show", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "show"], name="one_reminder_per_show")
        ]


class PushNotice(models.Model):
    """One notice to one user; ``(user, key)`` makes a replayed cause send nothing twice."""

    class Kind(models.TextChoices):
        SHOW_LIVE = "show_live", "Show is starting"
        ORDER_READY = "order_ready", "Order ready for pick-up"

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=100)  #: the cause, e.g. ``order-ready:<number>``
    url = models.CharField(max_length=200)  #: the page a click on the notice opens
    params = models.JSONField(default=dict)  #: what the text is made from
    created_at = models.DateTimeField(auto_now_add=True)
    delivered = models.PositiveIntegerField(default=0)  #: subscriptions that accepted it
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_notice_per_cause")]
