"""The gateway simulators mounted inside LiveHub for the demo (``make demo``).

Tests run each simulator as its own HTTP server thread; the demo has one process, so
the same simulator objects answer under ``/payments/simulator/<name>/`` instead. Their
views are async: the provider clients call them over HTTP from LiveHub's own sync views,
which would deadlock on the shared sync thread otherwise. Notifications go back to the
merchant through a Celery task, as a gateway's notifier calls from outside.
"""

from __future__ import annotations

import json
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from payments.simulators.alipay import AlipaySimulator
from payments.simulators.base import SimulatorServer
from payments.simulators.wechatpay import WeChatPaySimulator

PREFIX = "/payments/simulator"


def keys_file() -> Path:
    return Path(settings.DATA_DIR) / "payment-simulators.json"


def ensure_keys() -> dict[str, dict[str, str]]:
    """Test keys for the demo simulators, generated once and kept in the data dir."""
    path = keys_file()
    if path.is_file():
        keys: dict[str, dict[str, str]] = json.loads(path.read_text())
        return keys
    keys = {"wechatpay": WeChatPaySimulator().keys, "alipay": AlipaySimulator().keys}
    path.write_text(json.dumps(keys))
    path.chmod(0o600)
    return keys


@cache
def simulators() -> dict[str, SimulatorServer]:
    keys = ensure_keys()
    base = settings.LIVEHUB_PUBLIC_URL.rstrip("/")
    wechat = WeChatPaySimulator(keys=keys["wechatpay"])
    wechat.gateway_url = f"{base}{PREFIX}/wechatpay"
    alipay = AlipaySimulator(keys=keys["alipay"])
    alipay.gateway_url = f"{base}{PREFIX}/alipay/gateway.do"
    alipay.payer_url = f"{base}{PREFIX}/alipay/pay/{{reference}}/"
    return {"wechatpay": wechat, "alipay": alipay}


def payer_url(provider: str, reference: str) -> str | None:
    """The demo's stand-in for the payer's phone, if this provider talks to a simulator.

    Real gateways have no such page (the shopper pays in WeChat or Alipay), so this is
    ``None`` unless the simulators are mounted and the provider points at them.
    """
    from payments.providers import provider_config

    if not settings.LIVEHUB_PAYMENT_SIMULATORS or provider not in ("wechatpay", "alipay"):
        return None
    gateway = str(provider_config().get(provider, {}).get("gateway", ""))
    if f"{PREFIX}/{provider}" not in gateway:
        return None
    base = settings.LIVEHUB_PUBLIC_URL.rstrip("/")
    return f"{base}{PREFIX}/{provider}/pay/{reference}/"


def provider_configs() -> dict[str, dict[str, Any]]:
    """What ``payment-providers.json`` holds for the demo: every provider, simulated."""
    base = settings.LIVEHUB_PUBLIC_URL.rstrip("/")
    sims = simulators()
    wechat, alipay = sims["wechatpay"], sims["alipay"]
    assert isinstance(wechat, WeChatPaySimulator) and isinstance(alipay, AlipaySimulator)
    return {
        "sandbox": {},
        "wechatpay": wechat.merchant_config(notify_url=f"{base}/payments/notify/wechatpay/"),
        "alipay": alipay.merchant_config(
            notify_url=f"{base}/payments/notify/alipay/", return_url=f"{base}/"
        ),
    }


@csrf_exempt
async def gateway_view(request: HttpRequest, name: str, path: str) -> HttpResponse:
    simulator = simulators().get(name) if settings.LIVEHUB_PAYMENT_SIMULATORS else None
    if simulator is None:
        return HttpResponse(status=404)
    query = request.META.get("QUERY_STRING", "")
    full = "/" + path + (f"?{query}" if query else "")
    reply = simulator.handle(request.method or "GET", full, dict(request.headers), request.body)
    response = HttpResponse(reply.body, status=reply.status)
    for name_, value in reply.headers.items():
        response[name_] = value
    return response


@csrf_exempt
async def payer_view(request: HttpRequest, name: str, reference: str) -> HttpResponse:
    """The payer's phone: GET shows a confirm button, POST pays and notifies the merchant."""
    simulator = simulators().get(name) if settings.LIVEHUB_PAYMENT_SIMULATORS else None
    if simulator is None:
        return HttpResponse(status=404)
    if request.method == "POST":
        from payments.tasks import simulator_deliver

        if isinstance(simulator, WeChatPaySimulator):
            if reference not in simulator.trades:
                return HttpResponse("unknown trade", status=404)
            simulator.pay(reference)
            headers, body = simulator.transaction_notification(reference)
            url = simulator.trades[reference].notify_url
        else:
            assert isinstance(simulator, AlipaySimulator)
            if reference not in simulator.trades:
                return HttpResponse("open the cashier page first", status=404)
            simulator.pay(reference)
            headers, body = simulator.notification(reference)
            url = simulator.trades[reference].notify_url
        simulator_deliver.delay(url, headers, body.decode())
        shop = settings.LIVEHUB_PUBLIC_URL.rstrip("/") + "/"
        return HttpResponse(
            f"<p>Paid {escape(reference)} with the {escape(name)} simulator. "
            "The notification is on its way.</p>"
            f'<p><a href="{escape(shop)}">Back to the shop</a></p>'.encode()
        )
    form = (
        f"<h1>{escape(name)} simulator</h1><p>Trade {escape(reference)}</p>"
        '<form method="post"><button>Confirm payment</button></form>'
    )
    return HttpResponse(form.encode())
