"""Alipay through ``python-alipay-sdk`` with RSA2 (SHA256withRSA): page pay and WAP pay.

Requests are signed with the app private key; synchronous responses and asynchronous
notifications are verified with the Alipay public key. Amounts travel as decimal
strings in yuan ("129.00"). See docs/payments.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from alipay import AliPay

from payments.errors import InvalidPaymentInput, NotificationRejected, ProviderError
from payments.providers import (
    Ack,
    CreatedPayment,
    Notification,
    Outcome,
    PaymentIntent,
    RefundState,
    TradeState,
    to_major,
    to_minor,
)

TRADE_STATES: dict[str, Outcome] = {
    "TRADE_SUCCESS": "succeeded",
    "TRADE_FINISHED": "succeeded",
    "WAIT_BUYER_PAY": "pending",
    "TRADE_CLOSED": "closed",  # unpaid and timed out, or fully refunded after payment
}
SUCCESS = "10000"
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"


class AlipayProvider:
    code = "alipay"
    methods = frozenset({"page", "wap"})

    def __init__(self, config: dict[str, Any]) -> None:
        self.appid = str(config["appid"])
        self.notify_url = str(config["notify_url"])
        self.return_url = str(config.get("return_url", ""))
        self.client = AliPay(
            appid=self.appid,
            app_notify_url=self.notify_url,
            app_private_key_string=config["app_private_key"],
            alipay_public_key_string=config["alipay_public_key"],
            sign_type="RSA2",
        )
        self.gateway = str(config.get("gateway") or self.client._gateway)
        self.client._gateway = self.gateway

    def _server(self, what: str, fn: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = fn(**kwargs)
        except Exception as exc:  # network errors, unsigned or badly signed responses
            raise ProviderError(f"Alipay {what} failed: {exc}") from exc
        return result

    def create(self, intent: PaymentIntent) -> CreatedPayment:
        if intent.method not in self.methods:
            raise InvalidPaymentInput(f"Alipay has no method {intent.method!r}")
        builder = (
            self.client.api_alipay_trade_page_pay
            if intent.method == "page"
            else self.client.api_alipay_trade_wap_pay
        )
        query = builder(
            subject=intent.description[:256],
            out_trade_no=intent.reference,
            total_amount=to_major(intent.amount, intent.currency),
            return_url=intent.return_url or self.return_url or None,
            notify_url=self.notify_url,
        )
        return CreatedPayment(
            method=intent.method, client_payload={"redirect_url": f"{self.gateway}?{query}"}
        )

    def parse_notification(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        try:
            data = dict(
                parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            )
        except (UnicodeDecodeError, ValueError):
            raise NotificationRejected("malformed Alipay notification") from None
        signature = data.pop("sign", "")
        if not signature:
            raise NotificationRejected("Alipay notification is not signed")
        try:
            genuine = self.client.verify(data, signature)
        except Exception as exc:
            raise NotificationRejected(f"Alipay notification refused: {exc}") from None
        if not genuine:
            raise NotificationRejected("Alipay signature does not match")
        if data.get("app_id") != self.appid:
            raise NotificationRejected("notification is for another app")
        try:
            amount = to_minor(data["total_amount"], "CNY") if data.get("total_amount") else None
            reference = data["out_trade_no"]
        except (KeyError, ValueError) as exc:
            raise NotificationRejected(f"malformed Alipay notification: {exc}") from None
        return Notification(
            trade=TradeState(
                reference=reference,
                outcome=TRADE_STATES.get(data.get("trade_status", ""), "pending"),
                transaction_id=data.get("trade_no", ""),
                amount=amount,
            ),
            extra={"refund_fee": data.get("refund_fee", "")},
        )

    def ack(self, *, ok: bool, message: str = "") -> Ack:
        # Alipay retries until it reads exactly "success".
        return Ack(200, b"success" if ok else b"fail", "text/plain")

    def query(self, *, reference: str) -> TradeState:
        data = self._server("query", self.client.api_alipay_trade_query, out_trade_no=reference)
        if data.get("code") != SUCCESS:
            if data.get("sub_code") == TRADE_NOT_EXIST:
                return TradeState(reference=reference, outcome="pending")
            raise ProviderError(f"Alipay query failed: {data.get('sub_msg') or data.get('msg')}")
        return TradeState(
            reference=reference,
            outcome=TRADE_STATES.get(str(data.get("trade_status")), "pending"),
            transaction_id=str(data.get("trade_no", "")),
            amount=to_minor(str(data["total_amount"]), "CNY") if data.get("total_amount") else None,
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
        data = self._server(
            "refund",
            self.client.api_alipay_trade_refund,
            refund_amount=to_major(amount, currency),
            out_trade_no=reference,
            out_request_no=refund_reference,
            refund_reason=reason[:256],
        )
        if data.get("code") != SUCCESS:
            raise ProviderError(
                f"Alipay refused the refund: {data.get('sub_msg') or data.get('msg')}"
            )
        # Alipay refunds synchronously: code 10000 means the money moved.
        return RefundState(
            refund_reference=refund_reference,
            outcome="succeeded",
            provider_refund_id=str(data.get("trade_no", "")),
        )

    def query_refund(self, *, refund_reference: str) -> RefundState:
        # Refunds either succeed synchronously or raise; a pending one is retried by refund().
        return RefundState(refund_reference=refund_reference, outcome="processing")

    def close(self, *, reference: str) -> None:
        data = self._server("close", self.client.api_alipay_trade_close, out_trade_no=reference)
        if data.get("code") != SUCCESS and data.get("sub_code") != TRADE_NOT_EXIST:
            raise ProviderError(f"Alipay close failed: {data.get('sub_msg') or data.get('msg')}")
