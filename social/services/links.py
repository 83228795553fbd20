"""Share links: one per (sharer, target, platform); creating one earns nothing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from hub.kernel.ids import opaque_token
from oms.models import Product
from social.errors import InvalidShare
from social.models import AnalyticsEvent, Platform, ShareLink, TargetKind
from social.services.analytics import analytics_event_record

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


def _clean_utm(utm: dict[str, Any]) -> dict[str, str]:
    unknown = sorted(set(utm) - set(UTM_KEYS))
    if unknown:
        raise InvalidShare("unknown UTM parameters", unknown=unknown)
    clean = {k: str(v)[:100] for k, v in utm.items() if v}
    return {k: clean[k] for k in UTM_KEYS if k in clean}


def share_link_create(
    *,
    sharer: User,
    target_kind: str,
    target_id: str,
    platform: str,
    utm: dict[str, Any] | None = None,
    title: str = "",
) -> tuple[ShareLink, bool]:
    """The sharer's link for a target on a platform (created once); returns (link, created)."""
    if target_kind not in TargetKind.values:
        raise InvalidShare(f"unknown share target kind '{target_kind}'")
    if platform not in Platform.values:
        raise InvalidShare(f"unknown platform '{platform}'")
    if not target_id or len(target_id) > 64:
        raise InvalidShare("target id must be 1 to 64 characters")
    if target_kind == TargetKind.PRODUCT and not (
        target_id.isdigit() and Product.objects.filter(pk=int(target_id), is_active=True).exists()
    ):
        raise InvalidShare(f"no active product {target_id}")
    clean_utm = _clean_utm(utm or {})
    clean_utm.setdefault("utm_source", platform)
    clean_utm.setdefault("utm_medium", "social_share")
    lookup = {
        "sharer": sharer,
        "target_kind": target_kind,
        "target_id": target_id,
        "platform": platform,
    }
    existing = ShareLink.objects.filter(**lookup).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            link = ShareLink.objects.create(
                code=opaque_token(9), utm=clean_utm, title=title[:200], **lookup
            )
            analytics_event_record(
                kind=AnalyticsEvent.Kind.SHARE,
                platform=platform,
                target_kind=target_kind,
                target_id=target_id,
                sharer=sharer,
            )
    except IntegrityError:  # a concurrent request created it first
        return ShareLink.objects.get(**lookup), False
    return link, True
