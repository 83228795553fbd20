"""One typed Protocol for every payment gateway, and the explicit registry.

A provider turns our intents into its wire protocol and back. It never touches the
database: the services in ``payments.services`` own every write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

from django.conf import settings

from hub.kernel.money import MINOR_UNITS
from payments.errors import ProviderNotConfigured

#: What a gateway says about a trade, in our words.
Outcome = Literal["pending", "succeeded", "failed", "closed"]
RefundOutcome = Literal["processing", "succeeded", "failed"]


@dataclass(frozen=True)
class PaymentIntent:
    reference: str  #: our trade number (out_trade_no)
    amount: int  #: minor units
    currency: str
    description: str
    method: str
    client_ip: str = ""
    openid: str = ""  #: WeChat JSAPI payer
    return_url: str = ""


@dataclass(frozen=True)
class CreatedPayment:
    method: str
    client_payload: dict[str, Any]  #: QR content, JSAPI parameters or a redirect URL


@dataclass(frozen=True)
class TradeState:
    reference: str
    outcome: Outcome
    transaction_id: str = ""
    amount: int | None = None  #: what the gateway says was paid, minor units


@dataclass(frozen=True)
class RefundState:
    refund_reference: str
    outcome: RefundOutcome
    provider_refund_id: str = ""


@dataclass(frozen=True)
class Ack:
    """The HTTP answer a gateway expects after a notification."""

    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Notification:
    trade: TradeState | None = None
    refund: RefundState | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(Protocol):
    code: str
    methods: frozenset[str]

    def create(self, intent: PaymentIntent) -> CreatedPayment: ...

    def parse_notification(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify and decode a callback; raise ``NotificationRejected`` if it is not genuine."""
        ...

    def ack(self, *, ok: bool, message: str = "") -> Ack: ...

    def query(self, *, reference: str) -> TradeState: ...

    def refund(
        self,
        *,
        reference: str,
        refund_reference: str,
        amount: int,
        total: int,
        currency: str,
        reason: str,
    ) -> RefundState: ...

    def query_refund(self, *, refund_reference: str) -> RefundState: ...

    def close(self, *, reference: str) -> None: ...


# ---- registry ---------------------------------------------------------------------------

ProviderFactory = Callable[[dict[str, Any]], PaymentProvider]
_factories: dict[str, ProviderFactory] = {}
_instances: dict[str, tuple[str, PaymentProvider]] = {}


def register_provider(code: str, factory: ProviderFactory) -> None:
    _factories[code] = factory


def provider_config() -> dict[str, dict[str, Any]]:
    """Provider settings: ``LIVEHUB_PAYMENT_PROVIDERS`` over the JSON file, if any.

    The file (``LIVEHUB_PAYMENT_PROVIDERS_FILE``) is read on each call so the demo loader
    can configure simulators without a restart. A ``sandbox`` entry in the file counts only
    while ``LIVEHUB_PAYMENT_SANDBOX`` is on, so turning the switch off always removes the
    sandbox, whatever a file left behind by a demo says.
    """
    merged: dict[str, dict[str, Any]] = {}
    path = Path(settings.LIVEHUB_PAYMENT_PROVIDERS_FILE)
    if path.is_file():
        merged.update(json.loads(path.read_text()))
        if not settings.LIVEHUB_PAYMENT_SANDBOX:
            merged.pop("sandbox", None)
    merged.update(settings.LIVEHUB_PAYMENT_PROVIDERS)
    return merged


def get_provider(code: str) -> PaymentProvider:
    _load_builtin()
    if code not in _factories:
        raise ProviderNotConfigured(f"unknown payment provider {code!r}", provider=code)
    config = provider_config().get(code)
    if config is None:
        raise ProviderNotConfigured(f"payment provider {code!r} is not configured", provider=code)
    fingerprint = json.dumps(config, sort_keys=True)
    cached = _instances.get(code)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    provider = _factories[code](config)
    _instances[code] = (fingerprint, provider)
    return provider


def configured_providers() -> list[str]:
    _load_builtin()
    return sorted(code for code in provider_config() if code in _factories)


def _load_builtin() -> None:
    if _factories:
        return
    from payments.providers.alipay.client import AlipayProvider
    from payments.providers.sandbox.client import SandboxProvider
    from payments.providers.wechatpay.client import WeChatPayProvider

    register_provider("sandbox", SandboxProvider)
    register_provider("wechatpay", WeChatPayProvider)
    register_provider("alipay", AlipayProvider)


# ---- amounts ----------------------------------------------------------------------------


def to_major(amount: int, currency: str) -> str:
    """Minor units to the decimal string gateways such as Alipay expect ("12.30")."""
    per = MINOR_UNITS[currency]
    places = len(str(per)) - 1
    value = Decimal(amount) / Decimal(per)
    return str(value.quantize(Decimal(1).scaleb(-places)))


def to_minor(value: str, currency: str) -> int:
    """A gateway's decimal string to minor units; refuses sub-minor precision."""
    per = MINOR_UNITS[currency]
    exact = Decimal(value) * per
    rounded = exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if rounded != exact:
        raise ValueError(f"{value!r} has more precision than {currency} allows")
    return int(rounded)
