"""Deployment checks (``manage.py check --deploy``) for payment configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def payments_deploy_check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    from payments.providers import provider_config

    messages: list[CheckMessage] = []
    config = provider_config()
    if "sandbox" in config:
        messages.append(
            Warning(
                "the sandbox payment provider is enabled: orders can be paid without money",
                hint="set LIVEHUB_PAYMENT_SANDBOX=false and remove 'sandbox' from the "
                "payment providers file",
                id="payments.W001",
            )
        )
    if settings.LIVEHUB_PAYMENT_SIMULATORS:
        messages.append(
            Warning(
                "payment gateway simulators are mounted under /payments/simulator/",
                hint="set LIVEHUB_PAYMENT_SIMULATORS=false",
                id="payments.W002",
            )
        )
    for code, values in config.items():
        if "gateway" in values and "/payments/simulator/" in str(values["gateway"]):
            messages.append(
                Warning(f"payment provider {code!r} points at a simulator", id="payments.W003")
            )
    return messages
