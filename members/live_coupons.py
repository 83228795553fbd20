"""Coupons dropped in live rooms: only shoppers who claimed one in the room may use it.

The live app owns the claims and registers a checker in its ``AppConfig.ready()``:
``register_live_coupon_claim_checker(lambda code, user: claimed?)``. Members never imports
the live app; with no checker registered, live-room coupons are refused.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User

ClaimChecker = Callable[[str, User], bool]
_checkers: list[ClaimChecker] = []


def register_live_coupon_claim_checker(checker: ClaimChecker) -> None:
    if checker not in _checkers:
        _checkers.append(checker)


def live_coupon_claimed(code: str, user: User) -> bool:
    return any(checker(code, user) for checker in _checkers)
