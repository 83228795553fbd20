"""The social demo: the catalogue indexed for search and a ready share link.

Idempotent: ``make demo`` runs it on every start; the share link is created once and
the reindex rebuilds the same index from the same catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from oms.models import Product
from search.services import search_reindex
from social.models import ShareLink
from social.services.links import share_link_create

DEMO_SHARER = "shopper"


@dataclass(frozen=True, slots=True)
class SocialDemoSummary:
    indexed: int
    link: ShareLink | None


def social_demo_load() -> SocialDemoSummary:
    indexed = search_reindex()
    sharer = User.objects.filter(username=DEMO_SHARER).first()
    product = Product.objects.filter(is_active=True, variants__isnull=False).order_by("pk").first()
    link = None
    if sharer is not None and product is not None:
        link, _ = share_link_create(
            sharer=sharer, target_kind="product", target_id=str(product.pk), platform="wechat"
        )
    return SocialDemoSummary(indexed=indexed, link=link)
