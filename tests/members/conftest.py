"""Shared checkout and member fixtures; the sandbox provider is on for these tests."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.fixtures.commerce import (
    coupon_10pct,
    give_points,
    gold,
    home,
    rates,
    sandbox_enable,
    stocked,
)

__all__ = ["coupon_10pct", "give_points", "gold", "home", "rates", "stocked"]


@pytest.fixture(autouse=True)
def _sandbox(settings: SettingsWrapper) -> None:
    """Payments here go through the sandbox, which is off by default outside DEBUG."""
    sandbox_enable(settings)
