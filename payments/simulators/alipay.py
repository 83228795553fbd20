"""A local Alipay OpenAPI gateway (``gateway.do``) speaking RSA2.

Checks that each request is signed SHA256withRSA by the app key over the sorted
``k=v&...`` string (``sign`` excluded), answers ``{"<method>_response": {...}, "sign"}``
signed by the Alipay key over the exact response object text, serves the cashier page
for page/WAP pay, and builds form-encoded notifications signed over the sorted
parameters without ``sign`` and ``sign_type``, as Alipay documents.
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from payments.simulators.base import Reply, SimulatorServer
from payments.simulators.keys import rsa_keypair

CST = timezone(timedelta(hours=8))  # Alipay timestamps are Beijing time


@dataclass
class Trade:
    out_trade_no: str
    total_amount: str
    subject: str
    notify_url: str
    product_code: str
    status: str = "WAIT_BUYER_PAY"
    trade_no: str = ""
    gmt_payment: str = ""
    refunds: dict[str, str] = field(default_factory=dict)  #: out_request_no -> amount


def _now() -> str:
    return datetime.now(CST).strftime("%Y-%m-%d %H:%M:%S")


def _cents(value: str) -> int:
    return int(Decimal(value) * 100)


class AlipaySimulator(SimulatorServer):
    def __init__(
        self, *, appid: str = "2021000000000001", keys: dict[str, str] | None = None
    ) -> None:
        """Fresh test keys, or ``keys`` from a previous run (the demo keeps them on disk)."""
        super().__init__()
        self.appid = appid
        if keys is None:
            app, platform = rsa_keypair(), rsa_keypair()
            keys = {
                "app_private": app.private_pem,
                "app_public": app.public_pem,
                "alipay_private": platform.private_pem,
                "alipay_public": platform.public_pem,
            }
        self.keys = keys
        self.app_private_pem = keys["app_private"]
        self.app_public_key = load_pem_public_key(keys["app_public"].encode())
        self.alipay_private_key = load_pem_private_key(keys["alipay_private"].encode(), None)
        self.alipay_public_pem = keys["alipay_public"]
        self.trades: dict[str, Trade] = {}
        self.gateway_url = ""
        #: The demo's payer page (``{reference}`` filled in); the cashier links to it.
        self.payer_url = ""

    @property
    def gateway(self) -> str:
        return self.gateway_url or f"{self.base_url}/gateway.do"

    def merchant_config(self, *, notify_url: str, return_url: str = "") -> dict[str, Any]:
        return {
            "appid": self.appid,
            "app_private_key": self.app_private_pem,
            "alipay_public_key": self.alipay_public_pem,
            "gateway": self.gateway,
            "notify_url": notify_url,
            "return_url": return_url,
        }

    # ---- signatures ---------------------------------------------------------------------

    def _sign(self, message: str) -> str:
        assert isinstance(self.alipay_private_key, RSAPrivateKey)
        raw = self.alipay_private_key.sign(message.encode(), padding.PKCS1v15(), SHA256())
        return base64.b64encode(raw).decode()

    def _verify_request(self, params: dict[str, str]) -> str:
        signature = params.pop("sign", "")
        if params.get("sign_type") != "RSA2":
            return "sign_type must be RSA2"
        if params.get("app_id") != self.appid:
            return "unknown app_id"
        message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        assert isinstance(self.app_public_key, RSAPublicKey)
        try:
            self.app_public_key.verify(
                base64.b64decode(signature), message.encode(), padding.PKCS1v15(), SHA256()
            )
        except (InvalidSignature, ValueError):
            return "invalid signature"
        return ""

    def _response(self, method: str, payload: dict[str, Any]) -> Reply:
        key = method.replace(".", "_") + "_response"
        inner = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        body = f'{{"{key}":{inner},"sign":"{self._sign(inner)}"}}'
        return Reply(200, body.encode(), {"Content-Type": "application/json;charset=utf-8"})

    def _business_error(self, method: str, sub_code: str, sub_msg: str) -> Reply:
        return self._response(
            method,
            {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg},
        )

    # ---- gateway.do ---------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(path)
        if parts.path != "/gateway.do":
            return Reply(404, b"not found")
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if body:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        api = params.get("method", "")
        problem = self._verify_request(params)
        if problem:
            error = {
                "code": "40002",
                "msg": "Invalid Arguments",
                "sub_code": "isv.invalid-signature",
                "sub_msg": problem,
            }
            return Reply(
                200,
                json.dumps({"error_response": error}).encode(),
                {"Content-Type": "application/json"},
            )
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            return self._business_error(api, "isv.invalid-biz-content", "biz_content is not JSON")
        with self.lock:
            if api in ("alipay.trade.page.pay", "alipay.trade.wap.pay"):
                return self._cashier(params, biz)
            if api == "alipay.trade.query":
                return self._query(api, biz)
            if api == "alipay.trade.refund":
                return self._refund(api, biz)
            if api == "alipay.trade.close":
                return self._close(api, biz)
        return self._business_error(api, "isv.invalid-method", f"unsupported method {api}")

    def _cashier(self, params: dict[str, str], biz: dict[str, Any]) -> Reply:
        out_trade_no = str(biz.get("out_trade_no", ""))
        total = str(biz.get("total_amount", ""))
        if not out_trade_no or not total or Decimal(total) <= 0:
            return Reply(
                400, b"missing out_trade_no or total_amount", {"Content-Type": "text/plain"}
            )
        existing = self.trades.get(out_trade_no)
        if existing is None:
            self.trades[out_trade_no] = Trade(
                out_trade_no=out_trade_no,
                total_amount=total,
                subject=str(biz.get("subject", "")),
                notify_url=params.get("notify_url", ""),
                product_code=str(biz.get("product_code", "")),
            )
        elif existing.total_amount != total:
            return Reply(
                400, b"out_trade_no reused with a new amount", {"Content-Type": "text/plain"}
            )
        pay = (
            f'<form method="post" action="{escape(self.payer_url.format(reference=out_trade_no))}">'
            "<button>Pay with Alipay (simulated)</button></form>"
            if self.payer_url
            else ""
        )
        html = (
            "<html><body><h1>Alipay cashier (simulator)</h1>"
            f"<p>{escape(out_trade_no)}: ¥{escape(total)}</p>{pay}</body></html>"
        )
        return Reply(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _query(self, api: str, biz: dict[str, Any]) -> Reply:
        trade = self.trades.get(str(biz.get("out_trade_no", "")))
        if trade is None:
            return self._business_error(api, "ACQ.TRADE_NOT_EXIST", "trade does not exist")
        payload: dict[str, Any] = {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": trade.total_amount,
        }
        if trade.trade_no:
            payload.update(trade_no=trade.trade_no, send_pay_date=trade.gmt_payment)
        return self._response(api, payload)

    def _refund(self, api: str, biz: dict[str, Any]) -> Reply:
        trade = self.trades.get(str(biz.get("out_trade_no", "")))
        if trade is None or not trade.trade_no:
            return self._business_error(api, "ACQ.TRADE_STATUS_ERROR", "trade is not paid")
        request_no = str(biz.get("out_request_no") or trade.out_trade_no)
        amount = str(biz.get("refund_amount", "0"))
        if request_no not in trade.refunds:
            already = sum(_cents(v) for v in trade.refunds.values())
            if _cents(amount) <= 0 or already + _cents(amount) > _cents(trade.total_amount):
                return self._business_error(
                    api, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "refund exceeds the amount paid"
                )
            trade.refunds[request_no] = amount
            if sum(_cents(v) for v in trade.refunds.values()) == _cents(trade.total_amount):
                trade.status = "TRADE_CLOSED"
        refunded = sum(_cents(v) for v in trade.refunds.values())
        return self._response(
            api,
            {
                "code": "10000",
                "msg": "Success",
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
                "fund_change": "Y",
                "refund_fee": f"{Decimal(refunded) / 100:.2f}",
                "gmt_refund_pay": _now(),
            },
        )

    def _close(self, api: str, biz: dict[str, Any]) -> Reply:
        trade = self.trades.get(str(biz.get("out_trade_no", "")))
        if trade is None:
            return self._business_error(api, "ACQ.TRADE_NOT_EXIST", "trade does not exist")
        if trade.status != "WAIT_BUYER_PAY":
            return self._business_error(api, "ACQ.TRADE_STATUS_ERROR", "trade cannot be closed")
        trade.status = "TRADE_CLOSED"
        return self._response(
            api, {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no}
        )

    # ---- the payer's side and callbacks --------------------------------------------------

    def pay(self, out_trade_no: str) -> None:
        with self.lock:
            trade = self.trades[out_trade_no]
            trade.status = "TRADE_SUCCESS"
            trade.trade_no = trade.trade_no or datetime.now(CST).strftime(
                "%Y%m%d"
            ) + secrets.token_hex(10)
            trade.gmt_payment = _now()

    def notification(self, out_trade_no: str) -> tuple[dict[str, str], bytes]:
        """The signed asynchronous notification for the trade's current state."""
        trade = self.trades[out_trade_no]
        params = {
            "notify_time": _now(),
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "app_id": self.appid,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": trade.total_amount,
            "receipt_amount": trade.total_amount,
            "buyer_id": "2088102177846880",
            "gmt_create": _now(),
            "gmt_payment": trade.gmt_payment,
            "subject": trade.subject,
        }
        message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        params["sign"] = self._sign(message)
        params["sign_type"] = "RSA2"
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return headers, urlencode(params).encode()

    def deliver(self, url: str, notification: tuple[dict[str, str], bytes]) -> int:
        headers, body = notification
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
