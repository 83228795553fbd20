"""Page views (product and show pages): the top of the share funnel.

A view counts once per visitor (first-party ``lh_vid`` cookie) and target within
``SOCIAL_VIEW_DEDUP_SECONDS``; bots and crawlers never count. Only counted views are
stored, as ``AnalyticsEvent(kind="view")``, so repeats cost one indexed read. A view that
arrives through a share link (the PWA passes its ``share`` code) carries that link's
platform and sharer; any other view is on the ``direct`` platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from oms.models import Product
from social.errors import InvalidShare
from social.models import AnalyticsEvent, ShareLink, TargetKind
from social.services.analytics import analytics_event_record
from social.services.clicks import is_bot

#: Platform of views that did not come through a share link.
DIRECT = "direct"
#: Page kinds whose views are tracked (posts are counted by likes and reports instead).
VIEW_TARGETS = (TargetKind.PRODUCT, TargetKind.SHOW)


@dataclass(frozen=True, slots=True)
class ViewOutcome:
    counted: bool
    reason: str  #: "counted", "bot" or "repeat"


def _check_target(target_kind: str, target_id: str) -> None:
    if target_kind not in VIEW_TARGETS:
        raise InvalidShare(f"views are tracked for {', '.join(VIEW_TARGETS)}, not '{target_kind}'")
    if not target_id or len(target_id) > 64:
        raise InvalidShare("target id must be 1 to 64 characters")
    if target_kind == TargetKind.PRODUCT and not (
        target_id.isdigit() and Product.objects.filter(pk=int(target_id), is_active=True).exists()
    ):
        raise InvalidShare(f"no active product {target_id}")


def page_view_record(
    *, target_kind: str, target_id: str, visitor: str, user_agent: str, share_code: str = ""
) -> ViewOutcome:
    """Count one page view unless it is a bot's or a repeat within the window."""
    _check_target(target_kind, target_id)
    if not visitor or len(visitor) > 64:
        raise InvalidShare("a view needs a visitor id of 1 to 64 characters")
    if is_bot(user_agent):
        return ViewOutcome(False, "bot")
    window = int(settings.SOCIAL_VIEW_DEDUP_SECONDS)
    now = timezone.now()
    recent = AnalyticsEvent.objects.filter(
        kind=AnalyticsEvent.Kind.VIEW,
        visitor=visitor,
        target_kind=target_kind,
        target_id=target_id,
        created_at__gte=now - timedelta(seconds=window),
    )
    if recent.exists():
        return ViewOutcome(False, "repeat")
    link = (
        ShareLink.objects.filter(
            code=share_code, target_kind=target_kind, target_id=target_id
        ).first()
        if share_code
        else None
    )
    try:
        with transaction.atomic():
            analytics_event_record(
                kind=AnalyticsEvent.Kind.VIEW,
                platform=link.platform if link else DIRECT,
                target_kind=target_kind,
                target_id=target_id,
                sharer_id=link.sharer_id if link else None,
                visitor=visitor,
                # Two first views racing past the check above share a bucket: one loses.
                dedup_bucket=int(now.timestamp()) // max(window, 1),
            )
    except IntegrityError:
        return ViewOutcome(False, "repeat")
    return ViewOutcome(True, "counted")
