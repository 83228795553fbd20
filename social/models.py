"""Share links, clicks, attributions, the reward ledger and analytics events.

Targets are generic (kind + id string) so shows and posts of other apps need no import.
Money is integer minor units plus currency.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TargetKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    SHOW = "show", _("Live show")
    POST = "post", _("Post")


class Platform(models.TextChoices):
    WECHAT = "wechat", _("WeChat chat")
    MOMENTS = "moments", _("WeChat Moments")
    WEIBO = "weibo", _("Weibo")
    XIAOHONGSHU = "xiaohongshu", _("Xiaohongshu")
    DOUYIN = "douyin", _("Douyin")
    LINK = "link", _("Copied link")


class ShareLink(models.Model):
    code = models.CharField(max_length=24, unique=True)  #: opaque, in /s/<code>
    sharer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    target_kind = models.CharField(max_length=16, choices=TargetKind.choices)
    target_id = models.CharField(max_length=64)  #: product pk, show slug, post pk ...
    platform = models.CharField(max_length=16, choices=Platform.choices)
    utm = models.JSONField(default=dict, blank=True)  #: utm_* parameters kept on redirect
    title = models.CharField(max_length=200, blank=True)  #: preview title for non-products
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sharer", "target_kind", "target_id", "platform"],
                name="social_one_link_per_sharer_target_platform",
            )
        ]

    def __str__(self) -> str:
        return self.code


class ShareClick(models.Model):
    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="clicks")
    visitor = models.CharField(max_length=64, db_index=True)  #: first-party cookie id
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip_hash = models.CharField(max_length=64, blank=True)  #: salted hash, never the address
    user_agent = models.CharField(max_length=300, blank=True)
    is_bot = models.BooleanField(default=False)
    counted = models.BooleanField(default=True)  #: false for bots and repeats in the window
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["link", "visitor", "created_at"]),
            models.Index(fields=["user", "created_at"]),
        ]


class Attribution(models.Model):
    """One order credited to one share (never the buyer's own)."""

    order_number = models.CharField(max_length=16, unique=True)
    link = models.ForeignKey(ShareLink, on_delete=models.PROTECT, related_name="attributions")
    click = models.ForeignKey(ShareClick, null=True, on_delete=models.SET_NULL, related_name="+")
    sharer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    model = models.CharField(max_length=16)  #: attribution model that chose the click
    sales_amount = models.PositiveBigIntegerField()  #: merchandise net of discounts
    currency = models.CharField(max_length=3)
    rate_bps = models.PositiveIntegerField()  #: reward rate applied, after the cap
    created_at = models.DateTimeField(auto_now_add=True)


class RewardEntry(models.Model):
    """The rewards ledger: append-only; the balance is the sum of amounts."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REVERSE = "reverse", _("Reversed")

    sharer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    attribution = models.ForeignKey(Attribution, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.BigIntegerField()  #: minor units; negative for reversals
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["attribution"],
                condition=models.Q(kind="earn"),
                name="social_one_earn_per_attribution",
            )
        ]
        indexes = [models.Index(fields=["sharer", "created_at"])]


class AnalyticsEvent(models.Model):
    """Share, click, view, attributed order, post, like: the raw facts dashboards add up."""

    class Kind(models.TextChoices):
        SHARE = "share", _("Share")
        CLICK = "click", _("Click")
        VIEW = "view", _("View")
        ORDER = "order", _("Attributed order")
        POST = "post", _("Post")
        LIKE = "like", _("Like")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    platform = models.CharField(max_length=16, blank=True)
    target_kind = models.CharField(max_length=16, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    sharer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount = models.BigIntegerField(default=0)  #: sales for orders, minor units
    #: views only: the first-party visitor cookie, for de-duplication
    visitor = models.CharField(max_length=64, blank=True)
    #: views only: ``epoch // SOCIAL_VIEW_DEDUP_SECONDS``; with the unique constraint it
    #: keeps two concurrent first views of one visitor from both counting
    dedup_bucket = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "created_at"]),
            models.Index(fields=["sharer", "kind"]),
            models.Index(
                fields=["visitor", "target_kind", "target_id", "created_at"],
                condition=models.Q(kind="view"),
                name="social_view_dedup_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["visitor", "target_kind", "target_id", "dedup_bucket"],
                condition=models.Q(kind="view"),
                name="social_one_view_per_visitor_window",
            )
        ]


# --- UGC ---------------------------------------------------------------------------------


class PostStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting review")
    PUBLISHED = "published", _("Published")
    HIDDEN = "hidden", _("Hidden after reports")
    REJECTED = "rejected", _("Rejected")


class Post(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        PHOTO = "photo", _("Photos")
        VIDEO = "video", _("Short video")
        REVIEW = "review", _("Review")

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    target_kind = models.CharField(max_length=16, choices=TargetKind.choices, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    body = models.TextField(max_length=2000)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)  #: 1..5, reviews only
    verified_purchase = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=PostStatus.choices)
    #: why the post waits for review: blocked_word, unverified_purchase, burst_device ...
    signals = models.JSONField(default=list, blank=True)
    device = models.CharField(max_length=64, blank=True)  #: first-party visitor cookie
    ip_hash = models.CharField(max_length=64, blank=True)
    likes = models.PositiveIntegerField(default=0)
    reports = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["target_kind", "target_id", "status"]),
        ]


class PostMedia(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="media")
    kind = models.CharField(max_length=8)  #: photo | video
    file = models.FileField(upload_to="ugc/")
    content_type = models.CharField(max_length=64)


class PostLike(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="social_one_like")]


class PostComment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)


class PostReport(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "reporter"], name="social_one_report")
        ]


class BlockedWord(models.Model):
    word = models.CharField(max_length=64, unique=True)  #: matched case-insensitively


class ModerationDecision(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="decisions")
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class WeChatIdentity(models.Model):
    """A WeChat user (openid of our Official Account) signed in through OAuth."""

    openid = models.CharField(max_length=64, unique=True)
    unionid = models.CharField(max_length=64, blank=True, db_index=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wechat_identity"
    )
    nickname = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
