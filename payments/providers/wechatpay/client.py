"""WeChat Pay API v3 through the ``wechatpayv3`` SDK: Native (QR) and JSAPI.

Requests are signed RSA-SHA256 with the merchant key (``Authorization:
WECHATPAY2-SHA256-RSA2048 ...``); responses and notifications are verified against the
WeChat Pay platform public key (``Wechatpay-Serial`` = public key id), and notification
resources are decrypted with AES-256-GCM under the APIv3 key. See docs/payments.md.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from wechatpayv3 import WeChatPay, WeChatPayType

from payments.errors import InvalidPaymentInput, NotificationRejected, ProviderError
from payments.providers import (
    Ack,
    CreatedPayment,
    Notification,
    Outcome,
    PaymentIntent,
    RefundOutcome,
    RefundState,
    TradeState,
)

#: Notifications older than this are refused as replays (WeChat Pay recommends 5 minutes).
MAX_NOTIFICATION_AGE_SECONDS = 300

TRADE_STATES: dict[str, Outcome] = {
    "SUCCESS": "succeeded",
    "REFUND": "succeeded",  # paid, then (partly) refunded
    "NOTPAY": "pending",
    "USERPAYING": "pending",
    "CLOSED": "closed",
    "REVOKED": "closed",
    "PAYERROR": "failed",
}
REFUND_STATES: dict[str, RefundOutcome] = {
    "SUCCESS": "succeeded",
    "PROCESSING": "processing",
    "ABNORMAL": "failed",
    "CLOSED": "failed",
}


class WeChatPayProvider:
    code = "wechatpay"
    methods = frozenset({"native", "jsapi"})

    def __init__(self, config: dict[str, Any]) -> None:
        self.mchid = str(config["mchid"])
        self.appid = str(config["appid"])
        self.notify_url = str(config["notify_url"])
        # WeChat Pay public key mode (current), or platform-certificate mode (merchants
        # onboarded earlier): the downloaded platform certificate(s) sit in ``cert_dir``.
        verify: dict[str, Any] = (
            {"public_key": config["public_key"], "public_key_id": config["public_key_id"]}
            if config.get("public_key")
            else {"cert_dir": str(config["cert_dir"])}
        )
        self.client = WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE,
            mchid=self.mchid,
            private_key=config["private_key"],
            cert_serial_no=config["cert_serial_no"],
            appid=self.appid,
            apiv3_key=config["apiv3_key"],
            notify_url=self.notify_url,
            timeout=(5, 15),
            **verify,
        )
        if config.get("gateway"):
            # The SDK has no public knob for the host; the simulator stands in for it.
            self.client._core._gate_way = str(config["gateway"]).rstrip("/")

    def _call(self, what: str, fn: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        try:
            code, text = fn(**kwargs)
        except Exception as exc:  # network errors and response signature failures
            raise ProviderError(f"WeChat Pay {what} failed: {exc}") from exc
        data: dict[str, Any] = {}
        if text:
            try:
                data = json.loads(text)
            except ValueError:
                data = {}
        return int(code), data

    def create(self, intent: PaymentIntent) -> CreatedPayment:
        if intent.currency != "CNY":
            raise InvalidPaymentInput("WeChat Pay charges in CNY only")
        if intent.method not in self.methods:
            raise InvalidPaymentInput(f"WeChat Pay has no method {intent.method!r}")
        kwargs: dict[str, Any] = {
            "description": intent.description[:127],
            "out_trade_no": intent.reference,
            "amount": {"total": intent.amount, "currency": "CNY"},
        }
        if intent.method == "jsapi":
            if not intent.openid:
                raise InvalidPaymentInput("JSAPI payment needs the payer's WeChat openid")
            kwargs.update(pay_type=WeChatPayType.JSAPI, payer={"openid": intent.openid})
        else:
            kwargs.update(pay_type=WeChatPayType.NATIVE)
        code, data = self._call("create", self.client.pay, **kwargs)
        if code != 200:
            raise ProviderError(f"WeChat Pay refused the payment: {data.get('message', code)}")
        if intent.method == "native":
            return CreatedPayment(method="native", client_payload={"code_url": data["code_url"]})
        # JSAPI: the page calls WeixinJSBridge.invoke('getBrandWCPayRequest', params).
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        package = f"prepay_id={data['prepay_id']}"
        pay_sign = self.client.sign([self.appid, timestamp, nonce, package])
        params = {
            "appId": self.appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": pay_sign,
        }
        return CreatedPayment(method="jsapi", client_payload={"jsapi": params})

    def parse_notification(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            timestamp = int(lowered.get("wechatpay-timestamp", ""))
        except ValueError:
            raise NotificationRejected("missing Wechatpay-Timestamp") from None
        if abs(time.time() - timestamp) > MAX_NOTIFICATION_AGE_SECONDS:
            raise NotificationRejected("notification timestamp is too old (replay?)")
        try:
            data = self.client.callback(lowered, body)
        except Exception as exc:
            raise NotificationRejected(f"WeChat Pay notification refused: {exc}") from None
        if not data:
            raise NotificationRejected("WeChat Pay signature or decryption failed")
        resource = data["resource"]
        if str(resource.get("mchid")) != self.mchid:
            raise NotificationRejected("notification is for another merchant")
        event_type = str(data.get("event_type", ""))
        if event_type.startswith("REFUND."):
            return Notification(
                refund=RefundState(
                    refund_reference=str(resource["out_refund_no"]),
                    outcome=REFUND_STATES.get(str(resource.get("refund_status")), "processing"),
                    provider_refund_id=str(resource.get("refund_id", "")),
                )
            )
        return Notification(trade=self._trade(resource))

    def _trade(self, resource: dict[str, Any]) -> TradeState:
        amount = resource.get("amount") or {}
        return TradeState(
            reference=str(resource["out_trade_no"]),
            outcome=TRADE_STATES.get(str(resource.get("trade_state")), "pending"),
            transaction_id=str(resource.get("transaction_id", "")),
            amount=int(amount["total"]) if "total" in amount else None,
        )

    def ack(self, *, ok: bool, message: str = "") -> Ack:
        if ok:
            return Ack(204, b"", "application/json")
        body = json.dumps({"code": "FAIL", "message": message or "failed"}).encode()
        return Ack(400, body, "application/json")

    def query(self, *, reference: str) -> TradeState:
        code, data = self._call("query", self.client.query, out_trade_no=reference)
        if code == 404:
            return TradeState(reference=reference, outcome="pending")
        if code != 200:
            raise ProviderError(f"WeChat Pay query failed: {data.get('message', code)}")
        return self._trade(data)

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
        code, data = self._call(
            "refund",
            self.client.refund,
            out_refund_no=refund_reference,
            amount={"refund": amount, "total": total, "currency": currency},
            out_trade_no=reference,
            reason=reason[:80] or None,
        )
        if code != 200:
            raise ProviderError(f"WeChat Pay refused the refund: {data.get('message', code)}")
        return RefundState(
            refund_reference=refund_reference,
            outcome=REFUND_STATES.get(str(data.get("status")), "processing"),
            provider_refund_id=str(data.get("refund_id", "")),
        )

    def query_refund(self, *, refund_reference: str) -> RefundState:
        code, data = self._call(
            "refund query", self.client.query_refund, out_refund_no=refund_reference
        )
        if code != 200:
            raise ProviderError(f"WeChat Pay refund query failed: {data.get('message', code)}")
        return RefundState(
            refund_reference=refund_reference,
            outcome=REFUND_STATES.get(str(data.get("status")), "processing"),
            provider_refund_id=str(data.get("refund_id", "")),
        )

    def close(self, *, reference: str) -> None:
        code, data = self._call("close", self.client.close, out_trade_no=reference)
        if code not in (200, 204) and data.get("code") != "ORDER_NOT_EXIST":
            raise ProviderError(f"WeChat Pay close failed: {data.get('message', code)}")


__all__ = ["WeChatPayProvider"]
