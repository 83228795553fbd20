"""Deployment checks (``manage.py check --deploy``) for payment configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.security)
def payments_sandbox_check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """The sandbox lets anyone mark an order paid: refuse it outside DEBUG and the demo.

    Runs with every management command (not only ``--deploy``), so a production start
    that runs ``migrate`` fails loudly instead of taking fake payments.
    """
    from payments.providers import provider_config

    if settings.DEBUG or "sandbox" not in provider_config():
        return []
    if settings.LIVEHUB_DEMO:
        return [
            Warning(
                "the sandbox payment provider is on with DEBUG off (LIVEHUB_DEMO=1): "
                "orders can be paid without money",
                hint="fine for the demo; never set LIVEHUB_DEMO in production",
                id="payments.W004",
            )
        ]
    return [
        Error(
            "the sandbox payment provider is on with DEBUG off: anyone could mark an "
            "order paid without money",
            hint="unset LIVEHUB_PAYMENT_SANDBOX (or set it to false), or remove 'sandbox' "
            "from LIVEHUB_PAYMENT_PROVIDERS; use DEBUG=true or LIVEHUB_DEMO=1 for a demo",
            id="payments.E001",
        )
    ]


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
