"""UGC: posts, likes, comments, reports and the moderation queue.

A post is published at once unless a signal sends it to the queue: a blocked word, a
review without a verified purchase, or a burst of posts from one device or address.
Enough reports hide a published post until a moderator decides.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from hub.kernel.audit import audit_record
from hub.kernel.states import require_transition
from oms.models import Order, OrderLine
from social.errors import InvalidShare
from social.models import (
    AnalyticsEvent,
    BlockedWord,
    ModerationDecision,
    Post,
    PostComment,
    PostLike,
    PostMedia,
    PostReport,
    PostStatus,
)
from social.services.analytics import analytics_event_record
from social.services.clicks import ip_hash
from social.states import POST_TRANSITIONS

BURST_WINDOW = timedelta(minutes=10)
BURST_LIMIT = 3  #: more posts than this from one device or address in the window
REPORTS_TO_HIDE = 3
MAX_MEDIA = 9
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_VIDEO_BYTES = 50 * 1024 * 1024
#: Orders in these states mean the author really bought the product.
PURCHASED = (
    "paid",
    "allocated",
    "picking",
    "packed",
    "partially_shipped",
    "shipped",
    "ready_for_pickup",
    "delivered",
    "picked_up",
    "partially_returned",
)


#: Why a post waits for review (``Post.signals``); "reports" selects posts hidden by reports.
MODERATION_SIGNALS = (
    "blocked_word",
    "unverified_purchase",
    "repeat_review",
    "shared_device_reviews",
    "burst_device",
    "burst_address",
    "reports",
)


class InvalidPost(InvalidShare):
    code = "invalid_post"


@dataclass(frozen=True, slots=True)
class MediaIn:
    kind: str  #: photo | video
    upload: UploadedFile


def _squeeze(text: str) -> str:
    """Width-folded, case-folded text without spaces, punctuation or symbols, so full-width
    letters, "s p-a_m" and "s.p.a.m" still contain "spam" (the usual ways round a word filter)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def blocked_words_in(text: str) -> list[str]:
    squeezed = _squeeze(text)
    return sorted(
        w
        for w in BlockedWord.objects.values_list("word", flat=True)
        if _squeeze(w) and _squeeze(w) in squeezed
    )


def blocked_word_add(*, word: str, actor: User) -> tuple[BlockedWord, bool]:
    """Add a word to the filter (staff); returns (word, created)."""
    clean = unicodedata.normalize("NFKC", word).strip()
    if not _squeeze(clean) or len(clean) > 64:
        raise InvalidPost("a blocked word needs 1 to 64 letters or digits")
    with transaction.atomic():
        existing = BlockedWord.objects.filter(word__iexact=clean).first()
        if existing is not None:
            return existing, False
        created = BlockedWord.objects.create(word=clean)
        audit_record(
            kind="social.blocked_word_added",
            aggregate_type="blocked_word",
            aggregate_id=clean,
            actor_id=actor.pk,
            payload={"word": clean},
        )
    return created, True


def blocked_word_remove(*, word: str, actor: User) -> bool:
    with transaction.atomic():
        deleted, _ = BlockedWord.objects.filter(word__iexact=word.strip()).delete()
        if deleted:
            audit_record(
                kind="social.blocked_word_removed",
                aggregate_type="blocked_word",
                aggregate_id=word.strip(),
                actor_id=actor.pk,
                payload={"word": word.strip()},
            )
    return bool(deleted)


def _review_signals(*, author: User, product_id: str, device: str, hashed_ip: str) -> list[str]:
    """Fake-review patterns beyond bursts: a second review of one product by one author,
    and reviews of one product by several accounts from one device or address."""
    signals: list[str] = []
    reviews = Post.objects.filter(
        kind=Post.Kind.REVIEW, target_kind="product", target_id=product_id
    ).exclude(status=PostStatus.REJECTED)
    if reviews.filter(author=author).exists():
        signals.append("repeat_review")
    others = reviews.exclude(author=author)
    if (device and others.filter(device=device).exists()) or (
        hashed_ip and others.filter(ip_hash=hashed_ip).exists()
    ):
        signals.append("shared_device_reviews")
    return signals


def has_purchased(*, user: User, product_id: str) -> bool:
    if not product_id.isdigit():
        return False
    orders = Order.objects.filter(customer=user, status__in=PURCHASED)
    return OrderLine.objects.filter(order__in=orders, variant__product_id=int(product_id)).exists()


def _check_media(media: MediaIn) -> str:
    upload = media.upload
    if media.kind == "photo":
        if upload.size is None or upload.size > MAX_PHOTO_BYTES:
            raise InvalidPost("a photo must be at most 10 MB")
        try:
            with Image.open(upload) as img:
                img.verify()
                fmt = (img.format or "").lower()
        except (UnidentifiedImageError, OSError) as exc:
            raise InvalidPost(f"'{upload.name}' is not an image") from exc
        upload.seek(0)
        if fmt not in {"jpeg", "png", "webp", "gif"}:
            raise InvalidPost(f"unsupported image format '{fmt}'")
        return f"image/{fmt}"
    if media.kind == "video":
        if upload.size is None or upload.size > MAX_VIDEO_BYTES:
            raise InvalidPost("a video must be at most 50 MB")
        head = upload.read(12)
        upload.seek(0)
        if head[4:8] != b"ftyp":  # ISO base media (MP4/MOV)
            raise InvalidPost(f"'{upload.name}' is not an MP4/MOV video")
        return "video/mp4"
    raise InvalidPost(f"unknown media kind '{media.kind}'")


