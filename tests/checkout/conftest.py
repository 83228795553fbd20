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
from tests.fixtures.gateways import alipay_gateway, gateways, wechat_gateway

__all__ = [
    "alipay_gateway",
    "coupon_10pct",
    "gateways",
    "give_points",
    "gold",
    "home",
    "rates",
    "stocked",
    "wechat_gateway",
]


@pytest.fixture(autouse=True)
def _sandbox(settings: SettingsWrapper) -> None:
    """Payments here go through the sandbox, which is off by default outside DEBUG."""
    sandbox_enable(settings)
