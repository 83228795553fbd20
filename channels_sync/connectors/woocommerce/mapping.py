"""WooCommerce order JSON (REST v3 ``orders``) -> ``ExternalOrderData``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from channels_sync.connectors.base import ExternalLine, ExternalOrderData, money_minor
from channels_sync.errors import MalformedPayload

PAID = frozenset({"processing", "completed"})
CANCELLED = frozenset({"cancelled", "refunded", "failed"})


def woocommerce_order(payload: dict[str, Any]) -> ExternalOrderData:
    try:
        external_id = str(payload["id"])
        # *_gmt fields carry no offset: they are UTC by definition.
        updated_at = datetime.fromisoformat(str(payload["date_modified_gmt"])).replace(tzinfo=UTC)
        status = str(payload["status"])
        lines = [
            ExternalLine(
                sku=str(item.get("sku") or ""),
                quantity=int(item["quantity"]),
                unit_price=money_minor(item.get("price")),
                title=str(item.get("name") or ""),
            )
            for item in payload["line_items"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedPayload(f"not a WooCommerce order: {exc!r}") from None
    shipping = payload.get("shipping") or {}
    billing = payload.get("billing") or {}
    return ExternalOrderData(
        external_id=external_id,
        updated_at=updated_at,
        status=status,
        paid=status in PAID or (bool(payload.get("date_paid_gmt")) and status not in CANCELLED),
        cancelled=status in CANCELLED,
        currency=str(payload.get("currency") or ""),
        lines=lines,
        shipping_amount=money_minor(payload.get("shipping_total")),
        discount_amount=money_minor(payload.get("discount_total")),
        customer_email=str(billing.get("email") or ""),
        shipping_address={
            "name": " ".join(
                p for p in (shipping.get("first_name"), shipping.get("last_name")) if p
            ),
            "line1": shipping.get("address_1", ""),
            "city": shipping.get("city", ""),
            "province": shipping.get("state", ""),
            "country": shipping.get("country", ""),
            "postcode": shipping.get("postcode", ""),
        },
        payment_reference=f"woocommerce:{payload.get('transaction_id') or external_id}",
    )
