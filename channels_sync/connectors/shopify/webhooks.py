"""Shopify webhooks: ``X-Shopify-Hmac-Sha256`` is base64(HMAC-SHA256(secret, raw body)).

``X-Shopify-Webhook-Id`` is the same for every retry of one delivery: our dedupe key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from channels_sync.connectors.base import WebhookEnvelope
from channels_sync.errors import InvalidSignature, MalformedPayload

ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/paid", "orders/cancelled"})


def shopify_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def verify_shopify_webhook(
    *, secret: str, headers: Mapping[str, str], body: bytes
) -> WebhookEnvelope:
    given = _header(headers, "X-Shopify-Hmac-Sha256")
    if not given or not hmac.compare_digest(given, shopify_signature(secret, body)):
        raise InvalidSignature("X-Shopify-Hmac-Sha256 does not match the body")
    delivery_id = _header(headers, "X-Shopify-Webhook-Id")
    topic = _header(headers, "X-Shopify-Topic")
    if not delivery_id or not topic:
        raise MalformedPayload("X-Shopify-Webhook-Id and X-Shopify-Topic are required")
    try:
        payload = json.loads(body)
    except ValueError:
        raise MalformedPayload("webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedPayload("webhook body is not a JSON object")
    return WebhookEnvelope(delivery_id=delivery_id, topic=topic, payload=payload)
