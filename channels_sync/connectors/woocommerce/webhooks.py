"""WooCommerce webhooks: ``X-WC-Webhook-Signature`` = base64(HMAC-SHA256(secret, body)).

``X-WC-Webhook-Delivery-ID`` identifies a delivery; redeliveries reuse it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from channels_sync.connectors.base import WebhookEnvelope
from channels_sync.errors import InvalidSignature, MalformedPayload


def woocommerce_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_woocommerce_webhook(
    *, secret: str, headers: Mapping[str, str], body: bytes
) -> WebhookEnvelope:
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get("x-wc-webhook-signature", "")
    if not given or not hmac.compare_digest(given, woocommerce_signature(secret, body)):
        raise InvalidSignature("X-WC-Webhook-Signature does not match the body")
    delivery_id = lowered.get("x-wc-webhook-delivery-id", "")
    topic = lowered.get("x-wc-webhook-topic", "")
    if not delivery_id or not topic:
        raise MalformedPayload("X-WC-Webhook-Delivery-ID and X-WC-Webhook-Topic are required")
    try:
        payload = json.loads(body)
    except ValueError:
        raise MalformedPayload("webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedPayload("webhook body is not a JSON object")
    return WebhookEnvelope(delivery_id=delivery_id, topic=topic, payload=payload)
