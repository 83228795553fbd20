"""A local push service (RFC 8030) for tests and the demo, speaking the real protocol.

It plays both the push service and the browser behind it: ``subscribe()`` makes a
browser-side P-256 key pair and auth secret bound to an application server key, and
returns what ``PushSubscription.toJSON()`` would. A delivery must carry a VAPID
``Authorization: vapid t=<JWT>, k=<key>`` (RFC 8292) whose ES256 signature verifies with
``k``, whose ``k`` is the subscription's application server key, whose ``aud`` is this
service's origin and whose ``exp`` lies within 24 h; the body must be ``aes128gcm``
(RFC 8291) and decrypt with the browser-side keys. Anything else is refused the way push
services refuse it (401/403/400); unknown or expired subscriptions get 410.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class _Browser:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: str
    gone: bool = False


@dataclass
class Delivery:
    endpoint: str
    ttl: int
    claims: dict[str, Any]
    message: dict[str, Any]


@dataclass
class PushServiceSimulator:
    host: str = "127.0.0.1"
    deliveries: list[Delivery] = field(default_factory=list)
    refusals: list[tuple[int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._browsers: dict[str, _Browser] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> PushServiceSimulator:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    simulator._receive(self.path, dict(self.headers.items()), body)
                except Refused as refused:
                    simulator._refuse(refused)
                    self.send_response(refused.status)
                    self.end_headers()
                    self.wfile.write(refused.reason.encode())
                    return
                self.send_response(201)
                self.send_header("Location", f"/message/{secrets.token_hex(8)}")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def origin(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://{self.host}:{self._server.server_address[1]}"

    # ---- the browser side ------------------------------------------------------------------

    def subscribe(self, application_server_key: str) -> dict[str, Any]:
        """What ``registration.pushManager.subscribe(...).toJSON()`` gives the page."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        auth = secrets.token_bytes(16)
        endpoint = f"{self.origin}/push/{secrets.token_urlsafe(24)}"
        with self._lock:
            self._browsers[endpoint] = _Browser(private_key, auth, application_server_key)
        point = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": endpoint, "keys": {"p256dh": b64url(point), "auth": b64url(auth)}}

    def expire(self, endpoint: str) -> None:
        """The browser dropped the subscription: later deliveries get 410 Gone."""
        with self._lock:
            self._browsers[endpoint].gone = True

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return list(self.deliveries)

    # ---- the push service ------------------------------------------------------------------

    def _refuse(self, refused: Refused) -> None:
        with self._arrived:
            self.refusals.append((refused.status, refused.reason))
            self._arrived.notify_all()

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        endpoint = f"{self.origin}{path}"
        with self._lock:
            browser = self._browsers.get(endpoint)
        if browser is None or browser.gone:
            raise Refused(410, "no such subscription")
        claims = self._check_vapid(lower.get("authorization", ""), browser)
        if "ttl" not in lower:
            raise Refused(400, "TTL header required")
        if lower.get("content-encoding") != "aes128gcm":
            raise Refused(415, "content-encoding must be aes128gcm")
        try:
            plain = http_ece.decrypt(
                body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
            )
            message = json.loads(plain)
        except Exception as exc:
            raise Refused(400, f"payload does not decrypt: {exc!r}") from exc
        with self._arrived:
            self.deliveries.append(
                Delivery(endpoint=endpoint, ttl=int(lower["ttl"]), claims=claims, message=message)
            )
            self._arrived.notify_all()

    def _check_vapid(self, authorization: str, browser: _Browser) -> dict[str, Any]:
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise Refused(401, "VAPID authorization required")
        parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        if key != browser.application_server_key:
            raise Refused(403, "key does not match the subscription's applicationServerKey")
        try:
            header_b64, claims_b64, signature_b64 = token.split(".")
            header = json.loads(unb64url(header_b64))
            claims = json.loads(unb64url(claims_b64))
            signature = unb64url(signature_b64)
            public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        except (ValueError, TypeError) as exc:
            raise Refused(401, f"malformed VAPID token: {exc}") from exc
        if header.get("alg") != "ES256" or len(signature) != 64:
            raise Refused(401, "VAPID tokens are ES256")
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise Refused(401, "bad VAPID signature") from exc
        now = time.time()
        if claims.get("aud") != self.origin:
            raise Refused(401, "aud must be the push service's origin")
        if not now < int(claims.get("exp", 0)) <= now + 86400:
            raise Refused(401, "exp must be within 24 hours")
        sub = str(claims.get("sub", ""))
        if not (sub.startswith("mailto:") or sub.startswith("https://")):
            raise Refused(401, "sub must be a mailto: or https: contact")
        return dict(claims)
