"""Loyalty rules, configurable in settings (``LIVEHUB_POINTS``) with these defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class PointsRules:
    earn_per_major_unit: int = 1  #: points per whole yuan paid
    value_minor_units: int = 1  #: one point is worth this many fen at checkout
    max_redeem_bp: int = 5000  #: points may pay at most this share of the goods (50%)
    expiry_days: int = 365
    birthday_points: int = 500


def points_rules() -> PointsRules:
    overrides: dict[str, Any] = getattr(settings, "LIVEHUB_POINTS", {})
    return PointsRules(**overrides)