def post_create(
    *,
    author: User,
    kind: str,
    body: str,
    target_kind: str = "",
    target_id: str = "",
    rating: int | None = None,
    media: list[MediaIn] | None = None,
    device: str = "",
    ip: str = "",
) -> Post:
    media = media or []
    if kind not in Post.Kind.values:
        raise InvalidPost(f"unknown post kind '{kind}'")
    if not body.strip():
        raise InvalidPost("a post needs text")
    if len(media) > MAX_MEDIA:
        raise InvalidPost(f"at most {MAX_MEDIA} photos or videos")
    if kind == Post.Kind.REVIEW:
        if target_kind != "product" or not target_id:
            raise InvalidPost("a review must be about a product")
        if rating is None or not 1 <= rating <= 5:
            raise InvalidPost("a review needs a rating from 1 to 5")
    elif rating is not None:
        raise InvalidPost("only reviews carry a rating")
    content_types = [_check_media(m) for m in media]
    hashed_ip = ip_hash(ip)
    signals: list[str] = []
    if blocked_words_in(body):
        signals.append("blocked_word")
    verified = target_kind == "product" and has_purchased(user=author, product_id=target_id)
    if kind == Post.Kind.REVIEW and not verified:
        signals.append("unverified_purchase")
    if kind == Post.Kind.REVIEW:
        signals.extend(
            _review_signals(author=author, product_id=target_id, device=device, hashed_ip=hashed_ip)
        )
    since = timezone.now() - BURST_WINDOW
    if device and Post.objects.filter(device=device, created_at__gte=since).count() >= BURST_LIMIT:
        signals.append("burst_device")
    if (
        hashed_ip
        and Post.objects.filter(ip_hash=hashed_ip, created_at__gte=since).count() >= BURST_LIMIT
    ):
        signals.append("burst_address")
    with transaction.atomic():
        post = Post.objects.create(
            author=author,
            kind=kind,
            body=body,
            target_kind=target_kind,
            target_id=target_id,
            rating=rating,
            verified_purchase=verified,
            status=PostStatus.PENDING if signals else PostStatus.PUBLISHED,
            signals=signals,
            device=device,
            ip_hash=hashed_ip,
        )
        for m, content_type in zip(media, content_types, strict=True):
            PostMedia.objects.create(
                post=post, kind=m.kind, file=m.upload, content_type=content_type
            )
        analytics_event_record(
            kind=AnalyticsEvent.Kind.POST, target_kind=target_kind, target_id=target_id
        )
    return post


def transition_post(*, post: Post, target: str, moderator: User | None, note: str = "") -> Post:
    with transaction.atomic():
        locked = Post.objects.select_for_update().get(pk=post.pk)
        require_transition(POST_TRANSITIONS, aggregate="post", current=locked.status, target=target)
        ModerationDecision.objects.create(
            post=locked, moderator=moderator, from_status=locked.status, to_status=target, note=note
        )
        locked.status = target
        locked.save(update_fields=["status"])
    return locked


def post_like(*, post: Post, user: User) -> bool:
    """Like once; returns False when the user already liked it."""
    if post.status != PostStatus.PUBLISHED:
        raise InvalidPost("only published posts can be liked")
    try:
        with transaction.atomic():
            PostLike.objects.create(post=post, user=user)
            Post.objects.filter(pk=post.pk).update(likes=F("likes") + 1)
            analytics_event_record(
                kind=AnalyticsEvent.Kind.LIKE, target_kind="post", target_id=str(post.pk)
            )
    except IntegrityError:
        return False
    return True


def post_comment(*, post: Post, author: User, body: str) -> PostComment:
    if post.status != PostStatus.PUBLISHED:
        raise InvalidPost("only published posts take comments")
    if not body.strip():
        raise InvalidPost("a comment needs text")
    found = blocked_words_in(body)
    if found:
        raise InvalidPost("the comment contains blocked words", words=found)
    return PostComment.objects.create(post=post, author=author, body=body[:500])


def post_report(*, post: Post, reporter: User, reason: str) -> bool:
    """Report once; the report that reaches the threshold hides the post for review."""
    if not reason.strip():
        raise InvalidPost("a report needs a reason")
    try:
        with transaction.atomic():
            PostReport.objects.create(post=post, reporter=reporter, reason=reason[:200])
            Post.objects.filter(pk=post.pk).update(reports=F("reports") + 1)
            post.refresh_from_db(fields=["reports", "status"])
            if post.reports >= REPORTS_TO_HIDE and post.status == PostStatus.PUBLISHED:
                transition_post(post=post, target=PostStatus.HIDDEN, moderator=None, note="reports")
    except IntegrityError:
        return False
    return True
