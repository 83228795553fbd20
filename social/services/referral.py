"""Checkout reads the share cookies, so an order placed after a share click is attributed.

``/s/<code>`` sets two first-party cookies: ``lh_vid`` (this browser) and ``lh_ref`` (the
share it came through last, kept for the attribution window). A visitor usually clicks
while signed out and signs in only to pay, so the click is stored without a user and
``attribution_for_order`` (which looks at the buyer's clicks) would find nothing. Checkout
calls ``referral_claim_for_checkout`` before it places the order: the browser's anonymous
clicks become the buyer's, and the attribution model (last touch, first touch, protection)
then chooses among all the buyer's clicks, from any device, when ``order.created`` is
delivered. A link the buyer shared is claimed like any other and then never chosen
(no self-referral), and clicks already tied to another user stay theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils import timezone

from social.models import ShareLink
from social.policy import current_policy
from social.services.clicks import visitor_claim

VISITOR_COOKIE = "lh_vid"
REFERRAL_COOKIE = "lh_ref"


@dataclass(frozen=True, slots=True)
class ReferralClaim:
    claimed_clicks: int
    referrer: int | None  #: the sharer of the lh_ref link, if it may earn on this buyer


def referral_claim_for_checkout(*, user: User, cookies: Mapping[str, str]) -> ReferralClaim:
    """Tie this browser's share clicks to the buyer before the order is created."""
    visitor = cookies.get(VISITOR_COOKIE, "")[:64]
    claimed = visitor_claim(visitor=visitor, user=user) if visitor else 0
    code = cookies.get(REFERRAL_COOKIE, "")[:24]
    link = ShareLink.objects.filter(code=code).first() if code else None
    referrer = None
    if link is not None and link.sharer_id != user.pk:
        window_start = timezone.now() - current_policy().window
        if link.clicks.filter(user=user, counted=True, created_at__gte=window_start).exists():
            referrer = link.sharer_id
    return ReferralClaim(claimed_clicks=claimed, referrer=referrer)
