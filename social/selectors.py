"""Reads: a sharer's statement, link previews and share analytics aggregations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import get_language

from oms.models import Product
from social import analytics_index
from social.models import (
    AnalyticsEvent,
    Attribution,
    BlockedWord,
    Post,
    PostReport,
    RewardEntry,
    ShareClick,
    ShareLink,
)


@dataclass(frozen=True, slots=True)
class Preview:
    title: str
    description: str
    image_path: str  #: media-relative, or "" when none
    price_amount: int | None
    currency: str
    path: str  #: the PWA path the link opens


def link_preview(link: ShareLink) -> Preview:
    """What the share card shows; products read live data, other targets their title."""
    zh = (get_language() or "en").startswith("zh")
    if link.target_kind == "product":
        product = Product.objects.filter(pk=int(link.target_id)).first()
        if product is not None:
            variant = product.variants.order_by("price_amount").first()
            return Preview(
                title=product.name_zh if zh else product.name_en,
                description=(product.description_zh if zh else product.description_en)[:200],
                image_path=str(product.image.name) if product.image else "",
                price_amount=variant.price_amount if variant else None,
                currency=variant.currency if variant else "",
                path=f"/products/{product.slug}",
            )
    plural = {"show": "shows", "post": "posts", "product": "products"}[link.target_kind]
    return Preview(
        title=link.title or "LiveHub",
        description="",
        image_path="",
        price_amount=None,
        currency="",
        path=f"/{plural}/{link.target_id}",
    )


def sharer_statement(*, sharer: User) -> dict[str, Any]:
    """Balance, per-currency totals, and every ledger line with the order it came from."""
    entries = (
        RewardEntry.objects.filter(sharer=sharer)
        .select_related("attribution")
        .order_by("created_at", "pk")
    )
    balances: dict[str, int] = {}
    lines = []
    for e in entries:
        balances[e.currency] = balances.get(e.currency, 0) + e.amount
        lines.append(
            {
                "kind": e.kind,
                "amount": e.amount,
                "currency": e.currency,
                "order": e.attribution.order_number,
                "reason": e.reason,
                "created_at": e.created_at.isoformat(),
            }
        )
    links = ShareLink.objects.filter(sharer=sharer)
    return {
        "balances": balances,
        "links": links.count(),
        "clicks": ShareClick.objects.filter(link__in=links, counted=True).count(),
        "orders": Attribution.objects.filter(sharer=sharer).count(),
        "entries": lines,
    }


#: The funnel's steps, in order.
FUNNEL_KINDS = ("view", "share", "click", "order")


def _since(days: int) -> Any:
    return timezone.now() - timedelta(days=days)


def _top_sharers_orm(*, days: int, limit: int = 10) -> list[dict[str, Any]]:
    rows = (
        AnalyticsEvent.objects.filter(created_at__gte=_since(days), sharer__isnull=False)
        .values("sharer_id", "sharer__username")
        .annotate(
            clicks=Count("pk", filter=Q(kind="click")),
            orders=Count("pk", filter=Q(kind="order")),
            sales=Sum("amount", filter=Q(kind="order"), default=0),
        )
        .order_by("-sales", "-orders", "-clicks", "sharer_id")[:limit]
    )
    return [
        {
            "sharer": r["sharer_id"],
            "username": r["sharer__username"],
            "clicks": r["clicks"],
            "orders": r["orders"],
            "sales": r["sales"],
        }
        for r in rows
    ]


def _share_funnel_orm(*, days: int, by: str) -> list[dict[str, Any]]:
    """view -> share -> click -> order counts (and sales) per platform or per target."""
    keys = ["platform"] if by == "platform" else ["target_kind", "target_id"]
    rows = (
        AnalyticsEvent.objects.filter(created_at__gte=_since(days), kind__in=FUNNEL_KINDS)
        .values(*keys)
        .annotate(
            views=Count("pk", filter=Q(kind="view")),
            shares=Count("pk", filter=Q(kind="share")),
            clicks=Count("pk", filter=Q(kind="click")),
            orders=Count("pk", filter=Q(kind="order")),
            sales=Sum("amount", filter=Q(kind="order"), default=0),
        )
        .order_by(*keys)
    )
    return [dict(r) for r in rows]


def _daily_trend_orm(*, days: int) -> list[dict[str, Any]]:
    rows = (
        AnalyticsEvent.objects.filter(created_at__gte=_since(days))
        .annotate(day=TruncDate("created_at"))
        .values("day", "kind")
        .annotate(n=Count("pk"))
        .order_by("day", "kind")
    )
    by_day: dict[date, dict[str, Any]] = {}
    for r in rows:
        entry = by_day.setdefault(r["day"], {"day": r["day"].isoformat()})
        entry[r["kind"]] = r["n"]
    return list(by_day.values())


def published_posts(*, target_kind: str, target_id: str, limit: int = 50) -> list[Post]:
    return list(
        Post.objects.filter(target_kind=target_kind, target_id=target_id, status="published")
        .select_related("author")
        .prefetch_related("media")
        .order_by("-verified_purchase", "-created_at")[:limit]
    )


def moderation_queue(*, signal: str = "", limit: int = 100) -> list[Post]:
    """Posts awaiting a decision: flagged on creation or hidden after reports, oldest first;
    ``signal`` keeps those flagged for one reason (blocked_word, unverified_purchase ...)."""
    posts = (
        Post.objects.filter(status__in=["pending", "hidden"])
        .select_related("author")
        .prefetch_related("media")
        .order_by("created_at", "pk")
    )
    if not signal:
        return list(posts[:limit])
    # JSON containment is not portable to SQLite; the queue is short, filter while reading.
    out: list[Post] = []
    for post in posts.iterator(chunk_size=500):
        if signal in post.signals or (signal == "reports" and post.status == "hidden"):
            out.append(post)
            if len(out) == limit:
                break
    return out


def blocked_words() -> list[str]:
    return sorted(BlockedWord.objects.values_list("word", flat=True), key=str.casefold)


def post_reports(*, post_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The reports on each post (reason, when), for moderators."""
    out: dict[int, list[dict[str, Any]]] = {pk: [] for pk in post_ids}
    for report in PostReport.objects.filter(post_id__in=post_ids).order_by("created_at", "pk"):
        out[report.post_id].append(
            {"reason": report.reason, "created_at": report.created_at.isoformat()}
        )
    return out


def top_sharers(*, days: int, limit: int = 10) -> list[dict[str, Any]]:
    if settings.ELASTICSEARCH_URL:
        return analytics_index.top_sharers(days=days, limit=limit)
    return _top_sharers_orm(days=days, limit=limit)


def share_funnel(*, days: int, by: str) -> list[dict[str, Any]]:
    if settings.ELASTICSEARCH_URL:
        return analytics_index.share_funnel(days=days, by=by)
    return _share_funnel_orm(days=days, by=by)


def daily_trend(*, days: int) -> list[dict[str, Any]]:
    if settings.ELASTICSEARCH_URL:
        return analytics_index.daily_trend(days=days)
    return _daily_trend_orm(days=days)
