from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from checkout.demo_data import checkout_demo_load, payment_simulators_configure


class Command(BaseCommand):
    help = "Load demo tiers, coupons, shipping/tax tables and configure the payment simulators."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = checkout_demo_load()
        path = payment_simulators_configure()
        self.stdout.write(
            f"checkout demo: {counts['tiers']} tiers, {counts['coupons']} coupons; "
            f"payment providers (sandbox, WeChat Pay and Alipay simulators) in {path}"
        )
