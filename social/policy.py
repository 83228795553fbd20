"""Attribution and reward policy read from settings, with the legal cap enforced here.

The reward is a share of the attributed sales, paid only to the sharer whose link the
buyer came through (single level); the share never exceeds 30% whatever is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

#: 30%: the Chinese direct-selling limit on rewards as a share of sales.
LEGAL_CAP_BPS = 3000
MODELS = ("last_touch", "first_touch", "protection")


@dataclass(frozen=True, slots=True)
class Policy:
    window: timedelta
    model: str
    protection: timedelta
    rate_bps: int  #: after the cap

    def reward_for(self, sales_amount: int) -> int:
        return sales_amount * self.rate_bps // 10_000


def current_policy() -> Policy:
    model = settings.SOCIAL_ATTRIBUTION_MODEL
    if model not in MODELS:
        raise ValueError(f"SOCIAL_ATTRIBUTION_MODEL must be one of {MODELS}, not {model!r}")
    cap = max(0, min(int(settings.SOCIAL_REWARD_CAP_BPS), LEGAL_CAP_BPS))
    rate = max(0, min(int(settings.SOCIAL_REWARD_RATE_BPS), cap))
    return Policy(
        window=timedelta(days=settings.SOCIAL_ATTRIBUTION_WINDOW_DAYS),
        model=model,
        protection=timedelta(days=settings.SOCIAL_PROTECTION_DAYS),
        rate_bps=rate,
    )
