"""The sandbox gateway: a local payment page (pay / fail / cancel) for the demo and tests.

Its protocol is deliberately small but real: the page posts a JSON notification signed
with HMAC-SHA256 under the sandbox secret, which ``parse_notification`` verifies like any
gateway's. Trade state lives in the cache, as a remote gateway's would live remotely.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from payments.errors import InvalidPaymentInput, NotificationRejected
from payments.providers import (
    Ack,
    CreatedPayment,
    Notification,
    Outcome,
    PaymentIntent,
    RefundState,
    TradeState,
)

SIGNATURE_HEADER = "X-Sandbox-Signature"
OUTCOMES: frozenset[str] = frozenset({"succeeded", "failed", "closed"})


class SandboxProvider:
    code = "sandbox"
    methods = frozenset({"page"})

    def __init__(self, config: dict[str, Any]) -> None:
        self.secret = str(config.get("secret") or settings.SECRET_KEY).encode()

    # ---- the gateway side (used by the sandbox page) -----------------------------------

    def _key(self, reference: str) -> str:
        return f"payments:sandbox:{reference}"

    def trade(self, reference: str) -> dict[str, Any] | None:
        return cast("dict[str, Any] | None", cache.get(self._key(reference)))

    def settle(self, *, reference: str, outcome: str) -> tuple[dict[str, str], bytes]:
        """The shopper pressed a button: record it and build the signed notification."""
        trade = self.trade(reference)
        if trade is None:
            raise InvalidPaymentInput(f"no sandbox trade {reference}")
        if outcome not in OUTCOMES:
            raise InvalidPaymentInput(f"unknown sandbox outcome {outcome!r}")
        trade["outcome"] = outcome
        if outcome == "succeeded":
            trade["transaction_id"] = f"SBX{hashlib.sha256(reference.encode()).hexdigest()[:20]}"
        cache.set(self._key(reference), trade, timeout=7 * 86400)
        body = json.dumps(
            {
                "reference": reference,
                "outcome": outcome,
                "amount": trade["amount"],
                "transaction_id": trade.get("transaction_id", ""),
            },
            sort_keys=True,
        ).encode()
        return {SIGNATURE_HEADER: self.sign(body)}, body

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    # ---- the merchant side (the Protocol) ----------------------------------------------

    def create(self, intent: PaymentIntent) -> CreatedPayment:
        cache.set(
            self._key(intent.reference),
            {"amount": intent.amount, "currency": intent.currency, "outcome": "pending"},
            timeout=7 * 86400,
        )
        url = reverse("payments:sandbox-page", kwargs={"reference": intent.reference})
        return CreatedPayment(method="page", client_payload={"redirect_url": url})

    def parse_notification(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        signature = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower()) or ""
        if not hmac.compare_digest(signature, self.sign(body)):
            raise NotificationRejected("sandbox signature does not match")
        try:
            data = json.loads(body)
            outcome = data["outcome"]
            reference = str(data["reference"])
            amount = int(data["amount"])
        except (ValueError, KeyError, TypeError) as exc:
            raise NotificationRejected(f"malformed sandbox notification: {exc}") from None
        if outcome not in OUTCOMES:
            raise NotificationRejected(f"unknown sandbox outcome {outcome!r}")
        return Notification(
            trade=TradeState(
                reference=reference,
                outcome=cast(Outcome, outcome),
                transaction_id=str(data.get("transaction_id", "")),
                amount=amount,
            )
        )

    def ack(self, *, ok: bool, message: str = "") -> Ack:
        body = json.dumps({"ok": ok, "message": message}).encode()
        return Ack(200 if ok else 400, body, "application/json")

    def query(self, *, reference: str) -> TradeState:
        trade = self.trade(reference)
        if trade is None:
            return TradeState(reference=reference, outcome="pending")
        return TradeState(
            reference=reference,
            outcome=cast(Outcome, trade["outcome"]),
            transaction_id=trade.get("transaction_id", ""),
            amount=int(trade["amount"]),
        )

    def refund(
        self,
        *,
        reference: str,
        refund_reference: str,
        amount: int,
        total: int,
        currency: str,
        reason: str,
    ) -> RefundState:
        trade = self.trade(reference)
        if trade is None or trade["outcome"] != "succeeded":
            return RefundState(refund_reference=refund_reference, outcome="failed")
        refunds: dict[str, int] = trade.setdefault("refunds", {})
        if refund_reference not in refunds:
            if sum(refunds.values()) + amount > int(trade["amount"]):
                return RefundState(refund_reference=refund_reference, outcome="failed")
            refunds[refund_reference] = amount
            cache.set(self._key(reference), trade, timeout=7 * 86400)
        return RefundState(
            refund_reference=refund_reference,
            outcome="succeeded",
            provider_refund_id=f"SBXR{refund_reference}",
        )

    def query_refund(self, *, refund_reference: str) -> RefundState:
        return RefundState(refund_reference=refund_reference, outcome="processing")

    def close(self, *, reference: str) -> None:
        trade = self.trade(reference)
        if trade is not None and trade["outcome"] == "pending":
            trade["outcome"] = "closed"
            cache.set(self._key(reference), trade, timeout=7 * 86400)
