from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from checkout.demo_data import checkout_demo_load, payment_simulators_configure


class Command(BaseCommand):
    help = "Load demo tiers, coupons, shipping/tax tables and configure the payment simulators."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = checkout_demo_load()
        path = payment_simulators_configure()
        self.stdout.write(
            f"checkout demo: {counts['tiers']} tiers, {counts['coupons']} coupons; "
            f"payment providers (WeChat Pay and Alipay simulators) in {path}"
        )
        base = settings.LIVEHUB_PUBLIC_URL.rstrip("/")
        if not settings.LIVEHUB_PAYMENT_SIMULATORS or not settings.LIVEHUB_PAYMENT_SANDBOX:
            self.stdout.write(
                self.style.WARNING(
                    "  the sandbox and the simulators are off: run with LIVEHUB_DEMO=1 "
                    "(make demo does) or DEBUG=true to pay in the demo"
                )
            )
        self.stdout.write(
            "  pay in the demo (docs/payments.md): sign in as shopper/shopper, order, then\n"
            "    sandbox:    the order page's pay button opens the sandbox page (Pay/Fail/Cancel)\n"
            "    WeChat Pay: POST /api/payments/ {order, provider: wechatpay, method: native};\n"
            "                open its simulator_pay_url (the phone) and confirm\n"
            "    Alipay:     {provider: alipay, method: page}; open redirect_url, press Pay\n"
            f"  gateway simulators answer under {base}/payments/simulator/"
        )
