"""TOP request signatures (the same algorithm signs our calls and the simulator checks it).

Sort every parameter except ``sign`` by name, concatenate ``name + value``, then
``md5``: MD5(secret + s + secret); ``hmac``: HMAC-MD5(secret, s);
``hmac-sha256``: HMAC-SHA256(secret, s); the hex digest in upper case.
Taobao delivers order events through its message service (TMC), not HTTP webhooks, so
orders arrive by the incremental pull; ``verify_taobao_webhook`` refuses HTTP pushes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from channels_sync.connectors.base import WebhookEnvelope
from channels_sync.errors import UnsupportedWebhook

SIGN_METHODS = ("md5", "hmac", "hmac-sha256")


def top_sign(params: Mapping[str, str], secret: str, sign_method: str) -> str:
    text = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")
    if sign_method == "md5":
        digest = hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest()
    elif sign_method == "hmac":
        digest = hmac.new(secret.encode(), text.encode(), hashlib.md5).hexdigest()
    elif sign_method == "hmac-sha256":
        digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    else:
        raise ValueError(f"unknown sign_method {sign_method!r}")
    return digest.upper()


def verify_taobao_webhook(*, headers: Mapping[str, str], body: bytes) -> WebhookEnvelope:
    raise UnsupportedWebhook("Taobao orders arrive by the incremental pull (TMC), not webhooks")
