"""Click tracking: bots filtered, repeats by one visitor within the window counted once."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from social.models import AnalyticsEvent, ShareClick, ShareLink
from social.services.analytics import analytics_event_record

#: Crawlers and link-preview fetchers (they get the preview page, never a counted click).
BOT_UA = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|embedly|curl|wget|python-requests|"
    r"httpclient|headless|lighthouse|monitor",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    return not user_agent.strip() or bool(BOT_UA.search(user_agent))


def ip_hash(ip: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:{ip}".encode()).hexdigest() if ip else ""


def share_click_record(
    *, link: ShareLink, visitor: str, user: User | None, ip: str, user_agent: str
) -> ShareClick:
    """Store one click; it counts unless a bot or a repeat within the dedup window."""
    bot = is_bot(user_agent)
    now = timezone.now()
    with transaction.atomic():
        # Lock the link so two concurrent clicks of one visitor cannot both count.
        ShareLink.objects.select_for_update().filter(pk=link.pk).first()
        repeat = ShareClick.objects.filter(
            link=link,
            visitor=visitor,
            counted=True,
            created_at__gte=now - timedelta(seconds=settings.SOCIAL_CLICK_DEDUP_SECONDS),
        ).exists()
        click = ShareClick.objects.create(
            link=link,
            visitor=visitor,
            user=user,
            ip_hash=ip_hash(ip),
            user_agent=user_agent[:300],
            is_bot=bot,
            counted=not bot and not repeat,
        )
        if click.counted:
            analytics_event_record(
                kind=AnalyticsEvent.Kind.CLICK,
                platform=link.platform,
                target_kind=link.target_kind,
                target_id=link.target_id,
                sharer_id=link.sharer_id,
            )
    return click


def visitor_claim(*, visitor: str, user: User) -> int:
    """Tie a visitor cookie's anonymous clicks to the user who just signed in."""
    if not visitor:
        return 0
    return ShareClick.objects.filter(visitor=visitor, user__isnull=True).update(user=user)
