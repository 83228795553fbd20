"""A local WeChat Pay API v3 gateway: verifies our request signatures, answers signed.

Implements the endpoints LiveHub uses (Native/JSAPI prepay, query, close, refund,
refund query) and builds callbacks the way WeChat Pay does: a JSON envelope whose
``resource`` is AES-256-GCM encrypted under the APIv3 key, signed RSA-SHA256 with the
platform key over ``timestamp\\nnonce\\nbody\\n``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from cryptography.x509.oid import NameOID

from payments.simulators.base import Reply, SimulatorServer
from payments.simulators.keys import rsa_keypair

AUTH = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Trade:
    out_trade_no: str
    total: int
    description: str
    notify_url: str
    trade_type: str
    state: str = "NOTPAY"
    transaction_id: str = ""
    openid: str = ""
    success_time: str = ""
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)


def _now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


class WeChatPaySimulator(SimulatorServer):
    def __init__(
        self,
        *,
        mchid: str = "1900000109",
        appid: str = "wxd678efh567hg6787",
        keys: dict[str, str] | None = None,
    ) -> None:
        """Fresh test keys, or ``keys`` from ``key_state()`` (the demo keeps them on disk)."""
        super().__init__()
        self.mchid = mchid
        self.appid = appid
        if keys is None:
            merchant, platform = rsa_keypair(), rsa_keypair()
            keys = {
                "apiv3_key": secrets.token_hex(16),  # 32 ASCII characters, as WeChat issues
                "merchant_private": merchant.private_pem,
                "merchant_public": merchant.public_pem,
                "merchant_serial": secrets.token_hex(20).upper(),
                "platform_private": platform.private_pem,
                "platform_public": platform.public_pem,
                "public_key_id": f"PUB_KEY_ID_{secrets.token_hex(12).upper()}",
            }
        self.keys = keys
        self.apiv3_key = keys["apiv3_key"]
        self.merchant_private_pem = keys["merchant_private"]
        self.merchant_public_key = load_pem_public_key(keys["merchant_public"].encode())
        self.merchant_serial = keys["merchant_serial"]
        self.platform_private_key = load_pem_private_key(keys["platform_private"].encode(), None)
        self.platform_public_pem = keys["platform_public"]
        self.public_key_id = keys["public_key_id"]
        #: The serial our answers and callbacks name: the public key id, or in the older
        #: platform-certificate mode (``platform_certificate_config``) the certificate's.
        self.signing_serial = self.public_key_id
        self.gateway_url = ""
        self.trades: dict[str, Trade] = {}
        self.requests_seen: list[tuple[str, str]] = []

    def merchant_config(self, *, notify_url: str) -> dict[str, Any]:
        """What LiveHub's ``wechatpay`` provider needs to talk to this gateway."""
        return {
            "mchid": self.mchid,
            "appid": self.appid,
            "private_key": self.merchant_private_pem,
            "cert_serial_no": self.merchant_serial,
            "apiv3_key": self.apiv3_key,
            "public_key": self.platform_public_pem,
            "public_key_id": self.public_key_id,
            "gateway": self.gateway_url or self.base_url,
            "notify_url": notify_url,
        }

    def platform_certificate_config(self, *, notify_url: str, cert_dir: str) -> dict[str, Any]:
        """The merchant config for platform-certificate mode (merchants onboarded before
        the WeChat Pay public key): the platform certificate, as downloaded, sits in
        ``cert_dir`` and this gateway signs with its serial number from now on."""
        certificate = self._platform_certificate()
        serial = format(certificate.serial_number, "X")
        Path(cert_dir).mkdir(parents=True, exist_ok=True)
        (Path(cert_dir) / f"{serial}.pem").write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
        )
        self.signing_serial = serial
        config = self.merchant_config(notify_url=notify_url)
        del config["public_key"], config["public_key_id"]
        return {**config, "cert_dir": cert_dir}

    def _platform_certificate(self) -> x509.Certificate:
        assert isinstance(self.platform_private_key, RSAPrivateKey)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (test)")])
        now = datetime.now(UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.platform_private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .sign(self.platform_private_key, SHA256())
        )

    # ---- signatures ---------------------------------------------------------------------

    def _sign(self, message: str) -> str:
        assert isinstance(self.platform_private_key, RSAPrivateKey)
        raw = self.platform_private_key.sign(message.encode(), padding.PKCS1v15(), SHA256())
        return base64.b64encode(raw).decode()

    def signed_headers(self, body: str) -> dict[str, str]:
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16).upper()
        return {
            "Content-Type": "application/json",
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": self._sign(f"{timestamp}\n{nonce}\n{body}\n"),
            "Wechatpay-Serial": self.signing_serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    def _check_authorization(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> str:
        header = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, params = header.partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return "unsupported Authorization scheme"
        fields = dict(AUTH.findall(params))
        if fields.get("mchid") != self.mchid:
            return "mchid does not match"
        if fields.get("serial_no") != self.merchant_serial:
            return "merchant certificate serial does not match"
        if abs(time.time() - int(fields.get("timestamp", "0"))) > 300:
            return "request timestamp expired"
        message = f"{method}\n{path}\n{fields['timestamp']}\n{fields.get('nonce_str', '')}\n"
        message += body.decode() + "\n"
        assert isinstance(self.merchant_public_key, RSAPublicKey)
        try:
            self.merchant_public_key.verify(
                base64.b64decode(fields.get("signature", "")),
                message.encode(),
                padding.PKCS1v15(),
                SHA256(),
            )
        except (InvalidSignature, ValueError):
            return "signature verification failed"
        return ""

    def _json(self, status: int, data: dict[str, Any] | None) -> Reply:
        body = "" if data is None else json.dumps(data, ensure_ascii=False)
        return Reply(status, body.encode(), self.signed_headers(body))

    def _error(self, status: int, code: str, message: str) -> Reply:
        return self._json(status, {"code": code, "message": message})

    # ---- endpoints ----------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        problem = self._check_authorization(method, path, headers, body)
        if problem:
            return self._error(401, "SIGN_ERROR", problem)
        self.requests_seen.append((method, path))
        route = urlsplit(path).path
        data: dict[str, Any] = json.loads(body) if body else {}
        with self.lock:
            if method == "POST" and route in (
                "/v3/pay/transactions/native",
                "/v3/pay/transactions/jsapi",
            ):
                return self._prepay(route.rsplit("/", 1)[1], data)
            match = re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)(/close)?", route)
            if match and method == "GET" and not match.group(2):
                return self._query(match.group(1))
            if match and method == "POST" and match.group(2):
                return self._close(match.group(1))
            if method == "POST" and route == "/v3/refund/domestic/refunds":
                return self._refund(data)
            match = re.fullmatch(r"/v3/refund/domestic/refunds/([^/]+)", route)
            if match and method == "GET":
                return self._refund_query(match.group(1))
        return self._error(404, "NOT_FOUND", f"no route {method} {route}")

    def _prepay(self, trade_type: str, data: dict[str, Any]) -> Reply:
        required = ["appid", "mchid", "description", "out_trade_no", "notify_url", "amount"]
        missing = [k for k in required if not data.get(k)]
        if missing:
            return self._error(400, "PARAM_ERROR", f"missing {', '.join(missing)}")
        if data["appid"] != self.appid or data["mchid"] != self.mchid:
            return self._error(400, "APPID_MCHID_NOT_MATCH", "appid and mchid do not match")
        total = data["amount"].get("total")
        if not isinstance(total, int) or total <= 0:
            return self._error(400, "PARAM_ERROR", "amount.total must be a positive integer")
        if trade_type == "jsapi" and not (data.get("payer") or {}).get("openid"):
            return self._error(400, "PARAM_ERROR", "payer.openid is required for JSAPI")
        existing = self.trades.get(data["out_trade_no"])
        if existing is not None:
            if existing.state == "SUCCESS":
                return self._error(400, "ORDERPAID", "order already paid")
            if existing.total != total:
                return self._error(400, "INVALID_REQUEST", "out_trade_no reused with new amount")
        else:
            self.trades[data["out_trade_no"]] = Trade(
                out_trade_no=data["out_trade_no"],
                total=total,
                description=data["description"],
                notify_url=data["notify_url"],
                trade_type=trade_type.upper(),
                openid=(data.get("payer") or {}).get("openid", ""),
            )
        token = secrets.token_urlsafe(12)
        if trade_type == "native":
            return self._json(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={token}"})
        return self._json(200, {"prepay_id": f"wx{secrets.token_hex(15)}"})

    def _trade_json(self, trade: Trade) -> dict[str, Any]:
        data: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": trade.out_trade_no,
            "trade_type": trade.trade_type,
            "trade_state": trade.state,
            "trade_state_desc": trade.state,
            "amount": {"total": trade.total, "currency": "CNY"},
        }
        if trade.transaction_id:
            data["transaction_id"] = trade.transaction_id
            data["success_time"] = trade.success_time
            data["payer"] = {"openid": trade.openid or "oSimulatedPayer"}
            data["amount"].update(payer_total=trade.total, payer_currency="CNY")
        return data

    def _query(self, out_trade_no: str) -> Reply:
        trade = self.trades.get(out_trade_no)
        if trade is None:
            return self._error(404, "ORDER_NOT_EXIST", "order does not exist")
        return self._json(200, self._trade_json(trade))

    def _close(self, out_trade_no: str) -> Reply:
        trade = self.trades.get(out_trade_no)
        if trade is None:
            return self._error(404, "ORDER_NOT_EXIST", "order does not exist")
        if trade.state == "SUCCESS":
            return self._error(400, "ORDERPAID", "order already paid")
        trade.state = "CLOSED"
        return self._json(204, None)

    def _refund(self, data: dict[str, Any]) -> Reply:
        trade = self.trades.get(data.get("out_trade_no", ""))
        if trade is None or trade.state not in ("SUCCESS", "REFUND"):
            return self._error(400, "INVALID_REQUEST", "trade is not paid")
        out_refund_no = data.get("out_refund_no", "")
        amount = data.get("amount") or {}
        if out_refund_no in trade.refunds:
            return self._json(200, trade.refunds[out_refund_no])
        refund = int(amount.get("refund", 0))
        if amount.get("total") != trade.total:
            return self._error(400, "PARAM_ERROR", "amount.total does not match the trade")
        already = sum(r["amount"]["refund"] for r in trade.refunds.values())
        if refund <= 0 or already + refund > trade.total:
            return self._error(400, "NOT_ENOUGH", "refund exceeds the amount paid")
        record = {
            "refund_id": f"50{secrets.token_hex(14)}",
            "out_refund_no": out_refund_no,
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "channel": "ORIGINAL",
            "create_time": _now_iso(),
            "status": "PROCESSING",
            "amount": {"total": trade.total, "refund": refund, "currency": "CNY"},
            "notify_url": data.get("notify_url", trade.notify_url),
        }
        trade.refunds[out_refund_no] = record
        trade.state = "REFUND"
        return self._json(200, record)

    def _refund_query(self, out_refund_no: str) -> Reply:
        for trade in self.trades.values():
            if out_refund_no in trade.refunds:
                return self._json(200, trade.refunds[out_refund_no])
        return self._error(404, "RESOURCE_NOT_EXISTS", "refund does not exist")

    # ---- the payer's side and callbacks --------------------------------------------------

    def pay(self, out_trade_no: str, *, openid: str = "oSimulatedPayer") -> None:
        """The payer scanned the QR code (or confirmed in WeChat) and paid."""
        with self.lock:
            trade = self.trades[out_trade_no]
            trade.state = "SUCCESS"
            trade.transaction_id = trade.transaction_id or f"42{secrets.token_hex(13)}"
            trade.success_time = _now_iso()
            trade.openid = trade.openid or openid

    def complete_refund(self, out_refund_no: str) -> None:
        with self.lock:
            for trade in self.trades.values():
                if out_refund_no in trade.refunds:
                    trade.refunds[out_refund_no]["status"] = "SUCCESS"
                    trade.refunds[out_refund_no]["success_time"] = _now_iso()

    def _encrypt(self, plaintext: dict[str, Any], associated: str) -> dict[str, str]:
        nonce = secrets.token_hex(6)  # 12 ASCII bytes, as WeChat Pay sends
        ciphertext = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(plaintext, ensure_ascii=False).encode(), associated.encode()
        )
        return {
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "associated_data": associated,
            "nonce": nonce,
        }

    def transaction_notification(self, out_trade_no: str) -> tuple[dict[str, str], bytes]:
        """The signed ``TRANSACTION.SUCCESS`` callback for a paid trade."""
        trade = self.trades[out_trade_no]
        resource = self._trade_json(trade)
        event = (
            "TRANSACTION.SUCCESS" if trade.state in ("SUCCESS", "REFUND") else "TRANSACTION.CLOSED"
        )
        return self._envelope(event, "transaction", resource, "支付成功")

    def refund_notification(self, out_refund_no: str) -> tuple[dict[str, str], bytes]:
        for trade in self.trades.values():
            record = trade.refunds.get(out_refund_no)
            if record is not None:
                resource = {
                    "mchid": self.mchid,
                    "out_trade_no": trade.out_trade_no,
                    "transaction_id": trade.transaction_id,
                    "out_refund_no": out_refund_no,
                    "refund_id": record["refund_id"],
                    "refund_status": record["status"],
                    "success_time": record.get("success_time", ""),
                    "user_received_account": "支付用户零钱",
                    "amount": {
                        "total": trade.total,
                        "refund": record["amount"]["refund"],
                        "payer_total": trade.total,
                        "payer_refund": record["amount"]["refund"],
                    },
                }
                return self._envelope(f"REFUND.{record['status']}", "refund", resource, "退款")
        raise KeyError(out_refund_no)

    def _envelope(
        self, event_type: str, original_type: str, resource: dict[str, Any], summary: str
    ) -> tuple[dict[str, str], bytes]:
        envelope = {
            "id": secrets.token_hex(16),
            "create_time": _now_iso(),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {"original_type": original_type, **self._encrypt(resource, original_type)},
        }
        body = json.dumps(envelope, ensure_ascii=False)
        return self.signed_headers(body), body.encode()

    def deliver(self, url: str, notification: tuple[dict[str, str], bytes]) -> int:
        """POST a callback to the merchant, as WeChat Pay's notifier does."""
        headers, body = notification
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
